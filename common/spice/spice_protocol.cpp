// SPICE wire types: encoders and bounds-checked parsers (see spicecap/spice_protocol.hpp).
#include "spice/spice_protocol.hpp"

#include <algorithm>

#include "spice/spice_bytes.hpp"

namespace spicecap {

using spice_bytes::read_u16;
using spice_bytes::read_u32;
using spice_bytes::read_u64;
using spice_bytes::Writer;

namespace {

Unexpected<SpiceError> fail(SpiceErrorCode code, std::string message) {
    return Unexpected{SpiceError{code, std::move(message)}};
}

std::string describe_size(std::string_view what, std::size_t need, std::size_t have) {
    return std::string(what) + " needs " + std::to_string(need) + " bytes, got " + std::to_string(have);
}

/// Checks that `message` is exactly one fixed-size structure.
Expected<Ok, SpiceError> expect_exact(std::string_view what, std::size_t size,
                                      std::span<const std::uint8_t> message) {
    if (message.size() < size) return fail(SpiceErrorCode::truncated, describe_size(what, size, message.size()));
    if (message.size() > size)
        return fail(SpiceErrorCode::trailing_bytes, std::string(what) + " is " + std::to_string(size) +
                                                        " bytes, got " + std::to_string(message.size()));
    return Ok{};
}

/// The capability words of a link message or reply.
struct LinkCaps {
    std::vector<std::uint32_t> common;
    std::vector<std::uint32_t> channel;
};

/// Validates the link header of one whole link message and returns its body (the bytes after the header).
Expected<std::span<const std::uint8_t>, SpiceError> link_body(std::string_view what, std::size_t fixed_size,
                                                              std::span<const std::uint8_t> message) {
    auto header = SpiceLinkHeader::parse(message);
    if (!header) return Unexpected{header.error()};
    if (header->size < fixed_size)
        return fail(SpiceErrorCode::bad_link_size, std::string(what) + " declares " + std::to_string(header->size) +
                                                       " bytes after its header, less than its fixed " +
                                                       std::to_string(fixed_size));
    const std::size_t total = SpiceLinkHeader::kSize + header->size;
    if (message.size() < total) return fail(SpiceErrorCode::truncated, describe_size(what, total, message.size()));
    if (message.size() > total)
        return fail(SpiceErrorCode::trailing_bytes, std::string(what) + " declares " + std::to_string(total) +
                                                        " bytes, got " + std::to_string(message.size()));
    return message.subspan(SpiceLinkHeader::kSize, header->size);
}

/// Reads the capability words a link body points at, refusing counts or an offset outside the body.
Expected<LinkCaps, SpiceError> link_caps(std::string_view what, std::span<const std::uint8_t> body,
                                         std::size_t fixed_size, std::uint32_t num_common,
                                         std::uint32_t num_channel, std::uint32_t caps_offset) {
    const std::uint64_t caps_bytes = 4ull * (std::uint64_t{num_common} + num_channel);
    if (caps_offset < fixed_size || std::uint64_t{caps_offset} + caps_bytes > body.size())
        return fail(SpiceErrorCode::bad_link_size,
                    std::string(what) + " puts " + std::to_string(num_common) + "+" + std::to_string(num_channel) +
                        " capability words at offset " + std::to_string(caps_offset) + ", outside its " +
                        std::to_string(body.size()) + "-byte body");
    LinkCaps caps;
    std::size_t at = caps_offset;
    for (std::uint32_t i = 0; i < num_common; ++i, at += 4) caps.common.push_back(read_u32(body, at));
    for (std::uint32_t i = 0; i < num_channel; ++i, at += 4) caps.channel.push_back(read_u32(body, at));
    return caps;
}

std::uint32_t caps_size(const std::vector<std::uint32_t>& common, const std::vector<std::uint32_t>& channel) {
    return static_cast<std::uint32_t>(4 * (common.size() + channel.size()));
}

void write_caps(Writer& w, const std::vector<std::uint32_t>& common, const std::vector<std::uint32_t>& channel) {
    for (auto c : common) w.u32(c);
    for (auto c : channel) w.u32(c);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------

bool has_cap(std::span<const std::uint32_t> caps, unsigned bit) noexcept {
    const std::size_t word = bit / 32;
    return word < caps.size() && (caps[word] >> (bit % 32)) & 1u;
}

std::vector<std::uint32_t> caps_with(std::initializer_list<unsigned> bits) {
    std::vector<std::uint32_t> caps;
    for (unsigned bit : bits) {
        if (caps.size() <= bit / 32) caps.resize(bit / 32 + 1, 0);
        caps[bit / 32] |= 1u << (bit % 32);
    }
    return caps;
}

// ---------------------------------------------------------------------------------------------------------

void SpiceLinkHeader::encode(std::vector<std::uint8_t>& out) const {
    Writer(out).u32(magic).u32(major_version).u32(minor_version).u32(size);
}

Expected<SpiceLinkHeader, SpiceError> SpiceLinkHeader::parse(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < kSize)
        return fail(SpiceErrorCode::truncated, describe_size("SPICE link header", kSize, bytes.size()));
    SpiceLinkHeader h;
    h.magic = read_u32(bytes, 0);
    h.major_version = read_u32(bytes, 4);
    h.minor_version = read_u32(bytes, 8);
    h.size = read_u32(bytes, 12);
    if (h.magic != kSpiceMagic) {
        static constexpr char hex[] = "0123456789abcdef";
        std::string got;
        for (std::size_t i = 0; i < 4; ++i) {
            got += hex[bytes[i] >> 4];
            got += hex[bytes[i] & 15];
        }
        return fail(SpiceErrorCode::bad_magic, "SPICE link message starts with 0x" + got + ", not \"REDQ\"");
    }
    return h;
}

// ---------------------------------------------------------------------------------------------------------

std::vector<std::uint8_t> SpiceLinkMess::encode() const {
    std::vector<std::uint8_t> out;
    SpiceLinkHeader{.size = static_cast<std::uint32_t>(kFixedSize) + caps_size(common_caps, channel_caps)}.encode(out);
    Writer w(out);
    w.u32(connection_id).u8(channel_type).u8(channel_id);
    w.u32(static_cast<std::uint32_t>(common_caps.size()))
        .u32(static_cast<std::uint32_t>(channel_caps.size()))
        .u32(static_cast<std::uint32_t>(kFixedSize));
    write_caps(w, common_caps, channel_caps);
    return out;
}

Expected<SpiceLinkMess, SpiceError> SpiceLinkMess::parse(std::span<const std::uint8_t> message) {
    auto body = link_body("SpiceLinkMess", kFixedSize, message);
    if (!body) return Unexpected{body.error()};
    const auto b = *body;
    SpiceLinkMess m;
    m.connection_id = read_u32(b, 0);
    m.channel_type = b[4];
    m.channel_id = b[5];
    auto caps = link_caps("SpiceLinkMess", b, kFixedSize, read_u32(b, 6), read_u32(b, 10), read_u32(b, 14));
    if (!caps) return Unexpected{caps.error()};
    m.common_caps = std::move(caps->common);
    m.channel_caps = std::move(caps->channel);
    return m;
}

std::vector<std::uint8_t> SpiceLinkReply::encode() const {
    std::vector<std::uint8_t> out;
    SpiceLinkHeader{.size = static_cast<std::uint32_t>(kFixedSize) + caps_size(common_caps, channel_caps)}.encode(out);
    Writer w(out);
    w.u32(error).bytes(pub_key);
    w.u32(static_cast<std::uint32_t>(common_caps.size()))
        .u32(static_cast<std::uint32_t>(channel_caps.size()))
        .u32(static_cast<std::uint32_t>(kFixedSize));
    write_caps(w, common_caps, channel_caps);
    return out;
}

Expected<SpiceLinkReply, SpiceError> SpiceLinkReply::parse(std::span<const std::uint8_t> message) {
    auto body = link_body("SpiceLinkReply", kFixedSize, message);
    if (!body) return Unexpected{body.error()};
    const auto b = *body;
    SpiceLinkReply r;
    r.error = read_u32(b, 0);
    std::copy_n(b.begin() + 4, kSpicePubkeyBytes, r.pub_key.begin());
    constexpr std::size_t counts = 4 + kSpicePubkeyBytes;
    auto caps = link_caps("SpiceLinkReply", b, kFixedSize, read_u32(b, counts), read_u32(b, counts + 4),
                          read_u32(b, counts + 8));
    if (!caps) return Unexpected{caps.error()};
    r.common_caps = std::move(caps->common);
    r.channel_caps = std::move(caps->channel);
    return r;
}

std::vector<std::uint8_t> SpiceLinkAuthMechanism::encode() const {
    std::vector<std::uint8_t> out;
    Writer(out).u32(mechanism);
    return out;
}

Expected<SpiceLinkAuthMechanism, SpiceError> SpiceLinkAuthMechanism::parse(std::span<const std::uint8_t> message) {
    if (auto ok = expect_exact("SpiceLinkAuthMechanism", kSize, message); !ok) return Unexpected{ok.error()};
    return SpiceLinkAuthMechanism{read_u32(message, 0)};
}

std::vector<std::uint8_t> SpiceLinkTicket::encode() const {
    return {encrypted.begin(), encrypted.end()};
}

Expected<SpiceLinkTicket, SpiceError> SpiceLinkTicket::parse(std::span<const std::uint8_t> message) {
    if (auto ok = expect_exact("SPICE encrypted ticket", kSize, message); !ok) return Unexpected{ok.error()};
    SpiceLinkTicket t;
    std::copy(message.begin(), message.end(), t.encrypted.begin());
    return t;
}

std::vector<std::uint8_t> SpiceLinkResult::encode() const {
    std::vector<std::uint8_t> out;
    Writer(out).u32(error);
    return out;
}

Expected<SpiceLinkResult, SpiceError> SpiceLinkResult::parse(std::span<const std::uint8_t> message) {
    if (auto ok = expect_exact("SPICE link result", kSize, message); !ok) return Unexpected{ok.error()};
    return SpiceLinkResult{read_u32(message, 0)};
}

// ---------------------------------------------------------------------------------------------------------

void SpiceMiniDataHeader::encode(std::vector<std::uint8_t>& out) const {
    Writer(out).u16(type).u32(size);
}

Expected<SpiceMiniDataHeader, SpiceError> SpiceMiniDataHeader::parse(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < kSize)
        return fail(SpiceErrorCode::truncated, describe_size("SPICE mini data header", kSize, bytes.size()));
    return SpiceMiniDataHeader{read_u16(bytes, 0), read_u32(bytes, 2)};
}

void SpiceDataHeader::encode(std::vector<std::uint8_t>& out) const {
    Writer(out).u64(serial).u16(type).u32(size).u32(sub_list);
}

Expected<SpiceDataHeader, SpiceError> SpiceDataHeader::parse(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < kSize)
        return fail(SpiceErrorCode::truncated, describe_size("SPICE data header", kSize, bytes.size()));
    return SpiceDataHeader{read_u64(bytes, 0), read_u16(bytes, 8), read_u32(bytes, 10), read_u32(bytes, 14)};
}

std::span<const std::uint8_t> SpiceWireMessage::body() const noexcept {
    if (kind != SpiceMessageKind::data) return bytes;
    return std::span<const std::uint8_t>(bytes).subspan(std::min(bytes.size(), data_header_size(header_mode)));
}
std::vector<std::uint8_t> encode_data_message(HeaderMode mode, std::uint64_t serial, std::uint16_t type,
                                              std::span<const std::uint8_t> body) {
    std::vector<std::uint8_t> out;
    out.reserve(data_header_size(mode) + body.size());
    const auto size = static_cast<std::uint32_t>(body.size());
    if (mode == HeaderMode::mini)
        SpiceMiniDataHeader{type, size}.encode(out);
    else
        SpiceDataHeader{serial, type, size, 0}.encode(out);
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

}  // namespace spicecap
