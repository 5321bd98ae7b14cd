// spicecapd's core without sockets: the record log, subscribers reading it (order, selection, preamble,
// DROP accounting when they fall behind), HELLO/EVENT parsing and the command line. These run under
// the sanitizers with the other unit tests; tests/e2e/daemon drives the real process.
#include <doctest/doctest.h>

#include <cstring>
#include <map>

#include "hello.hpp"
#include "hub.hpp"
#include "options.hpp"
#include "record_log.hpp"
#include "wire/frame.hpp"
#include "wire/record.hpp"

using namespace spicecap;
using namespace spicecap::daemon;

namespace {

using Bytes = std::vector<std::uint8_t>;

// Feeds encoded frames to the hub as a producer connection would.
struct FakeProducer {
    Hub& hub;
    Session& session;

    void record(std::uint8_t channel_type, Direction direction, const Bytes& payload, std::uint64_t ts = 1000) {
        RecordHeader h;
        h.kind = StreamKind::spice;
        h.direction = direction;
        h.channel_type = channel_type;
        h.timestamp_ns = ts;
        Bytes frame;
        append_record_frame(frame, h, payload);
        feed(frame, ts == 0 ? 1000 : ts);
    }
    void event(const std::string& json, std::uint64_t ts = 1000) {
        Bytes frame;
        append_frame(frame, FrameType::event, std::string_view(json));
        feed(frame, ts);
    }
    void feed(const Bytes& frame, std::uint64_t now) {
        FrameDecoder decoder;
        decoder.feed(frame);
        auto f = decoder.next();
        REQUIRE(f);
        REQUIRE(f.value());
        if ((*f)->type == FrameType::record) REQUIRE(hub.ingest_record(session, **f, now));
        else REQUIRE(hub.ingest_event(session, **f, now, nullptr));
        hub.ingest_done(now);
    }
};

struct Received {
    std::vector<Record> records;
    std::vector<Bytes> payloads;
    std::vector<DropNotice> drops;
    std::vector<nlohmann::json> events;
    std::vector<FrameType> order;
};

Received decode(const Bytes& stream) {
    Received r;
    FrameDecoder decoder;
    decoder.feed(stream);
    for (;;) {
        auto f = decoder.next();
        REQUIRE(f);
        if (!f.value()) break;
        r.order.push_back((*f)->type);
        if ((*f)->type == FrameType::record) {
            auto rec = Record::parse((*f)->body);
            REQUIRE(rec);
            r.payloads.emplace_back(rec->payload.begin(), rec->payload.end());
            r.records.push_back(*rec);
        } else if ((*f)->type == FrameType::drop) {
            auto d = DropNotice::parse((*f)->body);
            REQUIRE(d);
            r.drops.push_back(*d);
        } else {
            r.events.push_back(nlohmann::json::parse((*f)->text()));
        }
    }
    CHECK(decoder.buffered_bytes() == 0);
    return r;
}

Bytes drain(Hub& hub, Subscriber& s) {
    Bytes all;
    for (;;) {
        Bytes batch;
        s.fill(hub.record_log(), batch, 1 << 20, 5000);
        if (batch.empty()) return all;
        all.insert(all.end(), batch.begin(), batch.end());
    }
}

Bytes numbered(std::uint32_t n, std::size_t size = 16) {
    Bytes b(size, 0);
    std::memcpy(b.data(), &n, 4);
    return b;
}

std::uint32_t number_of(const Bytes& b) {
    std::uint32_t n = 0;
    std::memcpy(&n, b.data(), 4);
    return n;
}

SubscriberHello all_spice() {
    SubscriberHello h;
    h.channel_mask = ~0u;
    return h;
}

}  // namespace

