// Builds captured frames (link layer + IPv4/IPv6 + TCP) the way tcpdump stores them, for tests of the
// TCP segment decoder and of replay. Checksums are left 0: nothing in replay checks them (loopback
// captures often carry unfinished checksums because of offloading).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace spicecap::test {

struct FrameAddress {
    std::array<std::uint8_t, 16> ip{};
    bool v6 = false;
    std::uint16_t port = 0;
};

inline FrameAddress ipv4_address(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port) {
    FrameAddress f;
    f.ip = {a, b, c, d};
    f.port = port;
    return f;
}

inline FrameAddress ipv6_loopback(std::uint16_t port) {
    FrameAddress f;
    f.v6 = true;
    f.ip[15] = 1;
    f.port = port;
    return f;
}

inline void put16(std::vector<std::uint8_t>& f, std::uint16_t v) {
    f.push_back(static_cast<std::uint8_t>(v >> 8));
    f.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(std::vector<std::uint8_t>& f, std::uint32_t v) {
    put16(f, static_cast<std::uint16_t>(v >> 16));
    put16(f, static_cast<std::uint16_t>(v));
}

/// IP (v4 or v6 as the addresses say) + TCP header (20 bytes) + payload.
inline std::vector<std::uint8_t> ip_tcp_packet(const FrameAddress& from, const FrameAddress& to, std::uint32_t seq,
                                               std::uint8_t flags, std::span<const std::uint8_t> payload) {
    std::vector<std::uint8_t> p;
    const std::size_t tcp_length = 20 + payload.size();
    if (!from.v6) {
        p.push_back(0x45);
        p.push_back(0);
        put16(p, static_cast<std::uint16_t>(20 + tcp_length));
        put16(p, 1);       // id
        put16(p, 0x4000);  // DF
        p.push_back(64);
        p.push_back(6);
        put16(p, 0);
        p.insert(p.end(), from.ip.begin(), from.ip.begin() + 4);
        p.insert(p.end(), to.ip.begin(), to.ip.begin() + 4);
    } else {
        put32(p, 0x60000000);
        put16(p, static_cast<std::uint16_t>(tcp_length));
        p.push_back(6);
        p.push_back(64);
        p.insert(p.end(), from.ip.begin(), from.ip.end());
        p.insert(p.end(), to.ip.begin(), to.ip.end());
    }
    put16(p, from.port);
    put16(p, to.port);
    put32(p, seq);
    put32(p, 0);  // ack
    p.push_back(0x50);
    p.push_back(flags);
    put16(p, 65535);
    put32(p, 0);  // checksum, urgent pointer
    p.insert(p.end(), payload.begin(), payload.end());
    return p;
}

/// An Ethernet frame (DLT_EN10MB) around ip_tcp_packet, optionally with one 802.1Q VLAN tag.
inline std::vector<std::uint8_t> ethernet_frame(const FrameAddress& from, const FrameAddress& to, std::uint32_t seq,
                                                std::uint8_t flags, std::span<const std::uint8_t> payload,
                                                bool vlan = false) {
    std::vector<std::uint8_t> f(12, 0);  // MAC addresses: zero, as on loopback
    if (vlan) {
        put16(f, 0x8100);
        put16(f, 42);
    }
    put16(f, from.v6 ? 0x86dd : 0x0800);
    const auto packet = ip_tcp_packet(from, to, seq, flags, payload);
    f.insert(f.end(), packet.begin(), packet.end());
    return f;
}

/// A Linux cooked v2 frame (DLT_LINUX_SLL2) around ip_tcp_packet.
inline std::vector<std::uint8_t> sll2_frame(const FrameAddress& from, const FrameAddress& to, std::uint32_t seq,
                                            std::uint8_t flags, std::span<const std::uint8_t> payload) {
    std::vector<std::uint8_t> f;
    put16(f, from.v6 ? 0x86dd : 0x0800);
    put16(f, 0);   // reserved
    put32(f, 1);   // interface index
    put16(f, 772); // ARPHRD_LOOPBACK
    f.push_back(0);  // packet type
    f.push_back(6);  // address length
    f.resize(20, 0);
    const auto packet = ip_tcp_packet(from, to, seq, flags, payload);
    f.insert(f.end(), packet.begin(), packet.end());
    return f;
}

}  // namespace spicecap::test
