// Link layer -> IP -> TCP (see tcp_segment_decoder.hpp).
#include "replay/tcp_segment_decoder.hpp"

#include "base/byte_order.hpp"

#include <arpa/inet.h>
#include <pcap/dlt.h>

#include <algorithm>
#include <optional>

namespace spicecap {

namespace {

constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr std::uint16_t kEtherTypeVlan = 0x8100;
constexpr std::uint16_t kEtherTypeQinQ = 0x88a8;
constexpr std::uint8_t kIpProtocolTcp = 6;

/// LINKTYPE_RAW as written in files; libpcap maps it to DLT_RAW, but some builds hand it through.
constexpr int kLinkTypeRaw = 101;

/// The IP packet after the link-layer header, or why there is none.
Expected<std::span<const std::uint8_t>, SegmentSkip> ip_packet(int dlt, std::span<const std::uint8_t> frame) {
    // The link layer says which protocol follows by an EtherType; for loopback and raw IP the version
    // nibble of the first byte does (the loopback family value depends on the capturing OS).
    std::optional<std::uint16_t> ether_type;
    std::size_t header = 0;
    switch (dlt) {
    case DLT_EN10MB: {
        if (frame.size() < 14) return Unexpected{SegmentSkip::truncated};
        header = 12;
        ether_type = big_endian::load<std::uint16_t>(&frame[header]);
        header += 2;
        while (*ether_type == kEtherTypeVlan || *ether_type == kEtherTypeQinQ) {
            if (frame.size() < header + 4) return Unexpected{SegmentSkip::truncated};
            ether_type = big_endian::load<std::uint16_t>(&frame[header + 2]);
            header += 4;
        }
        break;
    }
    case DLT_LINUX_SLL:  // 16 bytes: packet type, ARPHRD, address length, 8 address bytes, protocol
        if (frame.size() < 16) return Unexpected{SegmentSkip::truncated};
        ether_type = big_endian::load<std::uint16_t>(&frame[14]);
        header = 16;
        break;
    case DLT_LINUX_SLL2:  // 20 bytes: protocol first, then interface index, ARPHRD, packet type, address
        if (frame.size() < 20) return Unexpected{SegmentSkip::truncated};
        ether_type = big_endian::load<std::uint16_t>(&frame[0]);
        header = 20;
        break;
    case DLT_NULL:
    case DLT_LOOP:
        header = 4;
        break;
    case DLT_RAW:
    case kLinkTypeRaw:
    case DLT_IPV4:
    case DLT_IPV6:
        header = 0;
        break;
    default:
        return Unexpected{SegmentSkip::unsupported_link_type};
    }
    if (ether_type && *ether_type != kEtherTypeIpv4 && *ether_type != kEtherTypeIpv6)
        return Unexpected{SegmentSkip::not_ip};
    if (frame.size() <= header) return Unexpected{SegmentSkip::truncated};
    return frame.subspan(header);
}

struct IpPayload {
    IpAddress source;
    IpAddress destination;
    std::span<const std::uint8_t> transport;
};

Expected<IpPayload, SegmentSkip> ipv4(std::span<const std::uint8_t> packet) {
    if (packet.size() < 20) return Unexpected{SegmentSkip::truncated};
    const std::size_t header = std::size_t{packet[0] & 0x0fu} * 4;
    const std::size_t total = big_endian::load<std::uint16_t>(&packet[2]);
    if (header < 20 || total < header) return Unexpected{SegmentSkip::malformed};
    // TSO/GRO on the capturing host can leave total length 0 on big segments; then the frame is the packet.
    const std::size_t length = total == 0 ? packet.size() : total;
    if (packet.size() < length || packet.size() < header) return Unexpected{SegmentSkip::truncated};
    const std::uint16_t fragment = big_endian::load<std::uint16_t>(&packet[6]);
    if ((fragment & 0x2000) != 0 || (fragment & 0x1fff) != 0) return Unexpected{SegmentSkip::ip_fragment};
    if (packet[9] != kIpProtocolTcp) return Unexpected{SegmentSkip::not_tcp};
    IpPayload p;
    std::copy_n(packet.begin() + 12, 4, p.source.bytes.begin());
    std::copy_n(packet.begin() + 16, 4, p.destination.bytes.begin());
    p.transport = packet.subspan(header, length - header);
    return p;
}

Expected<IpPayload, SegmentSkip> ipv6(std::span<const std::uint8_t> packet) {
    if (packet.size() < 40) return Unexpected{SegmentSkip::truncated};
    const std::size_t length = 40 + std::size_t{big_endian::load<std::uint16_t>(&packet[4])};
    if (packet.size() < length) return Unexpected{SegmentSkip::truncated};
    IpPayload p;
    p.source.v6 = p.destination.v6 = true;
    std::copy_n(packet.begin() + 8, 16, p.source.bytes.begin());
    std::copy_n(packet.begin() + 24, 16, p.destination.bytes.begin());
    std::uint8_t next = packet[6];
    std::size_t at = 40;
    // Extension headers that may precede TCP: hop-by-hop (0), routing (43), destination options (60).
    while (next == 0 || next == 43 || next == 60) {
        if (length < at + 8) return Unexpected{SegmentSkip::malformed};
        const std::size_t size = (std::size_t{packet[at + 1]} + 1) * 8;
        if (length < at + size) return Unexpected{SegmentSkip::malformed};
        next = packet[at];
        at += size;
    }
    if (next == 44) return Unexpected{SegmentSkip::ip_fragment};
    if (next != kIpProtocolTcp) return Unexpected{SegmentSkip::not_tcp};
    p.transport = packet.subspan(at, length - at);
    return p;
}

}  // namespace

std::string IpAddress::to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text);
    return text;
}

