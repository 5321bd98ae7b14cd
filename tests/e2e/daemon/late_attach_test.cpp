// Late attach: a subscriber that connects after the link stage gets every selected open channel's
// channel_opened event and link stage first, then the history it asked for (without the link stage a
// second time), then live records.
#include <doctest/doctest.h>

#include <csignal>
#include <cstring>
#include <map>
#include <thread>

#include "harness.hpp"

using namespace spicecap;
using namespace spicecap::test;

namespace {

constexpr auto c2s = Direction::client_to_server;
constexpr auto s2c = Direction::server_to_client;

// The five link-stage messages of a channel, tagged so the test can tell them apart.
std::vector<std::pair<Direction, Bytes>> link_stage(const std::string& tag) {
    Bytes link = bytes_of("REDQ");
    const Bytes rest = bytes_of("\x02\x00\x00\x00\x02\x00\x00\x00 link message " + tag);
    link.insert(link.end(), rest.begin(), rest.end());
    return {{c2s, link},
            {s2c, bytes_of("REDQ link reply " + tag)},
            {c2s, bytes_of("auth" + tag)},
            {c2s, bytes_of("ticket " + tag + std::string(100, 't'))},
            {s2c, bytes_of("ok " + tag)}};
}

void open_channel(Client& producer, std::uint8_t type, const std::string& tag) {
    REQUIRE(producer.send_json(FrameType::event, {{"event", "channel_opened"},
                                                  {"kind", "spice"},
                                                  {"channel_type", type},
                                                  {"channel_id", 0},
                                                  {"header", "mini"}}));
    Bytes b;
    for (const auto& [dir, payload] : link_stage(tag)) append_record(b, StreamKind::spice, dir, type, 0, payload);
    REQUIRE(producer.send(b));
}

struct Seen {
    FrameType type = FrameType::record;
    std::uint32_t session = 0;
    std::uint8_t channel = 0;
    std::string payload;  // records
    nlohmann::json event;  // events
};

// Everything the subscriber receives until `quiet` passes without a frame.
std::vector<Seen> drain(Client& subscriber, std::chrono::milliseconds quiet = std::chrono::milliseconds(500)) {
    std::vector<Seen> seen;
    while (auto f = subscriber.read_frame(quiet)) {
        Seen s;
        s.type = f->type;
        if (f->type == FrameType::record) {
            auto r = Record::parse(f->body);
            REQUIRE(r);
            s.session = r->header.session;
            s.channel = r->header.channel_type;
            s.payload.assign(r->payload.begin(), r->payload.end());
        } else if (f->type == FrameType::event) {
            s.event = f->json();
            s.session = s.event.value("session", 0u);
            s.channel = s.event.value("channel_type", 0);
        }
        seen.push_back(std::move(s));
    }
    return seen;
}

void expect_preamble(const std::vector<Seen>& seen, std::size_t at, std::uint32_t session, std::uint8_t type,
                     const std::string& tag) {
    REQUIRE(seen.size() >= at + 6);
    CHECK(seen[at].type == FrameType::event);
    CHECK(seen[at].event["event"] == "channel_opened");
    CHECK(seen[at].event["session"] == session);
    CHECK(seen[at].channel == type);
    const auto stage = link_stage(tag);
    for (std::size_t i = 0; i < stage.size(); ++i) {
        const Seen& s = seen[at + 1 + i];
        CHECK(s.type == FrameType::record);
        CHECK(s.session == session);
        CHECK(s.channel == type);
        CHECK(s.payload == std::string(stage[i].second.begin(), stage[i].second.end()));
    }
}

}  // namespace