TEST_CASE("daemon record log: positions grow and blocks go oldest first") {
    RecordLog log(4096);
    std::vector<std::uint64_t> positions;
    for (std::uint32_t i = 0; i < 100; ++i) {
        EntryHead head;
        head.frame_bytes = 100;
        head.timestamp_ns = 1000 + i;
        std::uint64_t pos = 0;
        auto space = log.append(head, &pos);
        REQUIRE(space.size() == 100);
        std::memset(space.data(), static_cast<int>(i), space.size());
        positions.push_back(pos);
    }
    CHECK(log.entry_count() == 100);
    CHECK(log.block_count() > 1);
    for (std::size_t i = 0; i < positions.size(); ++i) {
        auto e = log.entry_at(positions[i]);
        REQUIRE(e);
        CHECK(e->head.timestamp_ns == 1000 + i);
        CHECK(e->frame[0] == static_cast<std::uint8_t>(i));
        if (i + 1 < positions.size()) CHECK(e->next_position == positions[i + 1]);
    }
    CHECK_FALSE(log.entry_at(log.head_position()));
    CHECK(log.first_position_at_or_after(1050) == positions[50]);
    CHECK(log.first_position_at_or_after(99999) == log.head_position());

    const auto tail = log.tail_position();
    const auto end = log.front_end_position();
    log.evict_front();
    CHECK(log.tail_position() == end);
    CHECK(log.tail_position() > tail);
    CHECK_FALSE(log.entry_at(tail));
    while (log.block_count() > 1) log.evict_front();
    log.evict_front();  // never the last block
    CHECK(log.block_count() == 1);
    CHECK(log.entry_at(positions.back()));

    // An entry larger than a block gets a block of its own.
    EntryHead big;
    big.frame_bytes = 10000;
    std::uint64_t pos = 0;
    CHECK(log.append(big, &pos).size() == 10000);
    CHECK(log.entry_at(pos)->frame.size() == 10000);
}

TEST_CASE("daemon hub: subscribers get their selection in order with session and timestamp filled in") {
    Hub hub(DaemonLimits{}, "/test");
    auto session = hub.open_session({"test", 1, "label"});
    REQUIRE(session);
    FakeProducer p{hub, **session};

    SubscriberHello display_only = all_spice();
    display_only.channel_mask = 1u << 2;
    auto all = hub.add_subscriber(all_spice());
    auto display = hub.add_subscriber(display_only);
    SubscriberHello other_session = all_spice();
    other_session.sessions = std::vector<std::uint32_t>{(*session)->id + 1};
    auto nobody = hub.add_subscriber(other_session);
    REQUIRE(all);
    REQUIRE(display);
    REQUIRE(nobody);

    for (std::uint32_t i = 0; i < 10; ++i) p.record(i % 2 ? 2 : 1, Direction::server_to_client, numbered(i), i % 3 ? 777 : 0);
    auto got = decode(drain(hub, **all));
    REQUIRE(got.records.size() == 10);
    for (std::uint32_t i = 0; i < 10; ++i) {
        CHECK(number_of(got.payloads[i]) == i);
        CHECK(got.records[i].header.session == (*session)->id);
        CHECK(got.records[i].header.timestamp_ns == (i % 3 ? 777u : 1000u));  // 0 = stamped on arrival (1000)
    }
    auto display_got = decode(drain(hub, **display));
    REQUIRE(display_got.records.size() == 5);
    for (const auto& r : display_got.records) CHECK(r.header.channel_type == 2);
    CHECK(drain(hub, **nobody).empty());
    CHECK((*all)->delivered_records() == 10);
}

TEST_CASE("daemon hub: a subscriber that falls behind gets DROPs that account for every skipped record") {
    DaemonLimits limits;
    limits.history_bytes = 0;  // keep nothing for history
    limits.subscriber_queue_bytes = 0;  // and no backlog: every full block goes at once
    Hub hub(limits, "/test");
    auto session = hub.open_session({"test", 1, ""});
    REQUIRE(session);
    FakeProducer p{hub, **session};
    auto slow = hub.add_subscriber(all_spice());
    REQUIRE(slow);

    p.event(R"({"event":"channel_opened","kind":"spice","channel_type":2,"channel_id":0})");
    constexpr std::uint32_t kRecords = 1000;
    std::map<int, std::uint32_t> sent;
    for (std::uint32_t i = 0; i < kRecords; ++i) {
        const auto dir = static_cast<Direction>(i % 2);
        p.record(2, dir, numbered(sent[int(dir)]++, 4000));
    }
    CHECK(hub.record_log().block_count() == 1);  // everything older was released
    CHECK((*slow)->dropped_records() > 0);

    const auto got = decode(drain(hub, **slow));
    // The channel_opened event survived the drop; DROPs come before the next records of the channel.
    REQUIRE_FALSE(got.events.empty());
    CHECK(got.events[0]["event"] == "channel_opened");
    CHECK(got.order[0] == FrameType::event);
    CHECK(got.order[1] == FrameType::drop);
    std::map<int, std::uint64_t> next;
    std::uint64_t dropped_bytes = 0;
    for (const auto& d : got.drops) {
        next[int(d.where.direction)] += d.records;
        dropped_bytes += d.bytes;
        CHECK(d.where.session == (*session)->id);
        CHECK(d.where.channel_type == 2);
        CHECK(d.where.timestamp_ns == 5000);
    }
    for (std::size_t i = 0; i < got.records.size(); ++i) {
        const int dir = int(got.records[i].header.direction);
        CHECK(number_of(got.payloads[i]) == next[dir]);
        next[dir] = number_of(got.payloads[i]) + 1;
    }
    CHECK(next[0] == sent[0]);
    CHECK(next[1] == sent[1]);
    CHECK(got.records.size() + (*slow)->dropped_records() == kRecords);
    CHECK(dropped_bytes == (*slow)->dropped_bytes());
    CHECK(dropped_bytes == (*slow)->dropped_records() * 4000);
}

