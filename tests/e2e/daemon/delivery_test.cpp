// Fan-out: 4 producers x 3 subscribers x 100,000 records each, all delivered to every subscriber exactly
// once and in order per channel and direction, with the right session ids.
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "harness.hpp"

using namespace spicecap;
using namespace spicecap::test;

namespace {

constexpr int kProducers = 4;
constexpr int kSubscribers = 3;
constexpr std::uint32_t kRecordsPerProducer = 100'000;
constexpr std::size_t kPayloadBytes = 64;
constexpr std::uint8_t kChannelTypes = 4;  // main, display, inputs, cursor

// Stream of record i of a producer: channel type 1..4, direction alternating every 4 records.
std::uint8_t channel_of(std::uint32_t i) { return static_cast<std::uint8_t>(1 + i % kChannelTypes); }
Direction direction_of(std::uint32_t i) { return static_cast<Direction>((i / kChannelTypes) % 2); }

struct SubscriberResult {
    std::uint64_t records = 0;
    std::uint64_t drops = 0;
    std::uint64_t out_of_order = 0;
    std::uint64_t wrong_session = 0;
    std::map<std::uint64_t, std::uint32_t> next_seq;  // (session, channel, direction) -> next sequence number
};

}  // namespace

TEST_CASE("spicecapd: 4 producers x 3 subscribers x 100000 records arrive exactly once in per-channel order") {
    TempDir dir;
    const auto socket = dir.path() / "d.sock";
    auto daemon = DaemonProcess::start(socket, {}, dir.path() / "spicecapd.log");

    // Subscribers first (no history): they must see everything from the first record on.
    std::vector<std::unique_ptr<Client>> subscribers;
    for (int s = 0; s < kSubscribers; ++s) {
        subscribers.push_back(std::make_unique<Client>(socket));
        auto reply = subscribers.back()->hello(subscriber_hello("spice"));
        REQUIRE(reply["ok"] == true);
    }

    std::vector<std::unique_ptr<Client>> producers;
    std::map<std::uint32_t, int> producer_of_session;
    for (int p = 0; p < kProducers; ++p) {
        producers.push_back(std::make_unique<Client>(socket));
        auto reply = producers.back()->hello(producer_hello("fanout-test", "producer " + std::to_string(p)));
        REQUIRE(reply["ok"] == true);
        producer_of_session[reply["session"].get<std::uint32_t>()] = p;
    }
    REQUIRE(producer_of_session.size() == kProducers);

    const std::uint64_t expected = std::uint64_t{kProducers} * kRecordsPerProducer;
    std::vector<SubscriberResult> results(kSubscribers);
    std::vector<std::thread> readers;
    for (int s = 0; s < kSubscribers; ++s) {
        readers.emplace_back([&, s] {
            SubscriberResult& r = results[s];
            while (r.records < expected) {
                auto frame = subscribers[s]->read_frame(std::chrono::seconds(30));
                if (!frame) break;
                if (frame->type == FrameType::drop) ++r.drops;
                if (frame->type != FrameType::record) continue;
                auto record = Record::parse(frame->body);
                if (!record || record->payload.size() != kPayloadBytes) {
                    ++r.out_of_order;
                    continue;
                }
                std::uint32_t producer = 0, seq = 0;
                std::memcpy(&producer, record->payload.data(), 4);
                std::memcpy(&seq, record->payload.data() + 4, 4);
                auto owner = producer_of_session.find(record->header.session);
                if (owner == producer_of_session.end() || owner->second != static_cast<int>(producer)) ++r.wrong_session;
                const std::uint64_t key = std::uint64_t{record->header.session} << 32 |
                                          std::uint64_t{record->header.channel_type} << 8 |
                                          static_cast<std::uint8_t>(record->header.direction);
                std::uint32_t& next = r.next_seq[key];
                if (seq != next) ++r.out_of_order;
                next = seq + 1;
                ++r.records;
            }
        });
    }

    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> writers;
    for (int p = 0; p < kProducers; ++p) {
        writers.emplace_back([&, p] {
            std::map<std::uint32_t, std::uint32_t> seq;  // (channel, direction) -> next
            Bytes batch;
            Bytes payload(kPayloadBytes, 0x5a);
            for (std::uint32_t i = 0; i < kRecordsPerProducer; ++i) {
                const auto channel = channel_of(i);
                const auto direction = direction_of(i);
                std::uint32_t& n = seq[std::uint32_t{channel} << 8 | static_cast<std::uint8_t>(direction)];
                const std::uint32_t index = static_cast<std::uint32_t>(p);
                std::memcpy(payload.data(), &index, 4);
                std::memcpy(payload.data() + 4, &n, 4);
                ++n;
                append_record(batch, StreamKind::spice, direction, channel, 0, payload);
                if (batch.size() > 256 * 1024) {
                    REQUIRE(producers[p]->send(batch));
                    batch.clear();
                }
            }
            REQUIRE(producers[p]->send(batch));
        });
    }
    for (auto& w : writers) w.join();
    const double send_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (auto& r : readers) r.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    MESSAGE("producers sent ", expected, " records in ", send_seconds, " s; all subscribers done after ", seconds,
            " s (", static_cast<double>(expected) * kSubscribers / seconds / 1e6, " M deliveries/s)");

    for (int s = 0; s < kSubscribers; ++s) {
        CAPTURE(s);
        const SubscriberResult& r = results[s];
        CHECK(r.records == expected);
        CHECK(r.drops == 0);
        CHECK(r.out_of_order == 0);
        CHECK(r.wrong_session == 0);
        // Every stream got all its records: 4 producers x 4 channels x 2 directions.
        CHECK(r.next_seq.size() == kProducers * kChannelTypes * 2);
        for (const auto& [key, next] : r.next_seq) CHECK(next == kRecordsPerProducer / (kChannelTypes * 2));
    }

    // Nothing more arrives: no duplicates after the last record (only the channel_closed events once the
    // producers hang up).
    producers.clear();
    for (auto& sub : subscribers) {
        while (auto frame = sub->read_frame(std::chrono::milliseconds(300))) CHECK(frame->type == FrameType::event);
    }
    CHECK(daemon->stop(SIGTERM) == 0);
}
