// Little-endian reading and writing for the SPICE codec (private to common/spice/spice_*.cpp).
// SPICE puts every integer on the wire little-endian and packed; these two helpers keep the encoders
// and parsers free of shifts and bounds arithmetic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/byte_order.hpp"

namespace spicecap::spice_bytes {

/// Appends little-endian integers and raw bytes to a byte vector.
class Writer {
public:
    explicit Writer(std::vector<std::uint8_t>& out) : out_(out) {}

    Writer& u8(std::uint8_t v) { out_.push_back(v); return *this; }
    Writer& u16(std::uint16_t v) { return le(v, 2); }
    Writer& u32(std::uint32_t v) { return le(v, 4); }
    Writer& u64(std::uint64_t v) { return le(v, 8); }
    Writer& i16(std::int16_t v) { return u16(static_cast<std::uint16_t>(v)); }
    Writer& i32(std::int32_t v) { return u32(static_cast<std::uint32_t>(v)); }
    Writer& bytes(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); return *this; }

private:
    Writer& le(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
        return *this;
    }
    std::vector<std::uint8_t>& out_;
};

/// Reads a little-endian integer at `offset`; the caller has checked the bounds.
inline std::uint16_t read_u16(std::span<const std::uint8_t> b, std::size_t offset) noexcept {
    return little_endian::load<std::uint16_t>(b.data() + offset);
}
inline std::uint32_t read_u32(std::span<const std::uint8_t> b, std::size_t offset) noexcept {
    return little_endian::load<std::uint32_t>(b.data() + offset);
}
inline std::uint64_t read_u64(std::span<const std::uint8_t> b, std::size_t offset) noexcept {
    return little_endian::load<std::uint64_t>(b.data() + offset);
}

}  // namespace spicecap::spice_bytes
