// The demo's script.
#include "demo/demo_session.hpp"

#include "spice/spice_link_stage.hpp"

namespace spicecap::cli {

DemoSession::DemoSession(std::uint32_t session_id) : session_id_(session_id) {}

DemoStep DemoSession::message(ChannelType channel, Direction direction, std::uint16_t type,
                              std::vector<std::uint8_t> body) {
    auto it = framers_.try_emplace({channel, direction}, HeaderMode::mini).first;
    DemoStep step;
    step.kind = DemoStep::Kind::message;
    step.channel = channel;
    step.direction = direction;
    step.bytes = it->second.frame(type, body);
    return step;
}

std::vector<DemoStep> DemoSession::opening() {
    std::vector<DemoStep> steps;
    for (ChannelType channel : kChannels) {
        steps.push_back(DemoStep{DemoStep::Kind::channel_opened, channel, {}, {}});
        // The main channel's link message carries connection id 0; the others the session id INIT gave.
        const std::uint32_t connection = channel == ChannelType::main ? 0 : session_id_;
        for (auto& m : synthetic_link_stage(channel, 0, HeaderMode::mini, connection)) {
            steps.push_back(DemoStep{DemoStep::Kind::message, channel, m.direction, std::move(m.bytes)});
        }
        switch (channel) {
            case ChannelType::main: {
                steps.push_back(message(channel, spice::MainInit{.session_id = session_id_}));
                spice::MainChannelsList list;
                for (ChannelType c : kChannels) list.channels.push_back({static_cast<std::uint8_t>(c), 0});
                steps.push_back(message(channel, list));
                break;
            }
            case ChannelType::display:
                steps.push_back(message(channel, spice::DisplaySurfaceCreate{.width = 1024, .height = 768}));
                // The first full-screen paint: a large message that TCP reassembly must put back together.
                steps.push_back(message(channel, spice::DisplayDrawCopy::with_image_bytes(256 * 1024, 1)));
                steps.push_back(message(channel, spice::DisplayStreamCreate{.id = 1,
                                                                            .stream_width = 320,
                                                                            .stream_height = 240,
                                                                            .src_width = 320,
                                                                            .src_height = 240,
                                                                            .dest = {0, 0, 240, 320}}));
                break;
            case ChannelType::cursor:
                steps.push_back(message(channel, spice::CursorInit{.cursor = spice::Cursor::alpha_arrow(16, 16, 1)}));
                break;
            default:
                break;
        }
    }
    return steps;
}

DemoStep DemoSession::next() {
    // One cycle: what a second of a lightly used desktop looks like, in miniature.
    constexpr std::size_t kCycleLength = 20;
    const std::size_t at = position_++ % kCycleLength;
    if (at == 0) ++cycle_;
    const auto c = static_cast<std::uint32_t>(cycle_);
    switch (at) {
        case 0:
            return message(ChannelType::main, spice::Ping{.id = c, .timestamp = c * 1000000ull});
        case 1:
            return message(ChannelType::main, spice::Pong{.id = c, .timestamp = c * 1000000ull});
        case 2:
            return message(ChannelType::inputs, spice::InputsKeyDown{.code = 0x1e});  // 'a'
        case 3:
            return message(ChannelType::inputs, spice::InputsKeyUp{.code = 0x9e});
        case 4:
        case 5:
        case 6:
            return message(ChannelType::inputs, spice::InputsMouseMotion{.dx = 3, .dy = static_cast<std::int32_t>(at) - 5});
        case 7:
        case 8:
        case 9: {
            const auto x = static_cast<std::int16_t>((c * 7 + at) % 1024);
            return message(ChannelType::cursor, spice::CursorMove{.x = x, .y = static_cast<std::int16_t>(x / 2)});
        }
        case 10:
        case 11:
        case 12:
        case 13:
            return message(ChannelType::display,
                           spice::DisplayStreamData{.id = 1, .multi_media_time = c * 40 + static_cast<std::uint32_t>(at),
                                                    .frame = spice::DisplayStreamData::tiny_jpeg()});
        case 14:
            // A window repaint above 64 KiB: several TCP segments.
            return message(ChannelType::display, spice::DisplayDrawCopy::with_image_bytes(80 * 1024, 100 + c));
        case 15:
            return message(ChannelType::display, spice::DisplayDrawCopy::with_image_bytes(4 * 1024, 200 + c));
        case 16:
            return message(ChannelType::cursor, spice::CursorSet{.x = 10, .y = 10,
                                                                 .cursor = spice::Cursor::alpha_arrow(8, 8, 2 + c)});
        default:
            return message(ChannelType::inputs, spice::InputsMouseMotion{.dx = -1, .dy = 1});
    }
}

std::vector<DemoStep> DemoSession::closing() {
    std::vector<DemoStep> steps;
    for (ChannelType channel : kChannels) steps.push_back(DemoStep{DemoStep::Kind::channel_closed, channel, {}, {}});
    return steps;
}

}  // namespace spicecap::cli
