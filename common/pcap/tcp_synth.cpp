// SPICE -> TCP synthesis: Ethernet/IPv4/TCP framing of reported messages (design §4).
#include "pcap/tcp_synth.hpp"

#include "base/byte_order.hpp"

#include <algorithm>
#include <cstring>

namespace spicecap {
namespace {

// Initial sequence numbers are fixed so that captures are reproducible; each reconnection of the same
// channel (after a close) moves them so Wireshark does not mistake the new connection for the old one.
constexpr std::uint32_t kClientInitialSequence = 0x10000000;
constexpr std::uint32_t kServerInitialSequence = 0x20000000;
constexpr std::uint32_t kGenerationStride = 0x00100000;

constexpr std::uint8_t kTcpFin = 0x01;
constexpr std::uint8_t kTcpSyn = 0x02;
constexpr std::uint8_t kTcpPsh = 0x08;
constexpr std::uint8_t kTcpAck = 0x10;

constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
constexpr std::uint8_t kIpProtocolTcp = 6;
constexpr std::uint8_t kIpTtl = 64;
constexpr std::uint16_t kIpDontFragment = 0x4000;
constexpr std::uint16_t kTcpWindow = 65535;

TcpEndpoint make_endpoint(std::array<std::uint8_t, 4> ipv4, std::uint16_t port) {
    TcpEndpoint e;
    e.ipv4 = ipv4;
    e.port = port;
    e.mac = {0x02, 0x00, ipv4[0], ipv4[1], ipv4[2], ipv4[3]};
    return e;
}

}  // namespace

TcpEndpoints spice_endpoints(std::uint32_t session_index, std::uint8_t channel_type, std::uint8_t channel_id,
                             std::uint16_t server_port) {
    const auto hi = static_cast<std::uint8_t>((session_index >> 8) & 0xff);
    const auto lo = static_cast<std::uint8_t>(session_index & 0xff);
    const auto client_port = static_cast<std::uint16_t>(10000 + channel_type + 100 * channel_id);
    return TcpEndpoints{make_endpoint({10, hi, lo, 1}, client_port), make_endpoint({10, hi, lo, 2}, server_port)};
}

std::uint64_t internet_checksum_add(std::uint64_t sum, std::span<const std::uint8_t> bytes) noexcept {
    // One's-complement addition is byte-order independent (RFC 1071 §2(B)): sum native-order words and
    // swap once when folding. It works in any word size because 2^64 and 2^32 are both 1 modulo 2^16 - 1:
    // whole 64-bit words are added with end-around carry (the carries counted and added back), in two
    // independent chains so that the additions overlap. That is about three times as fast as adding
    // 32-bit halves in one chain and keeps a 64 KiB payload cheap.
    const std::uint8_t* p = bytes.data();
    std::size_t n = bytes.size();
    const auto load = [](const std::uint8_t* at) {
        std::uint64_t w;
        std::memcpy(&w, at, 8);
        return w;
    };
    std::uint64_t even = 0, even_carries = 0, odd = 0, odd_carries = 0;
    while (n >= 16) {
        const std::uint64_t w0 = load(p);
        const std::uint64_t w1 = load(p + 8);
        even += w0;
        even_carries += even < w0;
        odd += w1;
        odd_carries += odd < w1;
        p += 16;
        n -= 16;
    }
    if (n >= 8) {
        const std::uint64_t w0 = load(p);
        even += w0;
        even_carries += even < w0;
        p += 8;
        n -= 8;
    }
    sum += (even & 0xffffffffu) + (even >> 32) + even_carries + (odd & 0xffffffffu) + (odd >> 32) + odd_carries;
    while (n >= 2) {
        std::uint16_t w;
        std::memcpy(&w, p, 2);
        sum += w;
        p += 2;
        n -= 2;
    }
    if (n == 1) {
        const std::uint8_t last[2] = {p[0], 0};
        std::uint16_t w;
        std::memcpy(&w, last, 2);
        sum += w;
    }
    return sum;
}

std::uint16_t internet_checksum_fold(std::uint64_t sum) noexcept {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    const auto native = static_cast<std::uint16_t>(~sum & 0xffff);
    // `native` holds the checksum in memory byte order; return it as a number in network order.
    std::uint8_t bytes[2];
    std::memcpy(bytes, &native, 2);
    return static_cast<std::uint16_t>((bytes[0] << 8) | bytes[1]);
}

TcpStreamSynthesizer::TcpStreamSynthesizer(TcpEndpoints endpoints, TcpSynthOptions options)
    : endpoints_(endpoints), options_(options) {
    client_.next_seq = kClientInitialSequence + 1;
    server_.next_seq = kServerInitialSequence + 1;
    frame_.reserve(kFrameHeaderBytes + 2048);
}

std::uint32_t TcpStreamSynthesizer::next_sequence(Direction direction) const noexcept {
    return direction == Direction::client_to_server ? client_.next_seq : server_.next_seq;
}

void TcpStreamSynthesizer::open(const FrameMeta& message_meta, const FrameSink& sink) {
    open_ = true;
    if (!options_.handshake) return;
    FrameMeta meta = message_meta;
    meta.origin = FrameOrigin::tcp_handshake;
    const std::uint32_t shift = generation_ * kGenerationStride;
    client_.next_seq = kClientInitialSequence + shift;
    server_.next_seq = kServerInitialSequence + shift;
    // SYN and SYN/ACK each consume one sequence number; emit() advances by payload only.
    emit(Direction::client_to_server, kTcpSyn, {}, meta, sink);
    client_.next_seq += 1;
    emit(Direction::server_to_client, kTcpSyn | kTcpAck, {}, meta, sink);
    server_.next_seq += 1;
    emit(Direction::client_to_server, kTcpAck, {}, meta, sink);
}

void TcpStreamSynthesizer::message(Direction direction, std::span<const std::uint8_t> payload,
                                   const FrameMeta& meta, const FrameSink& sink) {
    if (payload.empty()) return;
    if (!open_) open(meta, sink);
    while (!payload.empty()) {
        const std::size_t n = std::min(payload.size(), kMaxSegmentPayload);
        const bool last = n == payload.size();
        emit(direction, static_cast<std::uint8_t>(kTcpAck | (last ? kTcpPsh : 0)), payload.first(n), meta, sink);
        side(direction).next_seq += static_cast<std::uint32_t>(n);
        payload = payload.subspan(n);
    }
}

void TcpStreamSynthesizer::skip(Direction direction, std::uint64_t bytes) {
    // Sequence numbers are modulo 2^32, as on the wire.
    side(direction).next_seq += static_cast<std::uint32_t>(bytes);
}

bool TcpStreamSynthesizer::close(const FrameMeta& close_meta, const FrameSink& sink) {
    if (!open_) return false;
    if (options_.handshake) {
        FrameMeta meta = close_meta;
        meta.origin = FrameOrigin::tcp_close;
        emit(Direction::client_to_server, kTcpFin | kTcpAck, {}, meta, sink);
        client_.next_seq += 1;
        emit(Direction::server_to_client, kTcpFin | kTcpAck, {}, meta, sink);
        server_.next_seq += 1;
        emit(Direction::client_to_server, kTcpAck, {}, meta, sink);
    }
    open_ = false;
    ++generation_;
    const std::uint32_t shift = generation_ * kGenerationStride;
    client_.next_seq = kClientInitialSequence + shift + 1;
    server_.next_seq = kServerInitialSequence + shift + 1;
    return options_.handshake;
}

void TcpStreamSynthesizer::emit(Direction direction, std::uint8_t tcp_flags,
                                std::span<const std::uint8_t> payload, const FrameMeta& meta,
                                const FrameSink& sink) {
    const bool from_client = direction == Direction::client_to_server;
    const TcpEndpoint& src = from_client ? endpoints_.client : endpoints_.server;
    const TcpEndpoint& dst = from_client ? endpoints_.server : endpoints_.client;
    Side& me = side(direction);
    const Side& peer = from_client ? server_ : client_;

    // The buffer only grows: resize() to a larger size zero-fills, and a large message's last segment is
    // usually short, so resizing to each frame's size would clear up to 64 KiB for every such message.
    const std::size_t frame_size = kFrameHeaderBytes + payload.size();
    if (frame_.size() < frame_size) frame_.resize(frame_size);
    std::uint8_t* f = frame_.data();

    // Ethernet II.
    std::memcpy(f + 0, dst.mac.data(), 6);
    std::memcpy(f + 6, src.mac.data(), 6);
    big_endian::store<std::uint16_t>(f + 12, kEtherTypeIpv4);

    // IPv4, no options.
    std::uint8_t* ip = f + 14;
    const auto ip_total = static_cast<std::uint16_t>(20 + 20 + payload.size());
    ip[0] = 0x45;
    ip[1] = 0;
    big_endian::store<std::uint16_t>(ip + 2, ip_total);
    big_endian::store<std::uint16_t>(ip + 4, me.next_ip_id++);
    big_endian::store<std::uint16_t>(ip + 6, kIpDontFragment);
    ip[8] = kIpTtl;
    ip[9] = kIpProtocolTcp;
    big_endian::store<std::uint16_t>(ip + 10, 0);
    std::memcpy(ip + 12, src.ipv4.data(), 4);
    std::memcpy(ip + 16, dst.ipv4.data(), 4);
    big_endian::store<std::uint16_t>(ip + 10, internet_checksum_fold(internet_checksum_add(0, {ip, 20})));

    // TCP, no options.
    std::uint8_t* tcp = ip + 20;
    big_endian::store<std::uint16_t>(tcp + 0, src.port);
    big_endian::store<std::uint16_t>(tcp + 2, dst.port);
    big_endian::store<std::uint32_t>(tcp + 4, me.next_seq);
    // Before the handshake's SYN/ACK there is nothing to acknowledge.
    const bool acks = (tcp_flags & kTcpAck) != 0;
    big_endian::store<std::uint32_t>(tcp + 8, acks ? peer.next_seq : 0);
    tcp[12] = 5 << 4;
    tcp[13] = tcp_flags;
    big_endian::store<std::uint16_t>(tcp + 14, kTcpWindow);
    big_endian::store<std::uint16_t>(tcp + 16, 0);
    big_endian::store<std::uint16_t>(tcp + 18, 0);
    if (!payload.empty()) std::memcpy(tcp + 20, payload.data(), payload.size());

    // The TCP checksum covers a pseudo-header (addresses, protocol, TCP length), the header and payload.
    std::uint8_t pseudo[12];
    std::memcpy(pseudo, src.ipv4.data(), 4);
    std::memcpy(pseudo + 4, dst.ipv4.data(), 4);
    pseudo[8] = 0;
    pseudo[9] = kIpProtocolTcp;
    big_endian::store<std::uint16_t>(pseudo + 10, static_cast<std::uint16_t>(20 + payload.size()));
    std::uint64_t sum = internet_checksum_add(0, pseudo);
    sum = internet_checksum_add(sum, {tcp, 20 + payload.size()});
    big_endian::store<std::uint16_t>(tcp + 16, internet_checksum_fold(sum));

    FrameMeta sent = meta;
    sent.direction = direction;
    sink(sent, std::span<const std::uint8_t>(f, frame_size));
}

}  // namespace spicecap
