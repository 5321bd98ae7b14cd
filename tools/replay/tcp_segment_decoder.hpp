// Finds the TCP segment in a captured frame: the link-layer header of the capture's link type (Ethernet
// with VLAN tags, Linux cooked v1/v2, BSD loopback, raw IP), then IPv4 or IPv6, then TCP. Lengths come from
// the headers and are checked against the captured bytes; nothing is trusted.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <span>
#include <string>

#include "base/expected.hpp"

namespace spicecap {

/// An IPv4 or IPv6 address as it appeared in a packet.
struct IpAddress {
    /// True for IPv6 (all 16 bytes used), false for IPv4 (the first 4 bytes used, the rest zero).
    bool v6 = false;
    /// The address in network byte order.
    std::array<std::uint8_t, 16> bytes{};

    /// "10.0.0.1" or "::1" style text.
    std::string to_string() const;
    auto operator<=>(const IpAddress&) const = default;
};

/// One end of a TCP connection.
struct IpEndpoint {
    IpAddress address;
    /// TCP port in host byte order.
    std::uint16_t port = 0;

    /// "10.0.0.1:5930" or "[::1]:5930".
    std::string to_string() const;
    auto operator<=>(const IpEndpoint&) const = default;
};

/// TCP header flag bits (the low byte of the flags field).
namespace tcp_flag {
inline constexpr std::uint8_t fin = 0x01;
inline constexpr std::uint8_t syn = 0x02;
inline constexpr std::uint8_t rst = 0x04;
inline constexpr std::uint8_t ack = 0x10;
}  // namespace tcp_flag

/// The parts of one captured TCP segment that reassembly needs.
struct TcpSegment {
    /// Sender.
    IpEndpoint source;
    /// Receiver.
    IpEndpoint destination;
    /// Sequence number of the first payload byte (of the SYN itself on a SYN).
    std::uint32_t seq = 0;
    /// Flag bits (tcp_flag::*).
    std::uint8_t flags = 0;
    /// The TCP payload, a view into the frame that was decoded.
    std::span<const std::uint8_t> payload;

    bool has(std::uint8_t flag) const noexcept { return (flags & flag) != 0; }
};

/// Why a frame holds no usable TCP segment.
enum class SegmentSkip : std::uint8_t {
    unsupported_link_type,  ///< the capture's link type is none of those listed above
    not_ip,                 ///< the link layer carries something else (ARP, ...)
    not_tcp,                ///< IP, but not TCP (UDP, ICMP...)
    ip_fragment,            ///< an IP fragment: TCP over fragmented IP is not reassembled
    truncated,              ///< the capture kept fewer bytes than the headers declare (snap length)
    malformed,              ///< a header length or version that cannot be right
};

/// A short phrase for a skip reason, for summaries ("not TCP", "cut by the snap length"...).
const char* segment_skip_name(SegmentSkip reason) noexcept;

/// Decodes the TCP segment in `frame`, a captured record of a capture with link type `dlt` (a DLT_*
/// value as libpcap's pcap_datalink returns it). The payload points into `frame`.
Expected<TcpSegment, SegmentSkip> decode_tcp_segment(int dlt, std::span<const std::uint8_t> frame);

/// Whether decode_tcp_segment understands link type `dlt`.
bool supported_link_type(int dlt) noexcept;

}  // namespace spicecap
