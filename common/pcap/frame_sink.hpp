// Where the frame encoders (SPICE over synthesized TCP, USB vsock pseudo-header records) put each
// link-layer frame they make, with what they know about it besides its bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

namespace spicecap {

/// What a frame is to its SPICE channel's link stage. Wireshark's live packet list needs to know
/// (capture/live_view_pacer.hpp, docs/wireshark-live-redissection.md).
enum class LinkStageRole : std::uint8_t {
    /// Not part of a link stage: a data message, or TCP framing outside one (and every USB vsock frame).
    none,
    /// Part of a link stage before its end: handshake, link message and reply, auth mechanism, ticket.
    part,
    /// The end of a link stage: the server's link result, or the FIN of a channel closed within its link
    /// stage. A frame with no bytes may carry it (the channel closed with no FIN to write).
    end,
};

/// What an encoder knows about a frame besides its bytes.
struct FrameMeta {
    /// When, in ns since the Unix epoch: the record's timestamp (or the event's, for a FIN).
    std::uint64_t timestamp_ns = 0;
    /// spicecap made this frame up: a TCP handshake or FIN, or a link stage it synthesized because the
    /// producer never reported one. Such a frame carries no byte a producer sent or received.
    bool synthesized = false;
    /// Its place in its SPICE channel's link stage.
    LinkStageRole link_stage = LinkStageRole::none;
};

/// Receives each link-layer frame. The span is only valid during the call.
using FrameSink = std::function<void(const FrameMeta& meta, std::span<const std::uint8_t> frame)>;

}  // namespace spicecap
