// End to end: producer library -> spicecapd -> spicecap-extcap -> FIFO -> PcapStreamReader.
#include <algorithm>
#include <ctime>
#include <thread>

#include "bench_payload.hpp"
#include "scenarios.hpp"
#include "spicecap/producer.hpp"

namespace spicecap::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr SpiceChannel kChannel{spice_channel::display, 0};
// The window of the flow-controlled runs: enough in flight to let every stage batch, never so much that a
// producer buffer or the daemon's history would have to drop.
constexpr std::uint64_t kWindowBytes = 16 << 20;
constexpr std::uint64_t kWindowMessages = 1 << 18;
constexpr std::size_t kProducerBufferBytes = 64 << 20;
// How often (in messages) a sender looks at the clock and at the reader.
constexpr std::uint64_t kCheckEvery = 64;

std::uint64_t wall_clock_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

std::unique_ptr<Producer> connect_producer(const DaemonUnderTest& daemon) {
    ProducerOptions options;
    options.name = "spicecap-bench";
    options.session_label = "bench";
    options.socket_path = daemon.socket();
    options.buffer_bytes = kProducerBufferBytes;
    options.shutdown_timeout = std::chrono::seconds(5);
    auto producer = std::make_unique<Producer>(options);
    if (!producer->capturing()) throw std::runtime_error("the producer could not connect: " + producer->last_error());
    producer->channel_opened(kChannel);
    return producer;
}

std::uint64_t daemon_dropped_records(const DaemonUnderTest& daemon) {
    return daemon.status()["totals"]["dropped_records"].get<std::uint64_t>();
}

// Waits until the reader has `expected` messages, or until nothing arrived for `quiet`.
void wait_for_reader(PcapStreamReader& reader, std::uint64_t expected, std::chrono::milliseconds quiet) {
    std::uint64_t seen = reader.messages();
    auto last_change = Clock::now();
    while (seen < expected && Clock::now() - last_change < quiet) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (const auto now_seen = reader.messages(); now_seen != seen) {
            seen = now_seen;
            last_change = Clock::now();
        }
    }
}

double process_cpu_seconds() {
    timespec cpu{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    return static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) / 1e9;
}

// What is read just before the first message is sent, to be subtracted at the end.
struct RunBaseline {
    Clock::time_point start;
    std::uint64_t daemon_dropped = 0;
    double daemon_cpu = 0;
    double extcap_cpu = 0;
    double process_cpu = 0;
};

RunBaseline take_baseline(const DaemonUnderTest& daemon, const ExtcapCapture& capture) {
    RunBaseline b;
    b.daemon_dropped = daemon_dropped_records(daemon);
    b.daemon_cpu = daemon.cpu_seconds();
    b.extcap_cpu = capture.cpu_seconds();
    b.process_cpu = process_cpu_seconds();
    b.start = Clock::now();
    return b;
}

// Everything after the last message was sent: flush, wait for the far end, count.
DeliveryResult finish_run(Producer& producer, const DaemonUnderTest& daemon, ExtcapCapture& capture,
                          const RunBaseline& baseline, std::size_t message_bytes, std::uint64_t sent) {
    producer.flush(std::chrono::seconds(30));
    const auto stats = producer.stats();
    wait_for_reader(capture.reader(), sent - stats.dropped_records, std::chrono::seconds(2));
    const auto end = capture.reader().last_message_time();
    const double daemon_cpu = daemon.cpu_seconds() - baseline.daemon_cpu;
    const double extcap_cpu = capture.cpu_seconds() - baseline.extcap_cpu;
    const double process_cpu = process_cpu_seconds() - baseline.process_cpu;
    const PcapStreamTotals totals = capture.stop();
    if (!totals.error.empty()) throw std::runtime_error("reading the extcap's FIFO: " + totals.error);

    DeliveryResult r;
    r.message_bytes = message_bytes;
    r.sent = sent;
    r.received = totals.messages;
    r.seconds = seconds_between(baseline.start, end);
    r.records_per_second = r.seconds > 0 ? static_cast<double>(r.received) / r.seconds : 0;
    r.megabytes_per_second = r.records_per_second * static_cast<double>(message_bytes) / 1e6;
    r.lost = sent - std::min(sent, r.received);
    r.producer_dropped = stats.dropped_records;
    r.daemon_dropped = daemon_dropped_records(daemon) - baseline.daemon_dropped;
    r.tcp_gaps = totals.tcp_gaps;
    r.sequence_breaks = totals.sequence_breaks;
    if (r.received > 0) {
        const auto per_message_us = [&](double seconds) { return seconds * 1e6 / static_cast<double>(r.received); };
        r.producer_cpu_us = per_message_us(process_cpu - totals.cpu_seconds);
        r.daemon_cpu_us = per_message_us(daemon_cpu);
        r.extcap_cpu_us = per_message_us(extcap_cpu);
        r.reader_cpu_us = per_message_us(totals.cpu_seconds);
    }
    return r;
}

}  // namespace

