// The SPICE channel name table.
#include "spice/spice_channel.hpp"

#include <array>

namespace spicecap {
namespace {

constexpr std::array<std::string_view, kMaxSpiceChannelType> kChannelNames = {
    "main", "display", "inputs", "cursor", "playback", "record", "tunnel", "smartcard", "usbredir", "port", "webdav",
};

}  // namespace

std::optional<ChannelType> channel_from_number(std::uint8_t number) noexcept {
    if (number >= 1 && number <= kMaxSpiceChannelType) return static_cast<ChannelType>(number);
    return std::nullopt;
}

std::string_view channel_name(ChannelType type) noexcept {
    const auto n = static_cast<std::uint8_t>(type);
    return channel_from_number(n) ? kChannelNames[n - 1] : std::string_view("unknown");
}

std::optional<ChannelType> channel_from_name(std::string_view name) noexcept {
    for (std::size_t i = 0; i < kChannelNames.size(); ++i) {
        if (kChannelNames[i] == name) return static_cast<ChannelType>(i + 1);
    }
    return std::nullopt;
}

std::optional<std::string_view> spice_channel_name(std::uint8_t channel_type) noexcept {
    if (const auto type = channel_from_number(channel_type)) return channel_name(*type);
    return std::nullopt;
}

std::optional<std::uint8_t> spice_channel_type_from_name(std::string_view name) noexcept {
    if (const auto type = channel_from_name(name)) return static_cast<std::uint8_t>(*type);
    return std::nullopt;
}

}  // namespace spicecap
