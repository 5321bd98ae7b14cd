// USB vsock packet parsing and encoding (see vsock_packet.hpp and docs/formats.md "USB vsock").
#include "vsock/vsock_packet.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>

#include "base/byte_order.hpp"

namespace spicecap::vsock {
namespace {

constexpr std::string_view sync_prefix = "vsock:";

}  // namespace

std::optional<PacketType> packet_type_from_byte(std::uint8_t byte) {
    for (PacketType type : all_packet_types) {
        if (static_cast<std::uint8_t>(type) == byte) return type;
    }
    return std::nullopt;
}

std::string_view packet_type_name(PacketType type) {
    switch (type) {
        case PacketType::sync: return "Sync";
        case PacketType::connect: return "Connect";
        case PacketType::accept: return "Accept";
        case PacketType::finish: return "Finish";
        case PacketType::reset: return "Reset";
        case PacketType::data: return "Data";
        case PacketType::echo: return "Echo";
        case PacketType::echo_reply: return "EchoReply";
        case PacketType::pause: return "Pause";
    }
    return "Unknown";
}

Header Header::make(PacketType type, const Address& address) {
    Header header;
    header.type = type;
    header.device_cid = address.device_cid;
    header.host_cid = address.host_cid;
    header.device_port = address.device_port;
    header.host_port = address.host_port;
    return header;
}

std::string PacketError::describe() const {
    const std::string at = " at offset " + std::to_string(offset);
    switch (kind) {
        case PacketErrorKind::truncated_header:
            return "truncated header" + at + ": " + std::to_string(available) + " of " +
                   std::to_string(Header::size) + " bytes";
        case PacketErrorKind::bad_magic: return "bad magic" + at + " (expected \"ffx\")";
        case PacketErrorKind::unknown_type:
            return "unknown packet type 0x" + [this] {
                char hex[3] = {"0123456789abcdef"[(value >> 4) & 0xf], "0123456789abcdef"[value & 0xf], 0};
                return std::string(hex);
            }() + at;
        case PacketErrorKind::payload_past_end:
            return "payload_len " + std::to_string(value) + " runs past the end of the buffer (" +
                   std::to_string(available >= Header::size ? available - Header::size : 0) +
                   " bytes after the header" + at + ")";
    }
    return "invalid packet" + at;
}

Expected<Header, PacketError> parse_header(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < Header::size) {
        return Unexpected{PacketError{PacketErrorKind::truncated_header, 0, bytes.size(), 0}};
    }
    const auto wire = bytes.first<Header::size>();
    Header header;
    std::copy_n(wire.begin(), header.magic.size(), header.magic.begin());
    if (header.magic != Header::expected_magic) {
        return Unexpected{PacketError{PacketErrorKind::bad_magic, 0, bytes.size(), 0}};
    }
    const auto type = packet_type_from_byte(wire[3]);
    if (!type) {
        return Unexpected{PacketError{PacketErrorKind::unknown_type, 0, bytes.size(), wire[3]}};
    }
    header.type = *type;
    header.device_cid = little_endian::load<std::uint32_t>(wire.data() + 4);
    header.host_cid = little_endian::load<std::uint32_t>(wire.data() + 8);
    header.device_port = little_endian::load<std::uint32_t>(wire.data() + 12);
    header.host_port = little_endian::load<std::uint32_t>(wire.data() + 16);
    header.payload_len = little_endian::load<std::uint32_t>(wire.data() + 20);
    return header;
}

Expected<Packet, PacketError> parse_packet(std::span<const std::uint8_t> bytes) {
    auto header = parse_header(bytes);
    if (!header) return Unexpected{header.error()};
    // Compare against what is left instead of adding to an offset, so no length can overflow.
    const std::size_t after_header = bytes.size() - Header::size;
    if (header->payload_len > after_header) {
        return Unexpected{PacketError{PacketErrorKind::payload_past_end, 0, bytes.size(), header->payload_len}};
    }
    return Packet{*header, bytes.subspan(Header::size, header->payload_len)};
}

std::array<std::uint8_t, Header::size> encode_header(const Header& header) {
    std::array<std::uint8_t, Header::size> wire{};
    std::span<std::uint8_t, Header::size> out{wire};
    std::copy(header.magic.begin(), header.magic.end(), wire.begin());
    wire[3] = static_cast<std::uint8_t>(header.type);
    little_endian::store<std::uint32_t>(out.data() + 4, header.device_cid);
    little_endian::store<std::uint32_t>(out.data() + 8, header.host_cid);
    little_endian::store<std::uint32_t>(out.data() + 12, header.device_port);
    little_endian::store<std::uint32_t>(out.data() + 16, header.host_port);
    little_endian::store<std::uint32_t>(out.data() + 20, header.payload_len);
    return wire;
}

void append_packet(std::vector<std::uint8_t>& transfer, PacketType type, const Address& address,
                   std::span<const std::uint8_t> payload) {
    if (payload.size() > std::numeric_limits<std::uint32_t>::max()) {
        throw std::length_error("vsock payload larger than a u32 payload_len can describe");
    }
    Header header = Header::make(type, address);
    header.payload_len = static_cast<std::uint32_t>(payload.size());
    const auto wire = encode_header(header);
    transfer.insert(transfer.end(), wire.begin(), wire.end());
    transfer.insert(transfer.end(), payload.begin(), payload.end());
}

bool TransferPackets::advance() {
    if (error_ || rest_.empty()) return false;
    auto packet = parse_packet(rest_);
    if (!packet) {
        PacketError error = packet.error();
        error.offset = consumed();  // report positions within the whole transfer
        error_ = error;
        return false;
    }
    current_ = *packet;
    rest_ = rest_.subspan(current_.size());
    return true;
}

std::string sync_payload(const SyncVersion& version) {
    std::string text{sync_prefix};
    text += std::to_string(version.number);
    if (version.nonce) {
        char hex[8];
        const auto end = std::to_chars(std::begin(hex), std::end(hex), *version.nonce, 16).ptr;
        text += ':';
        text.append(hex, end);
    }
    return text;
}

std::optional<SyncVersion> parse_sync_payload(std::span<const std::uint8_t> payload) {
    const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
    if (text == "vsock:0") return SyncVersion{0, std::nullopt};
    if (text == "vsock:1") return SyncVersion{1, std::nullopt};
    constexpr std::string_view v2_prefix = "vsock:2:";
    if (text.starts_with(v2_prefix)) {
        const std::string_view hex = text.substr(v2_prefix.size());
        std::uint32_t nonce = 0;
        const auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), nonce, 16);
        if (!hex.empty() && ec == std::errc{} && end == hex.data() + hex.size()) return SyncVersion{2, nonce};
    }
    return std::nullopt;
}

std::array<std::uint8_t, pause_payload_size> pause_payload(bool paused) {
    return {static_cast<std::uint8_t>(paused ? 1 : 0)};
}

std::optional<bool> parse_pause_payload(std::span<const std::uint8_t> payload) {
    if (payload.size() != pause_payload_size) return std::nullopt;
    return payload[0] != 0;
}

}  // namespace spicecap::vsock
