// Turns the SPICE records a subscriber receives into Ethernet frames for a pcap stream: one synthesized
// TCP connection per (session, channel type, channel id), the link stage synthesized when the producer
// never reported one, drop gaps made visible, FIN exchanges when channels close. Shared by the extcap
// (live capture) and `spicecap record` (one file per channel).
#pragma once

#include <cstdint>
#include <map>
#include <tuple>
#include <unordered_map>

#include "wire/record.hpp"
#include "pcap/tcp_synth.hpp"

namespace spicecap {

/// How SPICE records are framed as TCP.
struct SpiceFrameOptions {
    /// TCP port of the synthesized server (design §4: the default decodes as SPICE in Wireshark 4.0).
    std::uint16_t server_port = kDefaultSpiceServerPort;
    /// Synthesize SYN/SYN-ACK/ACK before a channel's first segment and a FIN exchange when it closes.
    bool handshake = false;
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

/// The per-capture state of SPICE -> TCP synthesis.
class SpiceFrameEncoder {
public:
    explicit SpiceFrameEncoder(SpiceFrameOptions options = {});

    /// Emits the frames of one SPICE record (ignored if it is not a SPICE record).
    void record(const Record& record, const FrameSink& sink);
    /// Accounts for records the daemon dropped: that direction's sequence numbers jump by their bytes.
    void drop(const DropNotice& notice);
    /// The producer closed a channel: FIN exchange (with the handshake option) and forget its state, so
    /// that a reopened channel starts a new connection with its own link stage.
    void channel_closed(std::uint32_t session, std::uint8_t channel_type, std::uint8_t channel_id,
                        std::uint64_t timestamp_ns, const FrameSink& sink);
    /// Closes every open channel (end of capture).
    void close_all(std::uint64_t timestamp_ns, const FrameSink& sink);

    const SpiceFrameStats& stats() const noexcept { return stats_; }

    /// The session index (0 for the first session seen) that decides a session's addresses.
    std::uint32_t session_index(std::uint32_t session);

private:
    using StreamKey = std::tuple<std::uint32_t, std::uint8_t, std::uint8_t>;  // session, type, id
    struct Stream {
        TcpStreamSynthesizer tcp;
        /// Nothing emitted yet: the first record decides whether the link stage must be synthesized.
        bool fresh = true;
    };
    Stream& stream(std::uint32_t session, std::uint8_t channel_type, std::uint8_t channel_id);

    SpiceFrameOptions options_;
    std::map<StreamKey, Stream> streams_;
    std::unordered_map<std::uint32_t, std::uint32_t> session_indexes_;
    SpiceFrameStats stats_;
};

}  // namespace spicecap
