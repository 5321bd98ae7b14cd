// The installed headers cannot include spicecap's internal ones, so they spell out the SPICE channel
// numbers and header modes themselves (spicecap/producer.h as an enum, spicecap/producer.hpp as
// spice_channel:: constants). This file ties both to the one channel table (spice/spice_channel.hpp) at
// compile time: a number that drifts from it fails the build, not a capture.
#include <cstddef>
#include <cstdint>
#include <utility>

#include "spice/spice_channel.hpp"
#include "spicecap/producer.h"
#include "spicecap/producer.hpp"

namespace spicecap {
namespace {

struct PublicChannel {
    long c_constant;
    std::uint8_t cpp_constant;
    ChannelType table;
};

constexpr PublicChannel kPublicChannels[] = {
    {SPICECAP_CHANNEL_MAIN, spice_channel::main, ChannelType::main},
    {SPICECAP_CHANNEL_DISPLAY, spice_channel::display, ChannelType::display},
    {SPICECAP_CHANNEL_INPUTS, spice_channel::inputs, ChannelType::inputs},
    {SPICECAP_CHANNEL_CURSOR, spice_channel::cursor, ChannelType::cursor},
    {SPICECAP_CHANNEL_PLAYBACK, spice_channel::playback, ChannelType::playback},
    {SPICECAP_CHANNEL_RECORD, spice_channel::record, ChannelType::record},
    {SPICECAP_CHANNEL_TUNNEL, spice_channel::tunnel, ChannelType::tunnel},
    {SPICECAP_CHANNEL_SMARTCARD, spice_channel::smartcard, ChannelType::smartcard},
    {SPICECAP_CHANNEL_USBREDIR, spice_channel::usbredir, ChannelType::usbredir},
    {SPICECAP_CHANNEL_PORT, spice_channel::port, ChannelType::port},
    {SPICECAP_CHANNEL_WEBDAV, spice_channel::webdav, ChannelType::webdav},
};

consteval bool public_channels_match_the_table() {
    std::size_t n = 0;
    for (const PublicChannel& c : kPublicChannels) {
        const auto number = static_cast<std::uint8_t>(c.table);
        if (c.c_constant != number || c.cpp_constant != number) return false;
        // One entry per table row, in table order.
        if (number != ++n) return false;
    }
    return n == kMaxSpiceChannelType;
}
static_assert(public_channels_match_the_table(),
              "spicecap/producer.h and spicecap/producer.hpp must list every channel of spice/spice_channel.hpp "
              "with its number");

static_assert(SPICECAP_HEADER_MINI == static_cast<int>(HeaderMode::mini));
static_assert(SPICECAP_HEADER_FULL == static_cast<int>(HeaderMode::full));

}  // namespace
}  // namespace spicecap