std::string IpEndpoint::to_string() const {
    const std::string host = address.to_string();
    return (address.v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

const char* segment_skip_name(SegmentSkip reason) noexcept {
    switch (reason) {
    case SegmentSkip::unsupported_link_type: return "unsupported link type";
    case SegmentSkip::not_ip: return "not IP";
    case SegmentSkip::not_tcp: return "not TCP";
    case SegmentSkip::ip_fragment: return "IP fragment";
    case SegmentSkip::truncated: return "cut short by the capture's snap length";
    case SegmentSkip::malformed: return "malformed IP header";
    }
    return "unknown";
}

bool supported_link_type(int dlt) noexcept {
    switch (dlt) {
    case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_LINUX_SLL2: case DLT_NULL: case DLT_LOOP:
    case DLT_RAW: case kLinkTypeRaw: case DLT_IPV4: case DLT_IPV6:
        return true;
    default:
        return false;
    }
}

Expected<TcpSegment, SegmentSkip> decode_tcp_segment(int dlt, std::span<const std::uint8_t> frame) {
    const auto packet = ip_packet(dlt, frame);
    if (!packet) return Unexpected{packet.error()};
    const unsigned version = (*packet)[0] >> 4;
    if (version != 4 && version != 6) return Unexpected{SegmentSkip::not_ip};
    const auto ip = version == 4 ? ipv4(*packet) : ipv6(*packet);
    if (!ip) return Unexpected{ip.error()};

    const auto tcp = ip->transport;
    if (tcp.size() < 20) return Unexpected{SegmentSkip::truncated};
    const std::size_t header = static_cast<std::size_t>(tcp[12] >> 4) * 4;
    if (header < 20) return Unexpected{SegmentSkip::malformed};
    if (tcp.size() < header) return Unexpected{SegmentSkip::truncated};

    TcpSegment s;
    s.source = {ip->source, big_endian::load<std::uint16_t>(&tcp[0])};
    s.destination = {ip->destination, big_endian::load<std::uint16_t>(&tcp[2])};
    s.seq = big_endian::load<std::uint32_t>(&tcp[4]);
    s.flags = tcp[13];
    s.payload = tcp.subspan(header);
    return s;
}

}  // namespace spicecap