TEST_CASE("daemon hub: a subscriber within its queue allowance keeps the log alive") {
    DaemonLimits limits;
    limits.history_bytes = 0;
    limits.subscriber_queue_bytes = 64 * 1024 * 1024;
    Hub hub(limits, "/test");
    auto session = hub.open_session({"test", 1, ""});
    REQUIRE(session);
    FakeProducer p{hub, **session};
    auto subscriber = hub.add_subscriber(all_spice());
    for (std::uint32_t i = 0; i < 2000; ++i) p.record(1, Direction::client_to_server, numbered(i, 4000));
    CHECK(hub.record_log().block_count() > 1);
    CHECK((*subscriber)->dropped_records() == 0);
    const auto got = decode(drain(hub, **subscriber));
    CHECK(got.records.size() == 2000);
    CHECK(got.drops.empty());
    // Once it caught up, the history limit (0) applies again.
    p.record(1, Direction::client_to_server, numbered(2000));
    CHECK(hub.record_log().block_count() == 1);
}

TEST_CASE("daemon hub: late subscribers get channel_opened and the link stage once then history") {
    DaemonLimits limits;
    Hub hub(limits, "/test");
    auto session = hub.open_session({"test", 1, ""});
    REQUIRE(session);
    FakeProducer p{hub, **session};
    p.event(R"({"event":"channel_opened","kind":"spice","channel_type":1,"channel_id":0,"header":"mini"})");
    const auto c2s = Direction::client_to_server, s2c = Direction::server_to_client;
    p.record(1, c2s, {'R', 'E', 'D', 'Q', 1});
    p.record(1, s2c, {'r', 'e', 'p', 'l', 'y'});
    p.record(1, c2s, {'t', 'i', 'c', 'k', 't'});
    p.record(1, s2c, {0, 0, 0, 0});
    p.record(1, s2c, {'d', 'a', 't', 'a'});

    auto late = hub.add_subscriber(all_spice());
    REQUIRE(late);
    const auto got = decode(drain(hub, **late));
    REQUIRE(got.order.size() == 5);
    CHECK(got.order[0] == FrameType::event);
    CHECK(got.events[0]["event"] == "channel_opened");
    CHECK(got.events[0]["session"] == (*session)->id);
    REQUIRE(got.payloads.size() == 4);
    CHECK(got.payloads[0][0] == 'R');
    CHECK(got.payloads[3] == Bytes{0, 0, 0, 0});  // the link result ends the stage: "data" is not in it

    // A new REDQ replaces the stage; channel_closed forgets it.
    p.record(1, c2s, {'R', 'E', 'D', 'Q', 2});
    auto second = hub.add_subscriber(all_spice());
    const auto got2 = decode(drain(hub, **second));
    REQUIRE(got2.payloads.size() == 1);
    CHECK(got2.payloads[0][4] == 2);
    p.event(R"({"event":"channel_closed","kind":"spice","channel_type":1,"channel_id":0})");
    auto third = hub.add_subscriber(all_spice());
    CHECK(drain(hub, **third).empty());
}

