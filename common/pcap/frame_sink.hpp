// Where the frame encoders (SPICE over synthesized TCP, USB vsock pseudo-header records) put each
// link-layer frame they make, with what they know about it besides its bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "base/direction.hpp"

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

/// Where a frame's bytes come from: a record, or spicecap, which made the frame up.
enum class FrameOrigin : std::uint8_t {
    /// A record's bytes, as the producer sent or received them.
    record,
    /// A synthesized TCP handshake (SYN, SYN/ACK, ACK) opening a channel's connection.
    tcp_handshake,
    /// A synthesized FIN exchange closing it.
    tcp_close,
    /// A link stage spicecap synthesized because the producer never reported one.
    link_stage,
};

/// What is known about a frame besides its bytes. The encoders fill in when, where from and its link-stage
/// role; the capture pipeline adds the drop count and the comment before the frame reaches an output.
struct FrameMeta {
    /// When, in ns since the Unix epoch: the record's timestamp (or the event's, for a FIN).
    std::uint64_t timestamp_ns = 0;
    /// Whether spicecap made it up, and how.
    FrameOrigin origin = FrameOrigin::record;
    /// Its place in its SPICE channel's link stage.
    LinkStageRole link_stage = LinkStageRole::none;
    /// Which way it went (the TCP direction of a synthesized frame; the transfer's for USB vsock).
    Direction direction = Direction::client_to_server;
    /// Records of its stream and direction that spicecapd dropped right before it (pcapng epb_dropcount).
    std::uint64_t drops_before = 0;
    /// What a reader should know about it (pcapng opt_comment); empty for nothing. Valid during the call.
    std::string_view comment{};

    /// True for a frame spicecap made up rather than a record's bytes.
    bool synthesized() const noexcept { return origin != FrameOrigin::record; }
};

/// Receives each link-layer frame. The span is only valid during the call.
using FrameSink = std::function<void(const FrameMeta& meta, std::span<const std::uint8_t> frame)>;

}  // namespace spicecap
