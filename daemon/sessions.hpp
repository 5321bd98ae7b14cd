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

/// A channel key: kind, channel type and channel id in one number (ordered by kind, then type, then id).
inline std::uint32_t channel_key(std::uint8_t kind, std::uint8_t channel_type, std::uint8_t channel_id) noexcept {
    return std::uint32_t{kind} << 16 | std::uint32_t{channel_type} << 8 | channel_id;
}

/// One channel (SPICE) or USB link (vsock) of a session.
struct ChannelState {
    /// Which stream.
    StreamKind kind = StreamKind::spice;
    std::uint8_t channel_type = 0;
    std::uint8_t channel_id = 0;
    /// False after channel_closed (until it is opened or used again).
    bool open = true;
    /// "mini", "full", or "" if the producer never said.
    std::string header;
    /// The channel_opened EVENT frame as forwarded to subscribers (empty if none) and its log position.
    ByteBuffer opened_event;
    std::uint64_t opened_event_position = 0;
    /// The link stage's RECORD frames as forwarded, back to back, and the log position of the last one.
    LinkStage link_stage = LinkStage::none;
    ByteBuffer link_frames;
    std::uint64_t link_end_position = 0;
    /// Server -> client records seen since "REDQ" (the second one is the link result).
    int link_server_records = 0;
    /// Records and payload bytes received on this channel.
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;

    /// Called for each record of this channel before it is logged: whether it belongs to the link stage
    /// (a client "REDQ" record starts a new one; it ends with the second server record after that).
    bool link_stage_takes(Direction direction, std::span<const std::uint8_t> payload);
    /// Log position up to which this channel's entries are part of its preamble (0 if it has none).
    std::uint64_t preamble_end_position() const noexcept;
    /// Memory held by the preamble copies.
    std::size_t preamble_bytes() const noexcept { return opened_event.size() + link_frames.size(); }
    /// Forgets the preamble (channel closed).
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

    /// The channel, created (open) on first use. Remembers the last one: records come in runs.
    ChannelState& channel(StreamKind kind, std::uint8_t channel_type, std::uint8_t channel_id);

    /// The session as in docs/protocol.md §9.
    nlohmann::json to_json() const;

private:
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

private:
    std::uint32_t next_id_ = 1;
    std::map<std::uint32_t, std::unique_ptr<Session>> active_;
    std::deque<std::unique_ptr<Session>> ended_;
};

}  // namespace spicecap::daemon
