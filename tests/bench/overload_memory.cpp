// Daemon memory under overload (design §9): a subscriber that never reads, a producer offering ten times
// what the pipeline sustains, small explicit limits; spicecapd's peak RSS must stay under
// history + queue + 32 MiB.
#include <algorithm>
#include <thread>

#include "bench_payload.hpp"
#include "scenarios.hpp"
#include "spicecap/producer.hpp"

namespace spicecap::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kHistoryBytes = 16 << 20;
constexpr std::uint64_t kQueueBytes = 8 << 20;
constexpr std::uint64_t kSlackBytes = 32 << 20;
constexpr SpiceChannel kChannel{spice_channel::display, 0};

}  // namespace

OverloadMemoryResult run_overload_memory(const BenchContext& context, double sustained_messages_per_second,
                                         std::size_t message_bytes) {
    DaemonUnderTest daemon(context.programs, context.dir, "overload",
                           {"--history-bytes", std::to_string(kHistoryBytes), "--subscriber-queue-bytes",
                            std::to_string(kQueueBytes)});
    OverloadMemoryResult r;
    r.history_bytes = kHistoryBytes;
    r.queue_bytes = kQueueBytes;
    r.bound_bytes = kHistoryBytes + kQueueBytes + kSlackBytes;
    r.message_bytes = message_bytes;
    r.idle_rss_bytes = proc_status_kib(daemon.pid(), "VmRSS").value_or(0) * 1024;
    r.target_messages_per_second = 10 * sustained_messages_per_second;

    StalledCapture stalled(context.programs, daemon, context.dir, "stalled");
    ProducerOptions options;
    options.name = "spicecap-bench-overload";
    options.socket_path = daemon.socket();  // the default 8 MiB buffer, as a real producer has
    Producer producer(options);
    if (!producer.capturing()) throw std::runtime_error("the producer could not connect: " + producer.last_error());
    producer.channel_opened(kChannel);

    auto message = make_bench_message(message_bytes);
    const auto duration = context.quick ? std::chrono::milliseconds(3000) : std::chrono::milliseconds(10000);
    const auto start = Clock::now();
    std::uint64_t sent = 0;
    for (;;) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        if (elapsed >= std::chrono::duration<double>(duration).count()) break;
        const auto due = static_cast<std::uint64_t>(elapsed * r.target_messages_per_second);
        // Whatever is due, in chunks, so the clock is read often enough to end on time.
        for (std::uint64_t n = 0; sent < due && n < 4096; ++n, ++sent) {
            BenchPayloadHeader{.sequence = sent, .sent_ns = 0}.write_to(message);
            producer.packet_received(kChannel, message);
        }
        if (sent >= due) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    r.offered_messages_per_second = static_cast<double>(sent) / r.seconds;
    producer.flush(std::chrono::seconds(10));
    // Give the daemon the time to take in what the producer wrote before reading its peak.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));

    r.peak_rss_bytes = proc_status_kib(daemon.pid(), "VmHWM").value_or(0) * 1024;
    const auto status = daemon.status();
    r.daemon_records = status["totals"]["records"].get<std::uint64_t>();
    r.daemon_bytes = status["totals"]["bytes"].get<std::uint64_t>();
    for (const auto& subscriber : status["subscribers"]) {
        r.stalled_dropped_records += subscriber["dropped_records"].get<std::uint64_t>();
    }
    return r;
}

}  // namespace spicecap::bench
