// A realistic SPICE channel connection for tests: the link stage of a real client and server, then data
// messages both ways (a large DRAW_COPY included), each with its direction, in the order they are sent.
#pragma once

#include <vector>

#include "spice/spice_link_stage.hpp"
#include "spice/spice_messages.hpp"

namespace spicecap::test {

struct SpiceConversation {
    std::vector<SpiceWireMessage> messages;

    /// All bytes one direction sent, back to back.
    std::vector<std::uint8_t> bytes(Direction direction) const {
        std::vector<std::uint8_t> out;
        for (const auto& m : messages)
            if (m.direction == direction) out.insert(out.end(), m.bytes.begin(), m.bytes.end());
        return out;
    }
    /// The messages of one direction, in order.
    std::vector<std::vector<std::uint8_t>> of(Direction direction) const {
        std::vector<std::vector<std::uint8_t>> out;
        for (const auto& m : messages)
            if (m.direction == direction) out.push_back(m.bytes);
        return out;
    }
};

/// A display channel: link stage (auth selection, ticket), then SURFACE_CREATE, a DRAW_COPY with
/// `image_bytes` bytes of pixels, PINGs and PONGs.
inline SpiceConversation display_conversation(HeaderMode mode, std::size_t image_bytes = 200'000,
                                              std::uint8_t channel_id = 0) {
    SpiceConversation c;
    c.messages = synthetic_link_stage(ChannelType::display, channel_id, mode, 7);
    SpiceMessageFramer server(mode);
    SpiceMessageFramer client(mode);
    const auto add = [&](Direction d, std::vector<std::uint8_t> bytes) {
        SpiceWireMessage m;
        m.direction = d;
        m.bytes = std::move(bytes);
        c.messages.push_back(std::move(m));
    };
    const auto s2c = Direction::server_to_client;
    const auto c2s = Direction::client_to_server;
    add(s2c, server.frame(spice::DisplaySurfaceCreate{.surface_id = 0, .width = 640, .height = 480}));
    add(s2c, server.frame(spice::Ping{.id = 1, .timestamp = 1000}));
    add(c2s, client.frame(spice::Pong{.id = 1, .timestamp = 1000}));
    add(s2c, server.frame(spice::DisplayDrawCopy::with_image_bytes(image_bytes)));
    add(s2c, server.frame(spice::Ping{.id = 2, .timestamp = 2000, .data = std::vector<std::uint8_t>(300, 0x5a)}));
    add(c2s, client.frame(spice::Pong{.id = 2, .timestamp = 2000}));
    return c;
}

}  // namespace spicecap::test
