// Turns the SPICE records a subscriber receives into Ethernet frames for a pcap stream: one synthesized
// TCP connection per (session, channel type, channel id), the link stage synthesized when the producer
// never reported one, drop gaps made visible, FIN exchanges when channels close. Shared by the extcap
// (live capture) and `spicecap record` (one file per channel).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <tuple>
#include <unordered_map>

#include "spicecap/record.hpp"
#include "spicecap/tcp_synth.hpp"

namespace spicecap {

/// How SPICE records are framed as TCP.
struct SpiceCaptureOptions {
    /// TCP port of the synthesized server (design §4: the default decodes as SPICE in Wireshark 4.0).
    std::uint16_t server_port = kDefaultSpiceServerPort;
    /// Synthesize SYN/SYN-ACK/ACK before a channel's first segment and a FIN exchange when it closes.
    bool handshake = false;
};

/// What a synthesized frame is to its channel's link stage. A consumer that feeds Wireshark's live packet
/// list (LiveViewPacer) needs it: see docs/wireshark-live-redissection.md.
struct FrameRole {
    enum Kind : std::uint8_t {
        /// A data message (or TCP framing outside a link stage).
        data,
        /// Part of a link stage before its last message (handshake, link message, reply, auth, ticket).
        link,
        /// The last frame of a link stage: the server's link result, or the FIN of a channel closed mid-stage.
        link_end,
    };
    Kind kind = data;
    /// Which synthesized stream (session, channel type, channel id) the frame belongs to.
    std::uint64_t stream = 0;
};

/// Receives each synthesized frame with its role; the span is only valid during the call. An empty frame
/// (role link_end) says that a link stage ended without a frame: its channel closed without the handshake option.
using RoledFrameSink =
    std::function<void(std::uint64_t timestamp_ns, std::span<const std::uint8_t> frame, FrameRole role)>;

/// Counts of what a SpiceCapture did, for status lines.
struct SpiceCaptureStats {
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
class SpiceCapture {
public:
    explicit SpiceCapture(SpiceCaptureOptions options = {});

    /// Emits the frames of one SPICE record (ignored if it is not a SPICE record).
    void record(const Record& record, const FrameSink& sink);
    /// The same, telling the sink which frames belong to a link stage.
    void record(const Record& record, const RoledFrameSink& sink);
    /// Accounts for records the daemon dropped: that direction's sequence numbers jump by their bytes.
    void drop(const DropNotice& notice);
    /// The producer closed a channel: FIN exchange (with the handshake option) and forget its state, so
    /// that a reopened channel starts a new connection with its own link stage.
    void channel_closed(std::uint32_t session, std::uint8_t channel_type, std::uint8_t channel_id,
                        std::uint64_t timestamp_ns, const FrameSink& sink);
    void channel_closed(std::uint32_t session, std::uint8_t channel_type, std::uint8_t channel_id,
                        std::uint64_t timestamp_ns, const RoledFrameSink& sink);
    /// Closes every open channel (end of capture).
    void close_all(std::uint64_t timestamp_ns, const FrameSink& sink);
    void close_all(std::uint64_t timestamp_ns, const RoledFrameSink& sink);

    const SpiceCaptureStats& stats() const noexcept { return stats_; }

    /// The session index (0 for the first session seen) that decides a session's addresses.
    std::uint32_t session_index(std::uint32_t session);

private:
    using StreamKey = std::tuple<std::uint32_t, std::uint8_t, std::uint8_t>;  // session, type, id
    struct Stream {
        TcpStreamSynthesizer tcp;
        /// Nothing emitted yet: the first record decides whether the link stage must be synthesized.
        bool fresh = true;
        /// Between the client's link message and the server's link result (its second message).
        bool in_link_stage = false;
        /// Server messages seen since the link stage began.
        int link_server_messages = 0;
        /// The stream's number in FrameRole.
        std::uint64_t id = 0;
    };
    /// Emits one SPICE message on stream `s`, with the role it plays in the link stage.
    void message(Stream& s, Direction direction, std::span<const std::uint8_t> bytes, std::uint64_t timestamp_ns,
                 const RoledFrameSink& sink);
    Stream& stream(std::uint32_t session, std::uint8_t channel_type, std::uint8_t channel_id);
    void close_stream(Stream& s, std::uint64_t timestamp_ns, const RoledFrameSink& sink);

    SpiceCaptureOptions options_;
    std::map<StreamKey, Stream> streams_;
    std::unordered_map<std::uint32_t, std::uint32_t> session_indexes_;
    SpiceCaptureStats stats_;
};

}  // namespace spicecap
