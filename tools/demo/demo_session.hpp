// The scripted SPICE session `spicecap demo` plays: a client and server on main, display, inputs and
// cursor — link stages, then a steady mix of pings, screen updates (some DRAW_COPY above 64 KiB, so TCP
// reassembly is exercised), video stream frames, key presses, mouse and cursor motion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "spice/spice_messages.hpp"
#include "spice/spice_protocol.hpp"

namespace spicecap::cli {

/// One thing the demo client/server does.
struct DemoStep {
    enum class Kind { channel_opened, message, channel_closed };
    /// What happens.
    Kind kind = Kind::message;
    /// The SPICE channel (type, id 0).
    ChannelType channel = ChannelType::main;
    /// For messages: which way it goes.
    Direction direction = Direction::server_to_client;
    /// For messages: the whole message as it is on the wire (link-stage message, or header + body).
    std::vector<std::uint8_t> bytes;
};

/// Generates the demo's steps. Deterministic: the same calls give the same bytes.
class DemoSession {
public:
    /// `session_id` is the id the server's main INIT announces (and the other channels' link messages carry).
    explicit DemoSession(std::uint32_t session_id = 0x5ca9);

    /// The four channels opening: channel_opened, the link stage, and each channel's first messages.
    std::vector<DemoStep> opening();
    /// The next step of the steady part (a fixed cycle of about twenty messages).
    DemoStep next();
    /// The four channels closing.
    std::vector<DemoStep> closing();

    /// The channels the demo uses.
    static constexpr ChannelType kChannels[] = {ChannelType::main, ChannelType::display, ChannelType::inputs,
                                                ChannelType::cursor};

private:
    DemoStep message(ChannelType channel, Direction direction, std::uint16_t type,
                     std::vector<std::uint8_t> body);
    template <class M>
    DemoStep message(ChannelType channel, const M& m) {
        return message(channel, M::kDirection, M::kType, m.encode());
    }

    std::uint32_t session_id_;
    std::uint64_t cycle_ = 0;
    std::size_t position_ = 0;
    std::map<std::pair<ChannelType, Direction>, SpiceMessageFramer> framers_;
};

}  // namespace spicecap::cli
