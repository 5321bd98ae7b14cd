// USB vsock packets: the framing Fuchsia's usb_vsock bridge (ffx over USB) puts on a USB bulk
// transfer. One transfer carries one or more packets back to back; each is a 24-byte header
// followed by `payload_len` bytes of payload.
//
// Everything here reads from caller-owned bytes and never trusts a length it was given: a parse
// either yields a packet lying entirely inside the buffer or a `PacketError` saying why not.
#pragma once

#include "base/expected.hpp"

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace spicecap::vsock {

/// What a packet asks of the other side. The wire value is one ASCII byte.
enum class PacketType : char {
    sync = 'S',        ///< Handshake; payload "vsock:N". Must be the last packet of its transfer.
    connect = 'C',     ///< Open a connection between the header's address pair. Empty payload.
    accept = 'A',      ///< Accept a connection previously asked for with connect. Empty payload.
    finish = 'F',      ///< Ask the other side to close the connection. Empty payload.
    reset = 'R',       ///< Close or refuse the connection; no data may follow on it. Empty payload.
    data = 'D',        ///< Connection bytes; the all-zero address is the control stream.
    echo = 'E',        ///< Echo request (newer protocol versions); answered by echo_reply.
    echo_reply = 'e',  ///< Echo answer: same header fields and payload as the echo.
    pause = 'X',       ///< Flow control (protocol version >= 1); 1-byte payload.
};

/// Every packet type, in the order above (for tests, tables and documentation).
inline constexpr std::array<PacketType, 9> all_packet_types{
    PacketType::sync,  PacketType::connect, PacketType::accept,     PacketType::finish, PacketType::reset,
    PacketType::data,  PacketType::echo,    PacketType::echo_reply, PacketType::pause,
};

/// The type for a wire byte, or nothing if the byte names no known type.
std::optional<PacketType> packet_type_from_byte(std::uint8_t byte);

/// The type's name as shown to people: "Sync", "Connect", ..., "EchoReply", "Pause".
std::string_view packet_type_name(PacketType type);

/// The two endpoints a packet belongs to. All four fields zero means the control stream.
struct Address {
    std::uint32_t device_cid = 0;   ///< Context id of the device (target) side.
    std::uint32_t host_cid = 0;     ///< Context id of the host side (usually 2, "the host").
    std::uint32_t device_port = 0;  ///< vsock port on the device side.
    std::uint32_t host_port = 0;    ///< vsock port on the host side.

    /// True for the all-zero address of the control stream (no connection needed).
    bool is_control() const { return device_cid == 0 && host_cid == 0 && device_port == 0 && host_port == 0; }
    auto operator<=>(const Address&) const = default;
};

/// The 24-byte packet header, in wire order. On the wire it is packed and little-endian; this
/// struct holds host-order values and is read and written field by field (never memcpy'd), so
/// it is correct on any host. Its layout still mirrors the wire byte for byte.
struct Header {
    /// Bytes of a header on the wire.
    static constexpr std::size_t size = 24;
    /// The three bytes every header starts with.
    static constexpr std::array<std::uint8_t, 3> expected_magic{'f', 'f', 'x'};

    /// Offset 0, 3 bytes: always "ffx"; anything else means the stream is out of step.
    std::array<std::uint8_t, 3> magic = expected_magic;
    /// Offset 3, 1 byte: what this packet asks for.
    PacketType type = PacketType::data;
    /// Offset 4, u32 LE: the device side's context id (0 for Sync/Echo/Pause and the control stream).
    std::uint32_t device_cid = 0;
    /// Offset 8, u32 LE: the host side's context id (0 for Sync/Echo/Pause and the control stream).
    std::uint32_t host_cid = 0;
    /// Offset 12, u32 LE: the device side's port (0 for Sync/Echo/Pause and the control stream).
    std::uint32_t device_port = 0;
    /// Offset 16, u32 LE: the host side's port (0 for Sync/Echo/Pause and the control stream).
    std::uint32_t host_port = 0;
    /// Offset 20, u32 LE: bytes of payload right after this header, inside the same transfer.
    std::uint32_t payload_len = 0;

    /// A header with correct magic, the given type and address, and no payload.
    static Header make(PacketType type, const Address& address = {});

    /// The four address fields together.
    Address address() const { return {device_cid, host_cid, device_port, host_port}; }

    bool operator==(const Header&) const = default;
};
static_assert(sizeof(Header) == Header::size, "Header must mirror the 24-byte wire layout");

/// Why bytes are not a valid packet.
enum class PacketErrorKind {
    truncated_header,  ///< Fewer than 24 bytes left where a header should start.
    bad_magic,         ///< The header does not start with "ffx".
    unknown_type,      ///< The type byte names no known packet type.
    payload_past_end,  ///< payload_len claims more bytes than the buffer has after the header.
};

/// A parse failure, with where it happened, so a caller can report it precisely.
struct PacketError {
    /// What is wrong.
    PacketErrorKind kind;
    /// Offset of the faulty packet's first byte, from the start of the buffer given to the parser.
    std::size_t offset = 0;
    /// Bytes available from `offset` to the end of the buffer.
    std::size_t available = 0;
    /// For payload_past_end: the payload_len the header claimed. For unknown_type: the type byte.
    std::uint32_t value = 0;

    /// One sentence for people, e.g. "payload_len 100 runs past the end of the transfer (60 bytes
    /// after the header at offset 24)".
    std::string describe() const;
    bool operator==(const PacketError&) const = default;
};

/// A packet inside a caller-owned buffer: its decoded header and a view of its payload.
struct Packet {
    /// The decoded header.
    Header header;
    /// The header.payload_len bytes following the header; borrowed from the parsed buffer.
    std::span<const std::uint8_t> payload;

    /// Bytes the packet occupies on the wire: header plus payload.
    std::size_t size() const { return Header::size + payload.size(); }
};

/// Decodes the header at the start of `bytes` (checks length, magic and type, not the payload).
Expected<Header, PacketError> parse_header(std::span<const std::uint8_t> bytes);

/// Decodes the packet at the start of `bytes`; bytes after it are left alone (the next packet).
Expected<Packet, PacketError> parse_packet(std::span<const std::uint8_t> bytes);

/// The 24 wire bytes of `header`, written exactly as given (magic, type and payload_len included,
/// so tests can build malformed headers on purpose).
std::array<std::uint8_t, Header::size> encode_header(const Header& header);

/// Appends one well-formed packet (magic "ffx", payload_len = payload.size()) to a transfer.
/// Throws std::length_error if the payload does not fit in a u32 length.
void append_packet(std::vector<std::uint8_t>& transfer, PacketType type, const Address& address,
                   std::span<const std::uint8_t> payload = {});

/// The packets of one USB transfer, back to back, as a single-pass range:
///
///     TransferPackets packets{transfer};
///     for (const Packet& p : packets) { ... }
///     if (packets.error()) { report(*packets.error()); }
///
/// Iteration stops at the end of the buffer or at the first packet that does not parse; that
/// packet's error (with its offset within the transfer) is then available from error().
class TransferPackets {
public:
    explicit TransferPackets(std::span<const std::uint8_t> transfer) : rest_(transfer), whole_(transfer) {}

    /// Moves to the next packet; false at the end of the transfer or on error.
    bool advance();
    /// The packet advance() last produced (valid only after it returned true).
    const Packet& current() const { return current_; }
    /// The reason iteration stopped early, or nothing if every byte parsed (so far).
    const std::optional<PacketError>& error() const { return error_; }
    /// Bytes of the transfer consumed by the packets produced so far.
    std::size_t consumed() const { return whole_.size() - rest_.size(); }

    class Iterator {
    public:
        using iterator_concept = std::input_iterator_tag;
        using value_type = Packet;
        using difference_type = std::ptrdiff_t;

        Iterator() = default;
        explicit Iterator(TransferPackets* range) : range_(range) {}
        const Packet& operator*() const { return range_->current(); }
        const Packet* operator->() const { return &range_->current(); }
        Iterator& operator++() {
            if (!range_->advance()) range_ = nullptr;
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const Iterator& it, std::default_sentinel_t) { return it.range_ == nullptr; }

    private:
        TransferPackets* range_ = nullptr;
    };

    /// Starts (single pass: call once).
    Iterator begin() {
        Iterator it{this};
        if (!advance()) it = Iterator{};
        return it;
    }
    std::default_sentinel_t end() const { return {}; }

private:
    std::span<const std::uint8_t> rest_;
    std::span<const std::uint8_t> whole_;
    Packet current_{};
    std::optional<PacketError> error_;
};

// --- Payload helpers -----------------------------------------------------------------------------

/// The protocol version a Sync payload announces: "vsock:0", "vsock:1", or "vsock:2:<hex nonce>".
struct SyncVersion {
    /// Protocol version number (0, 1 or 2).
    std::uint8_t number = 0;
    /// The random 32-bit nonce version 2 appends (hexadecimal on the wire); absent before version 2.
    std::optional<std::uint32_t> nonce;

    bool operator==(const SyncVersion&) const = default;
};

/// The Sync payload bytes announcing `version` (e.g. "vsock:1").
std::string sync_payload(const SyncVersion& version);

/// The version a Sync payload announces, or nothing if it is not one of the known forms.
std::optional<SyncVersion> parse_sync_payload(std::span<const std::uint8_t> payload);

/// Bytes of a Pause payload.
inline constexpr std::size_t pause_payload_size = 1;

/// The Pause payload: 1 = stop sending to me, 0 = go on.
std::array<std::uint8_t, pause_payload_size> pause_payload(bool paused);

/// The pause flag of a Pause payload (non-zero = paused), or nothing if it is not exactly 1 byte.
std::optional<bool> parse_pause_payload(std::span<const std::uint8_t> payload);

}  // namespace spicecap::vsock
