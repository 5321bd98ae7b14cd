// Turns the SPICE records a subscriber receives into Ethernet frames for a pcap stream: one synthesized
// TCP connection per (session, channel type, channel id), the link stage synthesized when the producer
// never reported one, drop gaps made visible, FIN exchanges when channels close. One encoder serves one
// capture (common/capture/capture_pipeline.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include "pcap/session_numbering.hpp"
#include "pcap/tcp_synth.hpp"
#include "wire/record.hpp"

namespace spicecap {

/// How SPICE records are framed as TCP.
struct SpiceFrameOptions {
    /// TCP port of the synthesized server (design §4: the default decodes as SPICE in Wireshark 4.0).
    std::uint16_t server_port = kDefaultSpiceServerPort;
    /// Synthesize SYN/SYN-ACK/ACK before a channel's first segment and a FIN exchange when it closes.
    bool handshake = true;
};

/// Counts of what a SpiceFrameEncoder did, for status lines.
struct SpiceFrameStats {
    /// Records turned into frames.
    std::uint64_t records = 0;
    /// Payload bytes of those records.
    std::uint64_t bytes = 0;
    /// Records the daemon reported as dropped for this subscriber.
    std::uint64_t dropped_records = 0;
    /// Channels whose link stage was synthesized because the producer never sent one.
    std::uint64_t synthesized_link_stages = 0;
};

/// One SPICE channel of one session: the unit that becomes one synthesized TCP connection.
struct SpiceStreamKey {
    /// The daemon's session id.
    std::uint32_t session = 0;
    /// The SPICE channel type (1..11).
    std::uint8_t channel_type = 0;
    /// The channel id.
    std::uint8_t channel_id = 0;

    auto operator<=>(const SpiceStreamKey&) const = default;
};

/// The per-capture state of SPICE -> TCP synthesis.
class SpiceFrameEncoder {
public:
    explicit SpiceFrameEncoder(SpiceFrameOptions options = {});

    /// Emits the frames of one SPICE record (ignored if it is not a SPICE record).
    void encode(const Record& record, const FrameSink& sink);
    /// Accounts for records the daemon dropped: that direction's sequence numbers jump by their bytes.
    void drop(const DropNotice& notice);
    /// The producer closed a channel: FIN exchange (with the handshake option) and forget its state, so
    /// that a reopened channel starts a new connection with its own link stage. A channel closed within its
    /// link stage ends it: with its FIN frames, or with an empty frame when there are none.
    void channel_closed(const SpiceStreamKey& stream, std::uint64_t timestamp_ns, const FrameSink& sink);
    /// The streams that emitted frames and were not closed since.
    std::vector<SpiceStreamKey> open_streams() const;

    const SpiceFrameStats& stats() const noexcept { return stats_; }

    /// The session number (0 for the first session seen) that decides a session's addresses.
    std::uint32_t session_index(std::uint32_t session) { return sessions_.number(session); }

private:
    struct Stream {
        TcpStreamSynthesizer tcp;
        /// Nothing emitted yet: the first record decides whether the link stage must be synthesized.
        bool fresh = true;
        /// Between the client's link message and the server's link result (its second message).
        bool in_link_stage = false;
        /// Server messages seen since the link stage began.
        int link_server_messages = 0;
    };
    Stream& stream(const SpiceStreamKey& key);
    /// Emits one SPICE message on stream `s` with its place in the link stage.
    void message(Stream& s, Direction direction, std::span<const std::uint8_t> bytes, FrameMeta meta,
                 const FrameSink& sink);

    SpiceFrameOptions options_;
    std::map<SpiceStreamKey, Stream> streams_;
    SessionNumbering sessions_;
    SpiceFrameStats stats_;
};

}  // namespace spicecap
