// Fuzz target: the daemon's parsing of the JSON bodies it receives (daemon/hello.hpp): HELLO from every
// client, EVENT from producers, REQUEST from control clients. These are the first bytes any local process
// can send to spicecapd, so they must give a typed value or an error, never an exception or a crash.
//
// Input: one selector byte (0 HELLO, 1 EVENT, 2 REQUEST; taken modulo 3), then the body. As in the daemon,
// the body goes through the FrameDecoder first (one JSON object, at most kMaxJsonDepth deep, at most
// kMaxJsonFrameBytes) and reaches the parser only if the decoder passes it. Checked besides "no crash, no
// exception": what a successful parse promises the rest of the daemon.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "fuzz_check.hpp"
#include "hello.hpp"
#include "options.hpp"
#include "wire/frame.hpp"

namespace {

using namespace spicecap;
using namespace spicecap::daemon;

void check_hello(const Hello& hello) {
    if (const auto* producer = std::get_if<ProducerHello>(&hello)) {
        // Any strings, but bounded: they end up in logs and status.
        FUZZ_CHECK(producer->name.size() <= 128);
        FUZZ_CHECK(producer->label.size() <= 256);
        FUZZ_CHECK(producer->pid >= 0);
    } else if (const auto* subscriber = std::get_if<SubscriberHello>(&hello)) {
        FUZZ_CHECK(subscriber->channel_mask != 0);
        FUZZ_CHECK(subscriber->history_seconds >= 0);
        FUZZ_CHECK(!std::isnan(subscriber->history_seconds));
        FUZZ_CHECK(subscriber->kind == StreamKind::spice || subscriber->kind == StreamKind::usb_vsock);
        for (const auto& name : subscriber->channel_names) FUZZ_CHECK(spice_channel_type_from_name(name));
    }
}

void check_event(const ProducerEvent& event) {
    FUZZ_CHECK(event.json.is_object());
    const auto check_channel = [](StreamKind kind, std::uint8_t channel_type) {
        if (kind == StreamKind::spice) FUZZ_CHECK(spice_channel_name(channel_type));
        else FUZZ_CHECK(channel_type == 0);
    };
    if (const auto* opened = std::get_if<ChannelOpened>(&event.event.what)) check_channel(opened->kind, opened->channel_type);
    if (const auto* closed = std::get_if<ChannelClosed>(&event.event.what)) check_channel(closed->kind, closed->channel_type);
    // What the daemon accepted, a subscriber reads back as the same event (its JSON spelling is one).
    if (!std::holds_alternative<UnknownEvent>(event.event.what)) {
        auto again = parse_event(event_to_json(event.event).dump());
        FUZZ_CHECK(again && again->what == event.event.what);
    }
    // The daemon forwards the event to subscribers with fields added (Hub::log_event): that must serialise.
    auto forwarded = event.json;
    forwarded["session"] = 1;
    forwarded["timestamp_ns"] = std::uint64_t{1'700'000'000'000'000'000};
    FUZZ_CHECK(!forwarded.dump().empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const FrameType types[] = {FrameType::hello, FrameType::event, FrameType::request};
    ByteBuffer frame;
    append_frame(frame, types[data[0] % 3], std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
    FrameDecoder decoder(kMaxJsonFrameBytes);
    decoder.feed(frame);
    auto decoded = decoder.next();
    if (!decoded) return 0;  // refused before any parser sees it
    FUZZ_CHECK(decoded->has_value());
    const std::string_view body = (*decoded)->text();
    switch (data[0] % 3) {
        case 0:
            if (auto hello = parse_hello(body)) check_hello(*hello);
            else FUZZ_CHECK(!hello.error().empty());
            break;
        case 1:
            if (auto event = parse_producer_event(body)) check_event(*event);
            else FUZZ_CHECK(!event.error().empty());
            break;
        case 2:
            if (auto request = parse_request(body)) (void)request->size();
            else FUZZ_CHECK(!request.error().empty());
            break;
    }
    return 0;
}
