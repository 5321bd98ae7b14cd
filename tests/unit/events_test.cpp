// EVENT bodies as types (common/wire/events.hpp): every event round-trips through its JSON, the JSON is
// the one docs/protocol.md §6.3 shows, and every broken known event is refused with a sentence.
#include <doctest/doctest.h>

#include "wire/events.hpp"

using namespace spicecap;

TEST_CASE("every event round-trips through its JSON body") {
    const Event events[] = {
        Event{ChannelOpened{StreamKind::spice, 2, 1, HeaderMode::full}},
        Event{ChannelOpened{StreamKind::usb_vsock, 0, 3, HeaderMode::mini}},
        Event{ChannelClosed{StreamKind::spice, 4, 0, "producer disconnected"}, 7, 1700000000500000000},
        Event{ChannelClosed{StreamKind::spice, 11, 255, ""}},
        Event{ProducerDrops{12, 4096}, 3, 5},
    };
    for (const Event& event : events) {
        const std::string text = event_to_json(event).dump();
        CAPTURE(text);
        auto back = parse_event(text);
        REQUIRE_MESSAGE(back, (back ? "" : back.error()));
        CHECK(*back == event);
    }
}

TEST_CASE("events are spelled as docs/protocol.md shows them") {
    const auto opened = event_to_json(Event{ChannelOpened{StreamKind::spice, 2, 0, HeaderMode::mini}});
    CHECK(opened == nlohmann::json::parse(
                        R"({"event":"channel_opened","kind":"spice","channel_type":2,"channel_id":0,"header":"mini"})"));
    const auto closed = event_to_json(Event{ChannelClosed{StreamKind::spice, 2, 0, "producer disconnected"}, 7, 9});
    CHECK(closed == nlohmann::json::parse(R"({"event":"channel_closed","kind":"spice","channel_type":2,"channel_id":0,)"
                                          R"("reason":"producer disconnected","session":7,"timestamp_ns":9})"));
    const auto drops = event_to_json(Event{ProducerDrops{12, 4096}});
    CHECK(drops == nlohmann::json::parse(R"({"event":"producer_stats","dropped_records":12,"dropped_bytes":4096})"));
}

TEST_CASE("unknown events and fields are not errors") {
    auto unknown = parse_event(R"({"event":"weather","sunny":true})");
    REQUIRE(unknown);
    CHECK(std::get<UnknownEvent>(unknown->what).name == "weather");
    auto extra = parse_event(R"({"event":"channel_closed","kind":"spice","channel_type":2,"channel_id":0,"colour":"red"})");
    REQUIRE(extra);
    CHECK(std::get<ChannelClosed>(extra->what).channel_type == 2);
    // The stamps are the daemon's: a producer's odd ones are ignored, not refused.
    auto odd_stamp = parse_event(R"({"event":"channel_closed","kind":"spice","channel_type":2,"channel_id":0,"session":"x"})");
    REQUIRE(odd_stamp);
    CHECK(odd_stamp->session == 0);
}

TEST_CASE("a known event with a missing or mistyped field is refused with the field named") {
    const std::pair<const char*, const char*> bad[] = {
        {R"({"kind":"spice"})", "\"event\""},
        {R"([1,2])", "not a JSON object"},
        {R"({"event":"channel_opened","channel_type":2,"channel_id":0})", "\"kind\""},
        {R"({"event":"channel_opened","kind":"serial","channel_type":2,"channel_id":0})", "unknown kind"},
        {R"({"event":"channel_opened","kind":"spice","channel_type":0,"channel_id":0})", "outside 1..11"},
        {R"({"event":"channel_closed","kind":"spice","channel_type":2,"channel_id":256})", "channel_id"},
        {R"({"event":"channel_opened","kind":"usbvsock","channel_type":3,"channel_id":0})", "must be 0"},
        {R"({"event":"channel_opened","kind":"spice","channel_type":2,"channel_id":0,"header":"huge"})", "\"header\""},
        {R"({"event":"producer_stats","dropped_records":1})", "dropped_bytes"},
        {R"({"event":"producer_stats","dropped_records":-1,"dropped_bytes":0})", "dropped_records"},
    };
    for (const auto& [body, needle] : bad) {
        CAPTURE(body);
        auto parsed = parse_event(body);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().find(needle) != std::string::npos);
    }
}
