// Integers in byte buffers, in both byte orders, in one place. spicecap's own wire formats are
// little-endian (frame lengths, record headers and DROP notices, the USB vsock header and pcap
// pseudo-header, SPICE); network headers are big-endian (the Ethernet/IPv4/TCP spicecap synthesizes or
// decodes, Wireshark's extcap control messages). The caller has checked that the bytes are there.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>

namespace spicecap::little_endian {

/// The `T` stored little-endian in the sizeof(T) bytes at `p`.
template <std::unsigned_integral T>
constexpr T load(const std::uint8_t* p) noexcept {
    T value = 0;
    for (std::size_t i = sizeof(T); i-- > 0;) value = static_cast<T>(value << 8 | p[i]);
    return value;
}

/// Stores `value` little-endian in the sizeof(T) bytes at `p`.
template <std::unsigned_integral T>
constexpr void store(std::uint8_t* p, T value) noexcept {
    for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

}  // namespace spicecap::little_endian

namespace spicecap::big_endian {

/// The `T` stored big-endian (network order) in the sizeof(T) bytes at `p`.
template <std::unsigned_integral T>
constexpr T load(const std::uint8_t* p) noexcept {
    T value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) value = static_cast<T>(value << 8 | p[i]);
    return value;
}

/// Stores `value` big-endian (network order) in the sizeof(T) bytes at `p`.
template <std::unsigned_integral T>
constexpr void store(std::uint8_t* p, T value) noexcept {
    for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<std::uint8_t>(value >> (8 * (sizeof(T) - 1 - i)));
}

}  // namespace spicecap::big_endian
