// Hostile and broken clients: each is cut off with a logged reason, while a good producer's records all
// reach a subscriber and the daemon keeps serving.
#include <doctest/doctest.h>

#include <csignal>
#include <cstring>
#include <functional>
#include <random>
#include <thread>

#include "harness.hpp"

using namespace spicecap;
using namespace spicecap::test;

namespace {

Bytes frame_of(FrameType type, std::string_view body) {
    Bytes out;
    append_frame(out, type, body);
    return out;
}

Bytes hello_bytes() { return frame_of(FrameType::hello, producer_hello("hostile", "bad").dump()); }

struct Hostile {
    const char* what;
    Bytes bytes;          // sent right after connecting
    bool hang_up;         // close our side right after sending
    std::string logged;   // what the daemon's log line must say
};

}  // namespace

TEST_CASE("spicecapd: hostile producers are cut off with a logged reason while a good producer is unaffected") {
    TempDir dir;
    const auto socket = dir.path() / "d.sock";
    auto daemon = DaemonProcess::start(socket, {}, dir.path() / "spicecapd.log");

    std::vector<Hostile> cases;
    {
        Bytes b = hello_bytes();
        const Bytes partial = {104, 0, 0, 0, 3};  // a RECORD announcing 103 more bytes
        b.insert(b.end(), partial.begin(), partial.end());
        b.insert(b.end(), 30, 0x11);
        cases.push_back({"truncated frame then hang-up", b, true, "stream ended inside a frame (35 of 108 bytes)"});
    }
    {
        Bytes b = hello_bytes();
        const Bytes huge = {0xf0, 0xff, 0xff, 0xff, 3};
        b.insert(b.end(), huge.begin(), huge.end());
        cases.push_back({"length 0xFFFFFFF0", b, false, "frame length 4294967280 exceeds the limit of 16777216 bytes"});
    }
    {
        Bytes b = hello_bytes();
        const Bytes unknown = {1, 0, 0, 0, 9};
        b.insert(b.end(), unknown.begin(), unknown.end());
        cases.push_back({"unknown frame type", b, false, "unknown frame type 9"});
    }
    cases.push_back({"HELLO not JSON", frame_of(FrameType::hello, "hello, daemon"), false, "HELLO body is not a JSON object"});
    {
        Bytes b;
        append_record(b, StreamKind::spice, Direction::client_to_server, 1, 0, bytes_of("early"));
        cases.push_back({"RECORD before HELLO", b, false, "the first frame is RECORD, not HELLO"});
    }
    {
        Bytes b(1024 * 1024);
        std::mt19937 rng(20240601);
        for (auto& x : b) x = static_cast<std::uint8_t>(rng());
        cases.push_back({"1 MiB of random bytes", b, false, "protocol error"});
    }
    {
        Bytes b = hello_bytes();
        Bytes body(20, 0);
        body[0] = 7;  // no such stream kind
        append_frame(b, FrameType::record, std::span<const std::uint8_t>(body));
        cases.push_back({"RECORD with a bad kind", b, false, "bad RECORD: unknown stream kind 7"});
    }
    {
        Bytes b = hello_bytes();
        const Bytes zero = {0, 0, 0, 0};
        b.insert(b.end(), zero.begin(), zero.end());
        cases.push_back({"zero length", b, false, "frame length is 0"});
    }
    {
        Bytes b = frame_of(FrameType::hello, subscriber_hello("spice").dump());
        append_frame(b, FrameType::request, std::string_view(R"({"command":"status"})"));
        cases.push_back({"subscriber that sends after HELLO", b, false, "subscribers send nothing after HELLO, got REQUEST"});
    }
    {
        Bytes b = hello_bytes();
        append_frame(b, FrameType::event, std::string_view(R"({"event":"channel_opened","kind":"spice","channel_type":99,"channel_id":0})"));
        cases.push_back({"event with a bad channel type", b, false, "bad EVENT: channel_opened: SPICE channel_type 99 is outside 1..11"});
    }
    cases.push_back({"unsupported version", frame_of(FrameType::hello, R"({"version":2,"role":"producer","name":"x"})"), false,
                     "unsupported protocol version 2 (this daemon speaks 1)"});

    // The good pair runs through all of it.
    constexpr std::uint32_t kGood = 50'000;
    Client subscriber(socket);
    REQUIRE(subscriber.hello(subscriber_hello("spice"))["ok"] == true);
    Client good(socket);
    const auto good_session = good.hello(producer_hello("good", "good"))["session"].get<std::uint32_t>();
    std::thread good_writer([&] {
        Bytes batch;
        for (std::uint32_t i = 0; i < kGood; ++i) {
            Bytes payload(32, 0);
            std::memcpy(payload.data(), &i, 4);
            append_record(batch, StreamKind::spice, Direction::server_to_client, 2, 0, payload);
            if (i % 500 == 499) {
                REQUIRE(good.send(batch));
                batch.clear();
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        }
        REQUIRE(good.send(batch));
    });

    for (const Hostile& h : cases) {
        CAPTURE(h.what);
        Client bad(socket);
        bad.send(h.bytes);  // may fail half-way: the daemon can close first
        if (h.hang_up) bad.shutdown_write();
        // The daemon closes the connection; an error REPLY may come first.
        std::optional<std::string> error;
        while (auto frame = bad.read_frame(std::chrono::seconds(5))) {
            if (frame->type == FrameType::reply && frame->json()["ok"] == false) error = frame->json()["error"];
        }
        CHECK(bad.eof());
        if (!h.hang_up) {
            REQUIRE(error);
            CHECK(error->find(h.logged) != std::string::npos);
        }
        CHECK_MESSAGE(daemon->wait_log(h.logged, std::chrono::seconds(5)), daemon->log_text());
    }
    good_writer.join();

    std::uint32_t next = 0, wrong = 0;
    subscriber.read_frames([&](const FrameView& f) {
        if (f.type != FrameType::record) return true;
        auto r = Record::parse(f.body);
        REQUIRE(r);
        if (r->header.session != good_session) return true;
        std::uint32_t i = 0;
        std::memcpy(&i, r->payload.data(), 4);
        if (i != next) ++wrong;
        next = i + 1;
        return next < kGood;
    });
    CHECK(next == kGood);
    CHECK(wrong == 0);

    // Still serving, and counting.
    Client control(socket);
    REQUIRE(control.hello({{"version", 1}, {"role", "control"}})["ok"] == true);
    REQUIRE(control.send_json(FrameType::request, {{"command", "status"}}));
    auto status = control.read_frame()->json()["status"];
    CHECK(status["totals"]["protocol_errors"].get<int>() == static_cast<int>(cases.size()));
    CHECK(daemon->stop(SIGTERM) == 0);
}

TEST_CASE("spicecapd: limits on producers subscribers frame size and idle connections") {
    TempDir dir;
    const auto socket = dir.path() / "d.sock";
    auto daemon = DaemonProcess::start(socket,
                                       {"--max-producers", "2", "--max-subscribers", "1", "--max-frame-bytes", "4096",
                                        "--max-other-connections", "2"},
                                       dir.path() / "spicecapd.log");
    {
        Client p1(socket), p2(socket);
        REQUIRE(p1.hello(producer_hello("p", "1"))["ok"] == true);
        REQUIRE(p2.hello(producer_hello("p", "2"))["ok"] == true);
        Client p3(socket);
        auto refused = p3.hello(producer_hello("p", "3"));
        CHECK(refused["ok"] == false);
        CHECK(refused["error"] == "too many producers (limit 2)");
        CHECK(p3.wait_eof(std::chrono::seconds(5)));

        Client s1(socket);
        REQUIRE(s1.hello(subscriber_hello())["ok"] == true);
        Client s2(socket);
        auto refused_sub = s2.hello(subscriber_hello());
        CHECK(refused_sub["ok"] == false);
        CHECK(refused_sub["error"] == "too many subscribers (limit 1)");

        // A record just over the frame limit closes that producer only.
        Bytes big;
        append_record(big, StreamKind::spice, Direction::client_to_server, 1, 0, Bytes(4096 - 21 + 1, 0));
        p1.send(big);
        CHECK(p1.wait_eof(std::chrono::seconds(5)));
        CHECK(daemon->wait_log("frame length 4097 exceeds the limit of 4096 bytes", std::chrono::seconds(5)));
        Bytes fits;
        append_record(fits, StreamKind::spice, Direction::client_to_server, 1, 0, Bytes(4096 - 21, 0));
        REQUIRE(p2.send(fits));
        auto got = s1.read_frame(std::chrono::seconds(5));
        REQUIRE(got);
        CHECK(got->type == FrameType::record);
        CHECK(got->body.size() == 4096 - 1);
    }

    // Connections that say nothing take "other" slots: the third is closed at once, and idle ones are
    // closed when the HELLO deadline passes.
    Client idle1(socket), idle2(socket);
    Client idle3(socket);
    CHECK(idle3.wait_eof(std::chrono::seconds(5)));
    CHECK(daemon->wait_log("too many connections without HELLO or control (limit 2)", std::chrono::seconds(5)));
    const auto start = std::chrono::steady_clock::now();
    CHECK(idle1.wait_eof(std::chrono::seconds(15)));
    CHECK(idle2.wait_eof(std::chrono::seconds(5)));
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(waited >= 8);
    CHECK(daemon->wait_log("no HELLO within the time limit", std::chrono::seconds(1)));
    // The slots are free again.
    Client control(socket);
    CHECK(control.hello({{"version", 1}, {"role", "control"}})["ok"] == true);
    CHECK(daemon->stop(SIGTERM) == 0);
}
