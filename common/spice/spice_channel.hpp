// SPICE channel types (spice-protocol's SPICE_CHANNEL_*) and the names spicecap uses for them in options,
// HELLOs, file names and logs. The one table every part of spicecap shares.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace spicecap {

/// SPICE channel types. The numbers are what a SpiceLinkMess and a RECORD's channel_type carry.
enum class ChannelType : std::uint8_t {
    main = 1,
    display = 2,
    inputs = 3,
    cursor = 4,
    playback = 5,
    record = 6,
    tunnel = 7,
    smartcard = 8,
    usbredir = 9,
    port = 10,
    webdav = 11,
};

/// The largest SPICE channel type number.
inline constexpr std::uint8_t kMaxSpiceChannelType = 11;

/// The lowercase name of a channel type ("main", "display", ...); "unknown" outside 1..11.
std::string_view channel_name(ChannelType type) noexcept;
/// The channel type with that name, or nothing for an unknown name.
std::optional<ChannelType> channel_from_name(std::string_view name) noexcept;
/// The channel type with that number, or nothing when the number is not a SPICE channel (0, 12...).
std::optional<ChannelType> channel_from_number(std::uint8_t number) noexcept;

/// The name for a channel type number as carried on the wire; nothing outside 1..11.
std::optional<std::string_view> spice_channel_name(std::uint8_t channel_type) noexcept;
/// The channel type number for a name; nothing for an unknown name.
std::optional<std::uint8_t> spice_channel_type_from_name(std::string_view name) noexcept;

}  // namespace spicecap
