// Finds the SPICE channel connections in a packet capture and reports their messages with the capture's
// timestamps: `spicecap replay` feeds it the frames of a pcap/pcapng file in order.
//
// Each TCP connection is reassembled per direction (tcp_reassembly.hpp). A connection is SPICE when its
// client's first bytes are a link message ("REDQ"), whatever the ports; the client is the side that sent
// the SYN, or without a SYN in the capture, the side that sent the first payload (a SPICE client speaks
// first). A connection whose start is not in the capture cannot be followed (its channel and header mode
// are only in the link stage) and is counted as started mid-stream.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "follow/spice_channel_follower.hpp"
#include "base/log.hpp"
#include "replay/tcp_reassembly.hpp"
#include "replay/tcp_segment_decoder.hpp"

namespace spicecap {

/// What a replay found, for its summary.
struct ReplaySummary {
    /// Frames read from the capture.
    std::uint64_t frames = 0;
    /// Frames without a usable TCP segment, by reason.
    std::map<SegmentSkip, std::uint64_t> skipped_frames;
    /// TCP connections seen (a reused address pair after a new SYN counts again).
    std::uint64_t tcp_connections = 0;
    /// Connections whose link stage was found and whose channel was reported.
    std::uint64_t spice_connections = 0;
    /// Connections that began in the capture (SYN seen) but do not start with a SPICE link message.
    std::uint64_t other_connections = 0;
    /// Connections without a SYN whose first bytes are not a link message: they started before the
    /// capture (or are not SPICE). Their bytes cannot be cut into SPICE messages.
    std::uint64_t mid_stream_connections = 0;
    /// SPICE connections on which reporting stopped early (reasons went to the note callback).
    std::uint64_t stopped_connections = 0;
    /// Messages and bytes reported per channel and direction (index: Direction).
    std::map<SpiceChannelKey, std::pair<FollowCounters, FollowCounters>> channels;
    /// Bytes seen twice (retransmissions) and bytes never captured (gaps), over all connections.
    std::uint64_t duplicate_bytes = 0;
    std::uint64_t gap_bytes = 0;

    /// Messages and bytes over all channels and directions.
    FollowCounters total() const;
};

/// Options of a replay.
struct ReplayOptions {
    SpiceParserLimits parser{};
    TcpReassemblyLimits reassembly{};
};

/// Consumes a capture frame by frame.
class CaptureReplay {
public:
    /// `note` receives one line per channel found (LogLevel::message) and per connection that could not
    /// be followed (LogLevel::warning).
    CaptureReplay(SpiceChannelSink& sink, std::function<void(LogLevel, const std::string&)> note,
                       ReplayOptions options = {});
    ~CaptureReplay();
    CaptureReplay(const CaptureReplay&) = delete;
    CaptureReplay& operator=(const CaptureReplay&) = delete;

    /// The next captured frame (in capture order) of a capture with link type `dlt`, captured at
    /// `timestamp_ns` (ns since the Unix epoch).
    void frame(int dlt, std::uint64_t timestamp_ns, std::span<const std::uint8_t> bytes);

    /// The capture ended: gives up on missing bytes and closes every channel still open.
    void finish();

    const ReplaySummary& summary() const noexcept { return summary_; }

private:
    struct Connection;
    using Key = std::pair<IpEndpoint, IpEndpoint>;

    void segment(const TcpSegment& segment, std::uint64_t timestamp_ns);
    Connection& connection_for(const TcpSegment& segment);
    void deliver(Connection& c, Direction direction, const TcpDelivery& delivery, std::uint64_t timestamp_ns);
    void close(Connection& c);

    SpiceChannelSink& sink_;
    std::function<void(LogLevel, const std::string&)> note_;
    ReplayOptions options_;
    std::map<Key, std::unique_ptr<Connection>> connections_;
    ReplaySummary summary_;
};

}  // namespace spicecap
