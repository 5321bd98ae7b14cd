// Follows one SPICE channel connection (both directions of one TCP connection) as bytes pass by and
// reports each whole message: what `spicecap proxy` does with live sockets and `spicecap replay` with a
// reassembled capture. The follower never changes or holds the bytes themselves; it only watches them.
//
// The client's link message says which channel the connection carries; the header mode is known once the
// server's link reply was seen too. Until then the link message waits in the follower, so that the channel is
// opened at the sink (with its header mode) before its first message is reported.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "spice/spice_protocol.hpp"
#include "spice/spice_stream_parser.hpp"

namespace spicecap {

/// Which SPICE channel of a session: type and id (a second monitor's display is display:1).
struct SpiceChannelKey {
    ChannelType type = ChannelType::main;
    std::uint8_t id = 0;

    /// "display:0".
    std::string to_string() const;
    auto operator<=>(const SpiceChannelKey&) const = default;
};

/// Where a follower reports (the producer library in the proxy and in replay).
class SpiceChannelSink {
public:
    virtual ~SpiceChannelSink() = default;
    /// A connection's link stage showed its channel and header mode. An error (a sentence saying why, e.g.
    /// the sink already reports that channel for another connection) means: do not report this connection.
    virtual Expected<Ok, std::string> channel_opened(SpiceChannelKey channel, HeaderMode mode) = 0;
    /// One whole message, exactly as it was on the wire, and when its last byte passed.
    virtual void message(SpiceChannelKey channel, Direction direction, std::span<const std::uint8_t> bytes,
                         std::uint64_t timestamp_ns) = 0;
    /// The connection of an accepted channel_opened ended.
    virtual void channel_closed(SpiceChannelKey channel) = 0;
};

/// Messages and bytes reported in one direction.
struct FollowCounters {
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;
};

/// What changed during one feed, for the owner's log.
struct FollowEvents {
    /// The channel was opened at the sink by this feed.
    bool opened = false;
    /// Why reporting stopped during this feed: the sink refused the channel, or the bytes could not be
    /// followed as SPICE. Set in one feed only; later bytes are ignored.
    std::optional<std::string> stopped;
    /// Offsets in the fed bytes (strictly inside them, ascending) where a link-stage message of the fed
    /// direction ended. A proxy writes the pieces separately, so that each link-stage message keeps its
    /// own TCP segment as the peer sent it: Wireshark's SPICE dissector cannot decode a connection whose
    /// auth mechanism and ticket share a segment.
    std::vector<std::size_t> link_stage_ends;
};

/// One SPICE channel connection being watched.
class SpiceChannelFollower {
public:
    explicit SpiceChannelFollower(SpiceChannelSink& sink, SpiceParserLimits limits = {});
    SpiceChannelFollower(const SpiceChannelFollower&) = delete;
    SpiceChannelFollower& operator=(const SpiceChannelFollower&) = delete;
    /// Closes the channel at the sink if it is still open.
    ~SpiceChannelFollower();

    /// Bytes that went `direction`, in any chunking; every message they complete is reported with
    /// `timestamp_ns`. Once reporting stopped (parse failure, refusal, finish) bytes are ignored.
    FollowEvents feed(Direction direction, std::span<const std::uint8_t> bytes, std::uint64_t timestamp_ns);

    /// Stops reporting because `bytes` bytes are missing in `direction` (a capture lost them). Returns why,
    /// or nothing if reporting had already stopped.
    std::optional<std::string> lose_bytes(Direction direction, std::uint64_t bytes);

    /// The connection ended: closes the channel at the sink if it was opened. Idempotent.
    void finish();

    /// True while `direction` is still in its link stage and being followed (feed reports where its
    /// link-stage messages end).
    bool in_link_stage(Direction direction) const noexcept;
    /// The channel, once the client's link message was seen.
    std::optional<SpiceChannelKey> channel() const noexcept { return channel_; }
    /// The negotiated header mode, once both link messages were seen.
    std::optional<HeaderMode> header_mode() const noexcept { return parser_.header_mode(); }
    /// True while the channel is open at the sink.
    bool reporting() const noexcept { return state_ == State::reporting; }
    /// Why reporting stopped, if it did for a reason other than finish(). When it stops, an open channel
    /// is closed at the sink at once.
    const std::optional<std::string>& stop_reason() const noexcept { return stop_reason_; }
    /// What was reported in `direction`.
    const FollowCounters& reported(Direction direction) const noexcept {
        return counters_[index_of(direction)];
    }

private:
    enum class State : std::uint8_t { linking, reporting, stopped };

    void report(const SpiceWireMessage& message, std::uint64_t timestamp_ns);
    std::string stop(std::string reason);

    SpiceChannelSink& sink_;
    SpiceConnectionParser parser_;
    State state_ = State::linking;
    std::optional<SpiceChannelKey> channel_;
    /// Link-stage messages seen before the header mode was known, with their timestamps.
    std::vector<std::pair<SpiceWireMessage, std::uint64_t>> held_;
    std::optional<std::string> stop_reason_;
    FollowCounters counters_[2];
    /// Per direction: bytes fed, and bytes of the messages the parser completed.
    std::uint64_t fed_[2] = {0, 0};
    std::uint64_t parsed_[2] = {0, 0};
};

}  // namespace spicecap