DeliveryResult run_e2e_throughput(const BenchContext& context, const DaemonUnderTest& daemon, std::size_t message_bytes,
                                  const std::string& format) {
    ExtcapCapture capture(context.programs, daemon, context.dir, "e2e-" + format + "-" + std::to_string(message_bytes),
                          false, format);
    auto producer = connect_producer(daemon);
    auto message = make_bench_message(message_bytes);
    const std::uint64_t window = std::clamp<std::uint64_t>(kWindowBytes / message_bytes, 16, kWindowMessages);
    const auto duration = context.throughput_duration();

    PcapStreamReader& reader = capture.reader();
    const RunBaseline baseline = take_baseline(daemon, capture);
    const auto start = baseline.start;
    std::uint64_t sent = 0;
    for (bool stalled = false; !stalled;) {
        if (sent % kCheckEvery == 0) {
            if (Clock::now() - start >= duration) break;
            // Full window: let the pipeline drain instead of competing with it for the two cores. A pipeline
            // that lost messages never drains: the run ends and the losses are counted.
            while (!stalled && sent - reader.messages() >= window) {
                std::this_thread::sleep_for(std::chrono::microseconds(50));
                stalled = Clock::now() - start > duration + std::chrono::seconds(5);
            }
            if (stalled) break;
        }
        BenchPayloadHeader{.sequence = sent, .sent_ns = 0}.write_to(message);
        producer->packet_received(kChannel, message);
        ++sent;
    }
    DeliveryResult r = finish_run(*producer, daemon, capture, baseline, message_bytes, sent);
    r.method = "flow-controlled, window " + std::to_string(window) + " messages";
    return r;
}

DeliveryResult run_e2e_paced(const BenchContext& context, const DaemonUnderTest& daemon, std::size_t message_bytes,
                             double messages_per_second, std::chrono::milliseconds duration) {
    ExtcapCapture capture(context.programs, daemon, context.dir, "paced-" + std::to_string(message_bytes), false);
    auto producer = connect_producer(daemon);
    auto message = make_bench_message(message_bytes);
    const auto total = static_cast<std::uint64_t>(messages_per_second * std::chrono::duration<double>(duration).count());

    const RunBaseline baseline = take_baseline(daemon, capture);
    const auto start = baseline.start;
    std::uint64_t sent = 0;
    while (sent < total) {
        // Send whatever is due by now, then sleep a little: bursts of about 50 us worth of messages.
        const double elapsed = seconds_between(start, Clock::now());
        const auto due = std::min(total, static_cast<std::uint64_t>(elapsed * messages_per_second));
        for (; sent < due; ++sent) {
            BenchPayloadHeader{.sequence = sent, .sent_ns = 0}.write_to(message);
            producer->packet_received(kChannel, message);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    DeliveryResult r = finish_run(*producer, daemon, capture, baseline, message_bytes, sent);
    r.method = "open loop at " + std::to_string(static_cast<std::uint64_t>(messages_per_second)) + " messages/s";
    return r;
}

LatencyResult run_e2e_latency(const BenchContext& context, const DaemonUnderTest& daemon, double messages_per_second,
                              std::chrono::milliseconds duration) {
    ExtcapCapture capture(context.programs, daemon, context.dir, "latency", true);
    auto producer = connect_producer(daemon);
    auto message = make_bench_message(64);
    const auto total = static_cast<std::uint64_t>(messages_per_second * std::chrono::duration<double>(duration).count());
    const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / messages_per_second));

    const auto start = Clock::now();
    for (std::uint64_t i = 0; i < total; ++i) {
        std::this_thread::sleep_until(start + i * interval);
        // The send time goes into the payload and is the record's timestamp too (what Wireshark shows).
        const std::uint64_t now = wall_clock_ns();
        BenchPayloadHeader{.sequence = i, .sent_ns = now}.write_to(message);
        producer->packet_received(kChannel, message, now);
    }
    producer->flush(std::chrono::seconds(5));
    wait_for_reader(capture.reader(), total, std::chrono::seconds(2));
    PcapStreamTotals totals = capture.stop();
    if (!totals.error.empty()) throw std::runtime_error("reading the extcap's FIFO: " + totals.error);

    LatencyResult r;
    auto& l = totals.latencies_ns;
    r.samples = l.size();
    r.lost = total - std::min<std::uint64_t>(total, totals.messages);
    if (!l.empty()) {
        std::sort(l.begin(), l.end());
        const auto at = [&](double q) { return static_cast<double>(l[static_cast<std::size_t>(q * static_cast<double>(l.size() - 1))]) / 1e6; };
        r.p50_ms = at(0.50);
        r.p99_ms = at(0.99);
        r.max_ms = static_cast<double>(l.back()) / 1e6;
    }
    return r;
}

}  // namespace spicecap::bench
