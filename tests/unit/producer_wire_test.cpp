// spicecap::Producer against a real Unix socket speaking the daemon's side of docs/protocol.md: the exact
// HELLO, RECORD and EVENT frames it sends, and what it does with a daemon that answers late, refuses, limits
// frame sizes, or goes away and comes back.
#include <doctest/doctest.h>

#include <chrono>
#include <ctime>
#include <thread>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "eventually.hpp"
#include "producer_listener.hpp"
#include "spicecap/producer.hpp"

using namespace spicecap;
using namespace std::chrono_literals;
using test::ProtocolListener;
using test::ReceivedConnection;
using test::eventually;
using test::TempSocketPath;

namespace {

using Bytes = std::vector<std::uint8_t>;
using Connections = std::vector<ReceivedConnection>;

ProducerOptions options_for(const std::string& path) {
    ProducerOptions options;
    options.name = "wire-test";
    options.session_label = "vm \"one\"";
    options.socket_path = path;
    return options;
}


std::uint64_t wall_clock_ns() {
    timespec now;
    ::clock_gettime(CLOCK_REALTIME, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(now.tv_nsec);
}

// Every EVENT of a connection, parsed.
std::vector<nlohmann::json> events_of(const ReceivedConnection& c) {
    std::vector<nlohmann::json> events;
    for (const auto& [type, text] : c.frames) {
        if (type == FrameType::event) events.push_back(nlohmann::json::parse(text));
    }
    return events;
}

void check_exact_accounting(const ProducerStats& s) {
    CHECK(s.accepted_records == s.delivered_records + s.dropped_records);
    CHECK(s.accepted_bytes == s.delivered_bytes + s.dropped_bytes);
}

}  // namespace

TEST_CASE("producer: HELLO carries version role name pid and session label") {
    TempSocketPath socket;
    ProtocolListener listener(socket.path());
    Producer producer(options_for(socket.path()));
    // The constructor connects synchronously when a daemon runs, so the very first message is captured.
    CHECK(producer.capturing());
    const auto stats = producer.stats();
    CHECK(stats.connected);
    CHECK(stats.session == 7);
    CHECK(stats.connections == 1);

    auto connections = listener.connections();
    REQUIRE(connections.size() == 1);
    const auto hello = nlohmann::json::parse(connections[0].hello);
    CHECK(hello == nlohmann::json{{"version", 1}, {"role", "producer"}, {"name", "wire-test"},
                                  {"pid", ::getpid()}, {"session", "vm \"one\""}});
}

TEST_CASE("producer: SPICE records carry direction channel timestamp and the channel's header mode") {
    TempSocketPath socket;
    ProtocolListener listener(socket.path());
    Producer producer(options_for(socket.path()));
    REQUIRE(producer.capturing());

    const Bytes link = {'R', 'E', 'D', 'Q', 2, 0, 0, 0, 2, 0, 0, 0};
    const Bytes reply = {'R', 'E', 'D', 'Q', 9, 9};
    producer.packet_sent({spice_channel::main, 0}, link, 1700000000123456789ull);
    producer.channel_opened({spice_channel::display, 1}, HeaderMode::full);
    producer.packet_received({spice_channel::display, 1}, reply.data(), reply.size(), 42);
    const auto before = wall_clock_ns();
    producer.packet_sent({spice_channel::display, 0}, std::span<const std::uint8_t>{});  // empty, stamped now
    const auto after = wall_clock_ns();
    REQUIRE(producer.flush(10s));

    REQUIRE(listener.wait_until([](const Connections& c) { return c.size() == 1 && c[0].record_count == 3; }, 10s));
    const auto c = listener.connections()[0];
    REQUIRE(c.records.size() == 3);

    const auto& first = c.records[0];
    CHECK(first.header.kind == StreamKind::spice);
    CHECK(first.header.direction == Direction::client_to_server);
    CHECK(first.header.channel_type == 1);
    CHECK(first.header.channel_id == 0);
    CHECK(first.header.session == 0);
    CHECK(first.header.timestamp_ns == 1700000000123456789ull);
    CHECK(first.header.flags == 0);
    CHECK(first.payload == link);

    const auto& second = c.records[1];
    CHECK(second.header.direction == Direction::server_to_client);
    CHECK(second.header.channel_type == 2);
    CHECK(second.header.channel_id == 1);
    CHECK(second.header.timestamp_ns == 42);
    CHECK(second.header.flags == kRecordFlagFullHeader);  // display 1 was opened with full headers
    CHECK(second.payload == reply);

    const auto& third = c.records[2];
    CHECK(third.header.channel_id == 0);
    CHECK(third.header.flags == 0);  // display 0 was not
    CHECK(third.payload.empty());
    CHECK(third.header.timestamp_ns >= before);
    CHECK(third.header.timestamp_ns <= after);

    // The frame order on the wire is the call order: RECORD, EVENT (channel_opened), RECORD, RECORD.
    REQUIRE(c.frames.size() == 4);
    CHECK(c.frames[1].first == FrameType::event);
    CHECK(nlohmann::json::parse(c.frames[1].second) ==
          nlohmann::json::parse(R"({"event":"channel_opened","kind":"spice","channel_type":2,"channel_id":1,"header":"full"})"));

    const auto stats = producer.stats();
    CHECK(stats.accepted_records == 3);
    CHECK(stats.delivered_records == 3);
    CHECK(stats.delivered_bytes == link.size() + reply.size());
    CHECK(stats.dropped_records == 0);
}

TEST_CASE("producer: USB vsock transfers are kind 2 with channel_id = link") {
    TempSocketPath socket;
    ProtocolListener listener(socket.path());
    Producer producer(options_for(socket.path()));
    REQUIRE(producer.capturing());

    // A vsock Sync packet: "ffx" 'S' and zero addresses, payload "vsock:1".
    Bytes sync = {'f', 'f', 'x', 'S', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0};
    sync.insert(sync.end(), {'v', 's', 'o', 'c', 'k', ':', '1'});
    producer.usb_transfer_out(0, sync, 5);
    producer.usb_transfer_in(3, sync.data(), 24, 6);
    REQUIRE(producer.flush(10s));
    REQUIRE(listener.wait_until([](const Connections& c) { return c[0].record_count == 2; }, 10s));
    const auto records = listener.connections()[0].records;
    CHECK(records[0].header.kind == StreamKind::usb_vsock);
    CHECK(records[0].header.direction == Direction::host_to_device);
    CHECK(records[0].header.channel_type == 0);
    CHECK(records[0].header.channel_id == 0);
    CHECK(records[0].header.timestamp_ns == 5);
    CHECK(records[0].payload == sync);
    CHECK(records[1].header.direction == Direction::device_to_host);
    CHECK(records[1].header.channel_id == 3);
    CHECK(records[1].payload == Bytes(sync.begin(), sync.begin() + 24));
}

TEST_CASE("producer: channel events and their replay on every new connection") {
    TempSocketPath socket;
    ProtocolListener listener(socket.path());
    ProducerOptions options = options_for(socket.path());
    Producer producer(options);
    REQUIRE(producer.capturing());

    producer.channel_opened({spice_channel::main, 0});
    producer.channel_opened({spice_channel::display, 0}, HeaderMode::full);
    producer.channel_opened({spice_channel::inputs, 0});
    producer.channel_closed({spice_channel::inputs, 0});
    REQUIRE(producer.flush(10s));
    REQUIRE(listener.wait_until([](const Connections& c) { return c[0].frames.size() == 4; }, 10s));
    auto events = events_of(listener.connections()[0]);
    REQUIRE(events.size() == 4);
    CHECK(events[0] == nlohmann::json::parse(R"({"event":"channel_opened","kind":"spice","channel_type":1,"channel_id":0,"header":"mini"})"));
    CHECK(events[3] == nlohmann::json::parse(R"({"event":"channel_closed","kind":"spice","channel_type":3,"channel_id":0})"));

    // The daemon goes away and comes back: the new connection starts with the channels still open.
    listener.kill();
    REQUIRE(eventually([&] { return !producer.capturing(); }));
    listener.restart();
    REQUIRE(eventually([&] { return producer.capturing(); }));
    producer.packet_sent({spice_channel::display, 0}, Bytes{1, 2, 3});
    REQUIRE(producer.flush(10s));
    REQUIRE(listener.wait_until([](const Connections& c) { return c.size() == 2 && c[1].record_count == 1; }, 10s));
    const auto second = listener.connections()[1];
    CHECK(second.frames_before_reply == 0);
    REQUIRE(second.frames.size() == 3);
    CHECK(nlohmann::json::parse(second.frames[0].second) ==
          nlohmann::json::parse(R"({"event":"channel_opened","kind":"spice","channel_type":1,"channel_id":0,"header":"mini"})"));
    CHECK(nlohmann::json::parse(second.frames[1].second) ==
          nlohmann::json::parse(R"({"event":"channel_opened","kind":"spice","channel_type":2,"channel_id":0,"header":"full"})"));
    CHECK(second.frames[2].first == FrameType::record);
    CHECK(second.records[0].header.flags == kRecordFlagFullHeader);
    CHECK(producer.stats().connections == 2);
}

TEST_CASE("producer: nothing is sent or counted before the daemon's REPLY") {
    TempSocketPath socket;
    ProtocolListener::Options slow;
    slow.reply_delay = 300ms;
    ProtocolListener listener(socket.path(), slow);
    ProducerOptions options = options_for(socket.path());
    options.connect_timeout = 20ms;  // the constructor gives up; the sender thread waits for the REPLY
    const auto start = std::chrono::steady_clock::now();
    Producer producer(options);
    CHECK(std::chrono::steady_clock::now() - start < 250ms);
    CHECK_FALSE(producer.capturing());
    CHECK(producer.last_error().find("did not answer the HELLO within 20 ms") != std::string::npos);

    for (int i = 0; i < 100; ++i) producer.packet_sent({spice_channel::main, 0}, Bytes{1, 2, 3});
    CHECK(producer.stats().accepted_records == 0);

    REQUIRE(eventually([&] { return producer.capturing(); }));
    producer.packet_sent({spice_channel::main, 0}, Bytes{4});
    REQUIRE(producer.flush(10s));
    REQUIRE(listener.wait_until([](const Connections& c) { return !c.empty() && c.back().record_count == 1; }, 10s));
    for (const auto& c : listener.connections()) CHECK(c.frames_before_reply == 0);
    CHECK(listener.total_records() == 1);
    CHECK(producer.stats().accepted_records == 1);
}

TEST_CASE("producer: a refusing daemon is retried and its reason kept") {
    TempSocketPath socket;
    ProtocolListener::Options refusing;
    refusing.reply = R"json({"ok":false,"error":"too many producers (limit 64)"})json";
    ProtocolListener listener(socket.path(), refusing);
    Producer producer(options_for(socket.path()));
    CHECK_FALSE(producer.capturing());
    CHECK(producer.last_error() == "the daemon refused the connection: too many producers (limit 64)");
    producer.packet_sent({spice_channel::main, 0}, Bytes{1});
    CHECK(producer.stats().accepted_records == 0);
    // Backoff 100 ms, then 200 ms: at least 3 attempts within a second.
    CHECK(listener.wait_until([](const Connections& c) { return c.size() >= 3; }, 10s));
    CHECK(producer.stats().connections == 0);
}

TEST_CASE("producer: messages above the daemon's frame limit are dropped and counted") {
    TempSocketPath socket;
    ProtocolListener::Options small;
    small.reply = R"({"ok":true,"session":3,"max_frame_bytes":1000})";
    ProtocolListener listener(socket.path(), small);
    Producer producer(options_for(socket.path()));
    REQUIRE(producer.capturing());
    const Bytes largest(1000 - 21, 0xab);  // length = type + header + payload = 1000
    const Bytes too_large(1000 - 20, 0xcd);
    producer.packet_sent({spice_channel::display, 0}, largest);
    producer.packet_sent({spice_channel::display, 0}, too_large);
    REQUIRE(producer.flush(10s));
    const auto stats = producer.stats();
    CHECK(stats.delivered_records == 1);
    CHECK(stats.dropped_records == 1);
    CHECK(stats.dropped_bytes == too_large.size());
    check_exact_accounting(stats);
    REQUIRE(listener.wait_until([](const Connections& c) { return c[0].frames.size() == 2; }, 10s));
    const auto c = listener.connections()[0];
    CHECK(c.records[0].payload == largest);
    // The drop is reported to the daemon.
    CHECK(events_of(c).back() == nlohmann::json::parse(R"({"event":"producer_stats","dropped_records":1,"dropped_bytes":980})"));
}

TEST_CASE("producer: invalid channel types and null data are dropped without harming the connection") {
    TempSocketPath socket;
    ProtocolListener listener(socket.path());
    Producer producer(options_for(socket.path()));
    REQUIRE(producer.capturing());
    producer.packet_sent({0, 0}, Bytes{1, 2});
    producer.packet_received({12, 0}, Bytes{1, 2, 3});
    producer.packet_sent({spice_channel::main, 0}, nullptr, 10);
    producer.usb_transfer_in(0, nullptr, 4);
    producer.channel_opened({200, 0});
    CHECK(producer.last_error() == "channel_opened: SPICE channel type 200 is outside 1..11; ignored");
    producer.packet_sent({spice_channel::main, 0}, Bytes{9});
    REQUIRE(producer.flush(10s));
    const auto stats = producer.stats();
    CHECK(stats.accepted_records == 5);
    CHECK(stats.invalid_records == 4);
    CHECK(stats.dropped_records == 4);
    CHECK(stats.dropped_bytes == 2 + 3 + 10 + 4);
    CHECK(stats.delivered_records == 1);
    REQUIRE(listener.wait_until([](const Connections& c) { return c[0].record_count == 1; }, 10s));
    const auto c = listener.connections()[0];
    CHECK(c.protocol_error.empty());
    CHECK_FALSE(c.closed);
    CHECK(c.records[0].payload == Bytes{9});
}

TEST_CASE("producer: set_enabled(false) stops counting and sending but keeps channel events") {
    TempSocketPath socket;
    ProtocolListener listener(socket.path());
    ProducerOptions options = options_for(socket.path());
    options.enabled = false;
    Producer producer(options);
    CHECK_FALSE(producer.enabled());
    CHECK_FALSE(producer.capturing());
    CHECK(producer.stats().connected);
    producer.channel_opened({spice_channel::cursor, 0});
    producer.packet_sent({spice_channel::cursor, 0}, Bytes{1});
    producer.set_enabled(true);
    CHECK(producer.capturing());
    producer.packet_sent({spice_channel::cursor, 0}, Bytes{2});
    producer.set_enabled(false);
    producer.packet_sent({spice_channel::cursor, 0}, Bytes{3});
    REQUIRE(producer.flush(10s));
    CHECK(producer.stats().accepted_records == 1);
    REQUIRE(listener.wait_until([](const Connections& c) { return c[0].frames.size() == 2; }, 10s));
    const auto c = listener.connections()[0];
    CHECK(c.frames[0].first == FrameType::event);
    REQUIRE(c.records.size() == 1);
    CHECK(c.records[0].payload == Bytes{2});
}

TEST_CASE("producer: a full buffer drops and counts and the daemon hears about it") {
    TempSocketPath socket;
    ProtocolListener listener(socket.path());
    ProducerOptions options = options_for(socket.path());
    options.buffer_bytes = 64 * 1024;
    Producer producer(options);
    REQUIRE(producer.capturing());

    listener.pause_reading();  // a stalled daemon: the socket fills, then the buffer
    // Report until messages are dropped and the sender has made no progress for 3 rounds: the socket is full.
    const Bytes message(1000, 0x5a);
    std::uint64_t calls = 0;
    std::uint64_t delivered_before = ~std::uint64_t{0};
    int rounds_without_progress = 0;
    ProducerStats stats;
    for (int round = 0; round < 300 && rounds_without_progress < 3; ++round) {
        for (int i = 0; i < 200; ++i, ++calls) producer.packet_received({spice_channel::display, 0}, message);
        std::this_thread::sleep_for(30ms);
        stats = producer.stats();
        rounds_without_progress = stats.dropped_records > 0 && stats.delivered_records == delivered_before ? rounds_without_progress + 1 : 0;
        delivered_before = stats.delivered_records;
    }
    CHECK(stats.accepted_records == calls);
    REQUIRE(stats.dropped_records > 0);
    CHECK_FALSE(producer.flush(100ms));  // nothing moves while the daemon does not read

    listener.resume_reading();
    REQUIRE(producer.flush(5s));
    stats = producer.stats();
    check_exact_accounting(stats);
    CHECK(stats.dropped_bytes == stats.dropped_records * message.size());
    REQUIRE(listener.wait_until([&](const Connections& c) { return c[0].record_count == stats.delivered_records; }, 5s));

    // What arrived is exactly what was delivered, and the producer_stats events add up to the drops.
    const auto c = listener.connections()[0];
    CHECK(c.record_payload_bytes == stats.delivered_bytes);
    std::uint64_t reported_records = 0, reported_bytes = 0;
    for (const auto& event : events_of(c)) {
        REQUIRE(event["event"] == "producer_stats");
        reported_records += event["dropped_records"].get<std::uint64_t>();
        reported_bytes += event["dropped_bytes"].get<std::uint64_t>();
    }
    CHECK(reported_records == stats.dropped_records);
    CHECK(reported_bytes == stats.dropped_bytes);
}

TEST_CASE("producer: a stalled daemon never delays the destructor beyond its timeout") {
    TempSocketPath socket;
    ProtocolListener listener(socket.path());
    ProducerOptions options = options_for(socket.path());
    options.shutdown_timeout = 100ms;
    auto producer = std::make_unique<Producer>(options);
    REQUIRE(producer->capturing());
    listener.pause_reading();
    const Bytes message(4096, 1);
    for (int i = 0; i < 5000; ++i) producer->packet_sent({spice_channel::display, 0}, message);
    const auto start = std::chrono::steady_clock::now();
    producer.reset();
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(took >= 100ms);
    CHECK(took < 600ms);
}

TEST_CASE("producer: records lost with a broken connection are counted and reported on the next one") {
    TempSocketPath socket;
    ProtocolListener listener(socket.path());
    Producer producer(options_for(socket.path()));
    REQUIRE(producer.capturing());
    listener.pause_reading();
    const Bytes message(1000, 7);
    for (int i = 0; i < 3000; ++i) producer.packet_sent({spice_channel::display, 0}, message);
    listener.kill();  // unread data is discarded, like a killed daemon
    REQUIRE(eventually([&] { return !producer.capturing(); }));
    REQUIRE(producer.flush(1s));  // disconnected: everything is settled (as dropped)
    const auto lost = producer.stats();
    check_exact_accounting(lost);
    CHECK(lost.dropped_records > 0);
    // What the listener read before it died is at most what was written.
    CHECK(listener.total_records() <= lost.delivered_records);

    listener.restart();
    REQUIRE(eventually([&] { return producer.capturing(); }));
    REQUIRE(producer.flush(10s));
    REQUIRE(listener.wait_until([](const Connections& c) { return c.size() == 2 && !c[1].frames.empty(); }, 10s));
    const auto events = events_of(listener.connections()[1]);
    REQUIRE(events.size() == 1);
    CHECK(events[0]["event"] == "producer_stats");
    CHECK(events[0]["dropped_records"].get<std::uint64_t>() == lost.dropped_records);
    CHECK(events[0]["dropped_bytes"].get<std::uint64_t>() == lost.dropped_bytes);
}
