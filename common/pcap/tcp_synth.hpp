// SPICE -> TCP synthesis (design §4): wraps each SPICE message a producer reported in fake Ethernet,
// IPv4 and TCP headers, so that Wireshark's own SPICE dissector and TCP reassembly work on it.
//
// One TcpStreamSynthesizer is one TCP connection (one SPICE channel of one session). It owns the
// sequence numbers of both directions; every message becomes one or more segments, never merged with
// another message, because the SPICE dissector's link-stage state machine handles one message per segment.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "base/direction.hpp"
#include "pcap/frame_sink.hpp"

namespace spicecap {

/// The TCP server port synthesized SPICE streams use unless told otherwise. Wireshark 4.0 gives 5900-5901
/// and 5500-5501 to its VNC dissector; nothing claims 5930, so the SPICE heuristic gets the stream.
inline constexpr std::uint16_t kDefaultSpiceServerPort = 5930;

/// The largest TCP payload of one synthesized segment: IPv4 total length 65535 minus 20 bytes IPv4 and
/// 20 bytes TCP header. Larger messages are split into several segments.
inline constexpr std::size_t kMaxSegmentPayload = 65495;

/// Ethernet (14) + IPv4 (20) + TCP (20): what precedes the payload in every synthesized frame.
inline constexpr std::size_t kFrameHeaderBytes = 54;

/// One side of a synthesized TCP connection.
struct TcpEndpoint {
    /// Locally administered MAC address (first byte 0x02), derived from the IPv4 address.
    std::array<std::uint8_t, 6> mac{};
    /// IPv4 address in network order, e.g. {10, 0, 0, 1}.
    std::array<std::uint8_t, 4> ipv4{};
    /// TCP port in host order.
    std::uint16_t port = 0;
};

/// Both ends of one synthesized connection.
struct TcpEndpoints {
    /// The SPICE client side (initiates the connection).
    TcpEndpoint client;
    /// The SPICE server side.
    TcpEndpoint server;
};

/// The address table of design §4. The first session (index 0) and channel_id 0 get exactly the original
/// design's addresses: client 10.0.0.1 port 10000 + channel_type, server 10.0.0.2 port `server_port`.
/// channel_id N adds 100 * N to the client port (a second display is 10102); session index S uses the
/// addresses 10.(S/256).(S%256).1 and .2, so every (session, channel type, channel id) is a distinct stream.
TcpEndpoints spice_endpoints(std::uint32_t session_index, std::uint8_t channel_type, std::uint8_t channel_id,
                             std::uint16_t server_port = kDefaultSpiceServerPort);

/// How the synthesizer frames a connection.
struct TcpSynthOptions {
    /// Emit SYN, SYN/ACK, ACK before the first message (and after a close, before the next one).
    bool handshake = false;
};

/// The state of one synthesized TCP connection: addresses, next sequence number per direction, IPv4 ids.
class TcpStreamSynthesizer {
public:
    TcpStreamSynthesizer(TcpEndpoints endpoints, TcpSynthOptions options = {});

    /// Emits `payload` as the next bytes in `direction`: one segment, or several of at most
    /// kMaxSegmentPayload bytes for a larger message (PSH on the last), each with `meta`. An empty payload
    /// emits nothing. A handshake it opens the connection with is marked synthesized.
    void message(Direction direction, std::span<const std::uint8_t> payload, const FrameMeta& meta,
                 const FrameSink& sink);

    /// Advances `direction`'s sequence number by `bytes` without emitting anything: the records were
    /// dropped, and Wireshark should say "previous segment not captured" at the right place.
    void skip(Direction direction, std::uint64_t bytes);

    /// Emits the FIN exchange (client FIN, server FIN, client ACK, each with `meta`, marked synthesized)
    /// if the handshake option is set and the connection is open; the next message starts a new connection
    /// with new initial sequence numbers. Returns whether it emitted anything.
    bool close(const FrameMeta& meta, const FrameSink& sink);

    /// True between the first message (or handshake) and close().
    bool is_open() const noexcept { return open_; }

    const TcpEndpoints& endpoints() const noexcept { return endpoints_; }
    /// The sequence number the next byte in `direction` gets.
    std::uint32_t next_sequence(Direction direction) const noexcept;

private:
    struct Side {
        std::uint32_t next_seq = 0;
        std::uint16_t next_ip_id = 0;
    };
    void open(const FrameMeta& meta, const FrameSink& sink);
    void emit(Direction direction, std::uint8_t tcp_flags, std::span<const std::uint8_t> payload,
              const FrameMeta& meta, const FrameSink& sink);
    Side& side(Direction d) noexcept { return d == Direction::client_to_server ? client_ : server_; }

    TcpEndpoints endpoints_;
    TcpSynthOptions options_;
    Side client_;
    Side server_;
    bool open_ = false;
    std::uint32_t generation_ = 0;
    std::vector<std::uint8_t> frame_;
};

/// The Internet checksum (RFC 1071) of `bytes`, added to a running one's-complement `sum` (not folded).
std::uint64_t internet_checksum_add(std::uint64_t sum, std::span<const std::uint8_t> bytes) noexcept;
/// Folds a running sum into the 16-bit one's-complement checksum as written into a header.
std::uint16_t internet_checksum_fold(std::uint64_t sum) noexcept;

}  // namespace spicecap