TEST_CASE("daemon hub: history replay skips what the preamble already gave") {
    Hub hub(DaemonLimits{}, "/test");
    auto session = hub.open_session({"test", 1, ""});
    REQUIRE(session);
    FakeProducer p{hub, **session};
    const std::uint64_t now = wall_clock_ns();
    p.record(3, Direction::client_to_server, {'R', 'E', 'D', 'Q'}, now);
    p.record(3, Direction::server_to_client, {1}, now);
    p.record(3, Direction::client_to_server, {2}, now);
    p.record(3, Direction::server_to_client, {3}, now);
    for (std::uint8_t i = 10; i < 15; ++i) p.record(3, Direction::client_to_server, {i}, now);
    SubscriberHello hello = all_spice();
    hello.history_seconds = 60;
    auto late = hub.add_subscriber(hello);
    const auto got = decode(drain(hub, **late));
    REQUIRE(got.payloads.size() == 9);  // 4 link-stage records once, then 5 history records
    CHECK(got.payloads[0] == Bytes{'R', 'E', 'D', 'Q'});
    for (std::uint8_t i = 0; i < 5; ++i) CHECK(got.payloads[4 + i] == Bytes{static_cast<std::uint8_t>(10 + i)});
}

TEST_CASE("daemon hub: limits on producers and subscribers and bad records") {
    DaemonLimits limits;
    limits.max_producers = 1;
    limits.max_subscribers = 1;
    Hub hub(limits, "/test");
    auto one = hub.open_session({"a", 1, ""});
    REQUIRE(one);
    auto two = hub.open_session({"b", 2, ""});
    REQUIRE_FALSE(two);
    CHECK(two.error() == "too many producers (limit 1)");
    hub.close_session(**one);
    CHECK(hub.open_session({"c", 3, ""}));
    auto s1 = hub.add_subscriber(all_spice());
    REQUIRE(s1);
    CHECK_FALSE(hub.add_subscriber(all_spice()));
    hub.remove_subscriber(**s1);
    CHECK(hub.add_subscriber(all_spice()));

    auto session = hub.open_session({"d", 4, ""});  // limit reached again
    CHECK_FALSE(session);
}

TEST_CASE("daemon hello: roles fields and errors") {
    auto producer = parse_hello(R"({"version":1,"role":"producer","name":"ryll","pid":42,"session":"vm"})");
    REQUIRE(producer);
    auto& p = std::get<ProducerHello>(*producer);
    CHECK(p.name == "ryll");
    CHECK(p.pid == 42);
    CHECK(p.label == "vm");

    auto sub = parse_hello(R"({"version":1,"role":"subscriber","kind":"spice","channels":["main","webdav"],"sessions":[3,4],"history_seconds":2.5})");
    REQUIRE(sub);
    auto& s = std::get<SubscriberHello>(*sub);
    CHECK(s.kind == StreamKind::spice);
    CHECK(s.channel_mask == ((1u << 1) | (1u << 11)));
    CHECK(s.sessions == std::vector<std::uint32_t>{3, 4});
    CHECK(s.history_seconds == 2.5);
    auto everything = parse_hello(R"({"version":1,"role":"subscriber","kind":"usbvsock","channels":[]})");
    REQUIRE(everything);
    CHECK(std::get<SubscriberHello>(*everything).channel_mask == ~0u);
    CHECK_FALSE(std::get<SubscriberHello>(*everything).sessions);
    CHECK(std::holds_alternative<ControlHello>(*parse_hello(R"({"version":1,"role":"control"})")));

    const std::pair<const char*, const char*> bad[] = {
        {R"({"role":"control"})", "HELLO has no \"version\""},
        {R"({"version":"1","role":"control"})", "HELLO \"version\" must be an integer"},
        {R"({"version":2,"role":"control"})", "unsupported protocol version 2 (this daemon speaks 1)"},
        {R"({"version":1})", "HELLO needs \"role\""},
        {R"({"version":1,"role":"admin"})", "unknown role \"admin\""},
        {R"({"version":1,"role":"producer"})", "producer HELLO needs \"name\""},
        {R"({"version":1,"role":"producer","name":7})", "\"name\" must be a string"},
        {R"({"version":1,"role":"producer","name":"x","pid":-1})", "\"pid\" must be an integer >= 0"},
        {R"({"version":1,"role":"subscriber"})", "subscriber HELLO needs \"kind\""},
        {R"({"version":1,"role":"subscriber","kind":"usb"})", "unknown kind \"usb\""},
        {R"({"version":1,"role":"subscriber","kind":"spice","channels":["video"]})", "unknown SPICE channel \"video\""},
        {R"({"version":1,"role":"subscriber","kind":"usbvsock","channels":["main"]})", "\"channels\" applies to kind \"spice\" only"},
        {R"({"version":1,"role":"subscriber","kind":"spice","sessions":[-3]})", "\"sessions\" must be an array of session ids"},
        {R"({"version":1,"role":"subscriber","kind":"spice","history_seconds":-1})", "\"history_seconds\" must be a number >= 0"},
    };
    for (const auto& [json, error] : bad) {
        CAPTURE(json);
        auto r = parse_hello(json);
        REQUIRE_FALSE(r);
        CHECK(r.error().find(error) != std::string::npos);
    }
}