TEST_CASE("spicecapd: late subscribers get the link stages first then history then live records") {
    TempDir dir;
    const auto socket = dir.path() / "d.sock";
    // A small history, so that the link stages are long gone from it when the subscribers come.
    auto daemon = DaemonProcess::start(socket, {"--history-bytes", "2M"}, dir.path() / "spicecapd.log");

    Client producer(socket);
    const auto session = producer.hello(producer_hello("late-attach", "vm"))["session"].get<std::uint32_t>();
    open_channel(producer, 1, "main");
    open_channel(producer, 2, "display");
    {
        Bytes b;
        for (int i = 0; i < 2500; ++i) {  // 10 MiB of traffic after the link stages
            Bytes payload(4096, 'd');
            const std::string label = "data " + std::to_string(i);
            std::memcpy(payload.data(), label.data(), label.size());
            append_record(b, StreamKind::spice, i % 2 ? s2c : c2s, i % 2 ? 2 : 1, 0, payload);
        }
        REQUIRE(producer.send(b));
    }
    // Wait until the daemon has everything (status counts it).
    Client control(socket);
    REQUIRE(control.hello({{"version", 1}, {"role", "control"}})["ok"] == true);
    for (int tries = 0; tries < 200; ++tries) {
        REQUIRE(control.send_json(FrameType::request, {{"command", "status"}}));
        if (control.read_frame()->json()["status"]["totals"]["records"] == 2510) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }

    SUBCASE("no history: link stages of main then display and then live records only") {
        Client subscriber(socket);
        REQUIRE(subscriber.hello(subscriber_hello("spice"))["ok"] == true);
        Bytes live;
        append_record(live, StreamKind::spice, s2c, 2, 0, bytes_of("live"));
        REQUIRE(producer.send(live));
        const auto seen = drain(subscriber);
        REQUIRE(seen.size() == 13);
        expect_preamble(seen, 0, session, 1, "main");
        expect_preamble(seen, 6, session, 2, "display");
        CHECK(seen[12].payload == "live");
    }
    SUBCASE("a channel filter gets only that channel's link stage") {
        Client subscriber(socket);
        REQUIRE(subscriber.hello(subscriber_hello("spice", 0, {"display"}))["ok"] == true);
        const auto seen = drain(subscriber);
        REQUIRE(seen.size() == 6);
        expect_preamble(seen, 0, session, 2, "display");
    }
    SUBCASE("with history: link stages once then the history that is left") {
        // A second session whose link stage is still in the history.
        Client second(socket);
        const auto session2 = second.hello(producer_hello("late-attach", "vm2"))["session"].get<std::uint32_t>();
        open_channel(second, 4, "cursor");
        Bytes b;
        for (int i = 0; i < 10; ++i) append_record(b, StreamKind::spice, s2c, 4, 0, bytes_of("cursor data " + std::to_string(i)));
        REQUIRE(second.send(b));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));

        Client subscriber(socket);
        REQUIRE(subscriber.hello(subscriber_hello("spice", 3600))["ok"] == true);
        const auto seen = drain(subscriber);
        expect_preamble(seen, 0, session, 1, "main");
        expect_preamble(seen, 6, session, 2, "display");
        expect_preamble(seen, 12, session2, 4, "cursor");
        // Then history: the first session's last data records (what 2 MiB holds), and the second session's
        // data, each once and in order; no link-stage record a second time.
        int redq = 0, cursor_data = 0, session1_data = 0, last_data = -1, out_of_order = 0;
        for (std::size_t i = 18; i < seen.size(); ++i) {
            const Seen& s = seen[i];
            if (s.type != FrameType::record) continue;
            if (s.payload.rfind("REDQ", 0) == 0 || s.payload.rfind("auth", 0) == 0) ++redq;
            if (s.session == session2) {
                CHECK(s.payload == "cursor data " + std::to_string(cursor_data));
                ++cursor_data;
            } else {
                const int n = std::stoi(s.payload.substr(5));
                if (n != last_data + 1 && last_data != -1) ++out_of_order;
                last_data = n;
                ++session1_data;
            }
        }
        CHECK(redq == 0);
        CHECK(cursor_data == 10);
        CHECK(out_of_order == 0);
        CHECK(last_data == 2499);
        CHECK(session1_data > 100);   // some history replayed...
        CHECK(session1_data < 2500);  // ...but only what the 2 MiB history kept
    }
    CHECK(daemon->stop(SIGTERM) == 0);
}
