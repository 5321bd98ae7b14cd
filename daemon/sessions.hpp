// Sessions (one per producer connection) and their channels: counters for status, the channel_opened
// event and the SPICE link stage that late subscribers get first (docs/protocol.md §7.2).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "wire/frame.hpp"
#include "wire/record.hpp"

namespace spicecap::daemon {

/// The link stage of a channel as far as the daemon has seen it.
enum class LinkStage {
    /// No "REDQ" record seen (or the stage was given up).
    none,
    /// "REDQ" seen, the link result not yet.
    partial,
    /// Link message through link result seen.
    complete,
};

/// Most link-stage bytes kept for one channel; a real one is well under 2 KiB.
inline constexpr std::size_t kMaxLinkStageBytes = 64 * 1024;
/// Most link-stage and channel_opened bytes kept for all channels together.
inline constexpr std::size_t kMaxPreambleBytesTotal = 16 * 1024 * 1024;

/// How many preamble bytes all channels hold together, against kMaxPreambleBytesTotal. Only
/// ChannelPreamble changes it, so it always equals the sum of what the channels hold.
class PreambleBudget {
public:
    explicit PreambleBudget(std::size_t limit = kMaxPreambleBytesTotal) : limit_(limit) {}
    PreambleBudget(const PreambleBudget&) = delete;
    PreambleBudget& operator=(const PreambleBudget&) = delete;

    /// Bytes held by all channels' preambles.
    std::size_t used() const noexcept { return used_; }
    std::size_t limit() const noexcept { return limit_; }

private:
    friend class ChannelPreamble;
    std::size_t limit_;
    std::size_t used_ = 0;
};

/// What a late subscriber of one channel gets first (docs/protocol.md §7.2): copies of the channel's
/// channel_opened EVENT frame and of its link stage's RECORD frames, with their positions in the record
/// log. It takes its bytes from the shared budget when it keeps a copy and gives them back when it drops
/// one or is destroyed.
class ChannelPreamble {
public:
    explicit ChannelPreamble(PreambleBudget& budget) : budget_(&budget) {}
    ~ChannelPreamble() { clear(); }
    ChannelPreamble(const ChannelPreamble&) = delete;
    ChannelPreamble& operator=(const ChannelPreamble&) = delete;

    /// Keeps `frame` (logged at `position`) as the channel's channel_opened event, replacing an earlier
    /// one; false (and no copy kept) when the budget has no room.
    bool keep_opened_event(std::span<const std::uint8_t> frame, std::uint64_t position);
    /// Forgets the link stage kept so far: a new one starts.
    void restart_link_stage() noexcept;
    /// Appends one link-stage RECORD frame (logged at `position`); false when it would pass the channel's
    /// kMaxLinkStageBytes or the budget: then the whole link stage is forgotten.
    bool keep_link_frame(std::span<const std::uint8_t> frame, std::uint64_t position);
    /// Forgets everything (the channel closed).
    void clear() noexcept;

    const ByteBuffer& opened_event() const noexcept { return opened_event_; }
    const ByteBuffer& link_frames() const noexcept { return link_frames_; }
    /// Memory held by the copies.
    std::size_t bytes() const noexcept { return opened_event_.size() + link_frames_.size(); }
    /// Log position up to which this channel's entries are part of its preamble (0 if it has none).
    std::uint64_t end_position() const noexcept;

private:
    void release(ByteBuffer& copy) noexcept;

    PreambleBudget* budget_;
    ByteBuffer opened_event_;
    std::uint64_t opened_event_position_ = 0;
    ByteBuffer link_frames_;
    std::uint64_t link_end_position_ = 0;
};

/// A channel key: kind, channel type and channel id in one number (ordered by kind, then type, then id).
inline std::uint32_t channel_key(std::uint8_t kind, std::uint8_t channel_type, std::uint8_t channel_id) noexcept {
    return std::uint32_t{kind} << 16 | std::uint32_t{channel_type} << 8 | channel_id;
}

/// One channel (SPICE) or USB link (vsock) of a session.
struct ChannelState {
    explicit ChannelState(PreambleBudget& budget) : preamble(budget) {}

    /// Which stream.
    StreamKind kind = StreamKind::spice;
    std::uint8_t channel_type = 0;
    std::uint8_t channel_id = 0;
    /// False after channel_closed (until it is opened or used again).
    bool open = true;
    /// "mini", "full", or "" if the producer never said.
    std::string header;
    /// What late subscribers get first: channel_opened and the link stage's records, as forwarded.
    ChannelPreamble preamble;
    /// How far the link stage got.
    LinkStage link_stage = LinkStage::none;
    /// Server -> client records seen since "REDQ" (the second one is the link result).
    int link_server_records = 0;
    /// Records and payload bytes received on this channel.
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;

    /// Called for each record of this channel before it is logged: whether it belongs to the link stage
    /// (a client "REDQ" record starts a new one; it ends with the second server record after that).
    bool link_stage_takes(Direction direction, std::span<const std::uint8_t> payload);
    /// Forgets the preamble and the link stage (channel closed).
    void clear_preamble() noexcept;
};

/// One producer connection's session.
struct Session {
    /// The session id written into forwarded records (never 0, never reused).
    std::uint32_t id = 0;
    /// From the producer's HELLO.
    std::string name;
    std::string label;
    std::int64_t pid = 0;
    /// Still connected.
    bool active = true;
    /// When it started and ended (ns since the Unix epoch).
    std::uint64_t started_ns = 0;
    std::uint64_t ended_ns = 0;
    /// Records and payload bytes received.
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;
    /// What the producer said it dropped (producer_stats).
    std::uint64_t producer_dropped_records = 0;
    std::uint64_t producer_dropped_bytes = 0;
    /// Channels by channel_key().
    std::map<std::uint32_t, ChannelState> channels;

    explicit Session(PreambleBudget& budget) : budget_(&budget) {}

    /// The channel, created (open) on first use. Remembers the last one: records come in runs.
    ChannelState& channel(StreamKind kind, std::uint8_t channel_type, std::uint8_t channel_id);

    /// The session as in docs/protocol.md §9.
    nlohmann::json to_json() const;

private:
    PreambleBudget* budget_;
    ChannelState* last_channel_ = nullptr;
    std::uint32_t last_key_ = 0;
};

/// The sessions of connected producers and the last few that ended.
class SessionRegistry {
public:
    /// Ended sessions kept for status.
    static constexpr std::size_t kEndedKept = 16;

    /// A new active session with the next id.
    Session& open(std::string name, std::string label, std::int64_t pid, std::uint64_t now_ns);
    /// Marks it ended (moves it to the ended list).
    void close(Session& session, std::uint64_t now_ns);

    /// Connected producers' sessions by id.
    const std::map<std::uint32_t, std::unique_ptr<Session>>& active() const noexcept { return active_; }
    /// Ended sessions, newest first.
    const std::deque<std::unique_ptr<Session>>& ended() const noexcept { return ended_; }

    /// All sessions as in the "sessions" reply.
    nlohmann::json to_json() const;

    /// The preamble bytes every channel of every session holds (declared first: it outlives them).
    const PreambleBudget& preamble_budget() const noexcept { return budget_; }

private:
    PreambleBudget budget_;
    std::uint32_t next_id_ = 1;
    std::map<std::uint32_t, std::unique_ptr<Session>> active_;
    std::deque<std::unique_ptr<Session>> ended_;
};

}  // namespace spicecap::daemon