TEST_CASE("daemon events: known events are checked and forwarded as the producer wrote them") {
    auto opened = parse_producer_event(R"({"event":"channel_opened","kind":"spice","channel_type":2,"channel_id":1,"header":"full","extra":7})");
    REQUIRE(opened);
    CHECK(opened->event.what == Event{ChannelOpened{StreamKind::spice, 2, 1, HeaderMode::full}}.what);
    CHECK(opened->json.value("extra", 0) == 7);  // fields the daemon does not know reach subscribers
    auto unknown = parse_producer_event(R"({"event":"weather","sunny":true})");
    REQUIRE(unknown);
    CHECK(std::get<UnknownEvent>(unknown->event.what).name == "weather");
    CHECK_FALSE(parse_producer_event(R"({"event":"producer_stats","dropped_records":1})"));
}

TEST_CASE("daemon options: defaults sizes and errors") {
    auto parse = [](std::vector<std::string> args) {
        std::vector<char*> argv{const_cast<char*>("spicecapd")};
        for (auto& a : args) argv.push_back(a.data());
        return parse_command_line(static_cast<int>(argv.size()), argv.data());
    };
    auto defaults = parse({});
    REQUIRE(defaults);
    CHECK(defaults->options.limits.max_frame_bytes == 16u * 1024 * 1024);
    CHECK(defaults->options.limits.history_bytes == 64u * 1024 * 1024);
    CHECK_FALSE(defaults->options.socket);

    auto set = parse({"--socket", "/x.sock", "--history-bytes=2M", "--subscriber-queue-bytes", "512KiB", "--history-seconds",
                      "1.5", "--max-producers", "3", "--verbose"});
    REQUIRE(set);
    CHECK(*set->options.socket == "/x.sock");
    CHECK(set->options.limits.history_bytes == 2u * 1024 * 1024);
    CHECK(set->options.limits.subscriber_queue_bytes == 512u * 1024);
    CHECK(set->options.limits.history_seconds == 1.5);
    CHECK(set->options.limits.max_producers == 3);
    CHECK(set->options.verbose);
    CHECK(parse({"--help"})->action == CommandLineAction::help);
    CHECK(parse({"--version"})->action == CommandLineAction::version);

    CHECK(parse_byte_count("1G") == 1ull << 30);
    CHECK(parse_byte_count("7") == 7u);
    CHECK_FALSE(parse_byte_count("M"));
    CHECK_FALSE(parse_byte_count("-1"));
    CHECK_FALSE(parse_byte_count("99999999999999999999"));
    CHECK_FALSE(parse_byte_count("18446744073709551615G"));

    CHECK_FALSE(parse({"--socket"}));
    CHECK_FALSE(parse({"--max-frame-bytes", "10"}));  // below 1024
    CHECK_FALSE(parse({"--max-producers", "0"}));
    // Connection counts are plain numbers: no byte suffixes, and the error does not speak of bytes.
    auto suffixed = parse({"--max-subscribers", "2K"});
    REQUIRE_FALSE(suffixed);
    CHECK(suffixed.error() == "--max-subscribers wants a number from 1 to 100000, got \"2K\"");
    CHECK_FALSE(parse({"--history-seconds", "-2"}));
    CHECK_FALSE(parse({"--history-seconds", "soon"}));
    auto unknown = parse({"--turbo"});
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error() == "unknown option \"--turbo\" (see --help)");
}
