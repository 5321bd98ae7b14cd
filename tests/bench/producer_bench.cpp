// The cost of a producer call (design §9: capture off <= 2 ns; capture on <= 100 ns median for 64 B).
// Built with the project, not run by CTest (timings need a quiet machine and a Release build):
//
//     cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release && cmake --build build-release --target producer_bench
//     build-release/tests/bench/producer_bench --benchmark_repetitions=10 --benchmark_report_aggregates_only=true
//
// Capture on needs something at the other end of the socket. By default an in-process sink accepts the
// connection, answers the HELLO and reads and discards everything as fast as it can (the cheapest possible
// daemon); with SPICECAP_BENCH_SOCKET=PATH the producer talks to the spicecapd listening there instead.
// The "delivered" counter says which share of the calls reached the socket rather than being dropped
// because the buffer was full: the two paths cost about the same (a lock and a copy vs a lock and a count).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <x86intrin.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "spicecap/producer.h"
#include "spicecap/producer.hpp"
#include "temp_dir.hpp"

namespace {

// Accepts producers, replies to their HELLO and discards everything else.
class DiscardingDaemon {
public:
    DiscardingDaemon() : dir_("spicecap-bench"), path_((dir_.path() / "spicecapd.sock").string()) {
        listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listen_fd_, 16) != 0) {
            throw std::runtime_error("cannot listen at " + path_);
        }
        thread_ = std::thread([this] { run(); });
    }
    ~DiscardingDaemon() {
        stop_ = true;
        ::shutdown(listen_fd_, SHUT_RDWR);
        thread_.join();
        ::close(listen_fd_);
    }
    const std::string& path() const { return path_; }

private:
    void run() {
        std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
        std::vector<char> buffer(1 << 20);
        while (!stop_) {
            if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
            for (std::size_t i = 1; i < fds.size(); ++i) {
                if (fds[i].fd < 0 || fds[i].revents == 0) continue;
                const ssize_t n = ::read(fds[i].fd, buffer.data(), buffer.size());
                if (n <= 0) {
                    ::close(fds[i].fd);
                    fds[i].fd = -1;  // poll ignores it
                }
            }
            if (fds[0].revents != 0) {
                const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
                if (fd < 0) continue;
                // The HELLO is the first frame; the REPLY can go at once (the producer reads nothing else).
                static const char reply[] = "\x33\x00\x00\x00\x02{\"ok\":true,\"session\":1,\"max_frame_bytes\":16777216}";
                [[maybe_unused]] auto written = ::write(fd, reply, sizeof reply - 1);
                fds.push_back({fd, POLLIN, 0});
            }
        }
        for (std::size_t i = 1; i < fds.size(); ++i) {
            if (fds[i].fd >= 0) ::close(fds[i].fd);
        }
    }

    spicecap::test::TempDir dir_;  // declared before path_, which is made from it
    std::string path_;
    int listen_fd_ = -1;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// The daemon to talk to: SPICECAP_BENCH_SOCKET, or a DiscardingDaemon made on first use.
std::string daemon_socket() {
    if (const char* path = std::getenv("SPICECAP_BENCH_SOCKET"); path != nullptr && *path != '\0') return path;
    static DiscardingDaemon sink;
    return sink.path();
}

spicecap::ProducerOptions bench_options(std::string socket) {
    spicecap::ProducerOptions options;
    options.name = "producer_bench";
    options.socket_path = std::move(socket);
    return options;
}

constexpr spicecap::SpiceChannel kDisplay{spicecap::spice_channel::display, 0};

std::string missing_socket() { return "/nonexistent/spicecap-bench/spicecapd.sock"; }

// Capture off because no daemon runs.
void BM_packet_sent_no_daemon(benchmark::State& state) {
    spicecap::Producer producer(bench_options(missing_socket()));
    std::array<std::uint8_t, 64> message{};
    for (auto _ : state) {
        producer.packet_sent(kDisplay, message);
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_packet_sent_no_daemon);

// Capture off with set_enabled(false) while connected.
void BM_packet_sent_turned_off(benchmark::State& state) {
    spicecap::Producer producer(bench_options(daemon_socket()));
    producer.set_enabled(false);
    std::array<std::uint8_t, 64> message{};
    for (auto _ : state) {
        producer.packet_sent(kDisplay, message);
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_packet_sent_turned_off);

// The C API, capture off: an exported function call around the same load.
void BM_c_packet_sent_no_daemon(benchmark::State& state) {
    spicecap_producer* producer = spicecap_producer_new("producer_bench", nullptr, missing_socket().c_str(), 0);
    unsigned char message[64] = {};
    for (auto _ : state) {
        spicecap_packet_sent(producer, SPICECAP_CHANNEL_DISPLAY, 0, message, sizeof message, 0);
        benchmark::ClobberMemory();
    }
    spicecap_producer_free(producer);
}
BENCHMARK(BM_c_packet_sent_no_daemon);

// Capture on: encode + copy into the buffer; timestamp taken by the call (0) or given by the caller.
void capture_on(benchmark::State& state, bool caller_timestamp) {
    spicecap::Producer producer(bench_options(daemon_socket()));
    if (!producer.capturing()) {
        state.SkipWithError(("no daemon: " + producer.last_error()).c_str());
        return;
    }
    std::vector<std::uint8_t> message(static_cast<std::size_t>(state.range(0)), 0x5a);
    const auto before = producer.stats();
    std::uint64_t timestamp = caller_timestamp ? 1700000000000000000ull : 0;
    for (auto _ : state) {
        producer.packet_sent(kDisplay, message, timestamp);
        if (caller_timestamp) ++timestamp;
    }
    producer.flush(std::chrono::seconds(10));
    const auto after = producer.stats();
    const auto accepted = static_cast<double>(after.accepted_records - before.accepted_records);
    // In a tight loop, large messages mostly take the drop path (no sender can keep up with a copy every
    // few tens of ns), so this share says which path was measured.
    state.counters["delivered"] = accepted > 0 ? static_cast<double>(after.delivered_records - before.delivered_records) / accepted : 0;
}
void BM_packet_sent_capture_on(benchmark::State& state) { capture_on(state, false); }
void BM_packet_sent_capture_on_caller_timestamp(benchmark::State& state) { capture_on(state, true); }
BENCHMARK(BM_packet_sent_capture_on)->Arg(64)->Arg(1024)->Arg(65536);
BENCHMARK(BM_packet_sent_capture_on_caller_timestamp)->Arg(64);

// Capture on, 64 B: the median and 99th percentile of single calls, each timed with the TSC (the timing
// overhead, measured the same way around nothing, is subtracted). Means are inflated by every preemption
// (the sender and the daemon share the cores with the caller); the median is what one call costs.
void BM_packet_sent_capture_on_per_call(benchmark::State& state) {
    spicecap::Producer producer(bench_options(daemon_socket()));
    if (!producer.capturing()) {
        state.SkipWithError(("no daemon: " + producer.last_error()).c_str());
        return;
    }
    std::array<std::uint8_t, 64> message{};
    auto ticks = [] {
        _mm_lfence();
        const std::uint64_t t = __rdtsc();
        _mm_lfence();
        return t;
    };
    std::vector<std::uint64_t> calls, empty;
    calls.reserve(1 << 20);
    empty.reserve(1 << 20);
    const auto wall_start = std::chrono::steady_clock::now();
    const std::uint64_t tsc_start = ticks();
    for (auto _ : state) {
        std::uint64_t t0 = ticks();
        std::uint64_t t1 = ticks();
        empty.push_back(t1 - t0);
        t0 = ticks();
        producer.packet_sent(kDisplay, message);
        t1 = ticks();
        calls.push_back(t1 - t0);
    }
    const double ns_per_tick = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - wall_start).count() /
                               static_cast<double>(ticks() - tsc_start);
    std::sort(calls.begin(), calls.end());
    std::sort(empty.begin(), empty.end());
    const auto at = [](const std::vector<std::uint64_t>& v, double q) { return static_cast<double>(v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))]); };
    const double overhead = at(empty, 0.5);
    state.counters["median_ns"] = (at(calls, 0.5) - overhead) * ns_per_tick;
    state.counters["p90_ns"] = (at(calls, 0.9) - overhead) * ns_per_tick;
    state.counters["p99_ns"] = (at(calls, 0.99) - overhead) * ns_per_tick;
    producer.flush(std::chrono::seconds(10));
    const auto stats = producer.stats();
    state.counters["delivered"] = static_cast<double>(stats.delivered_records) / static_cast<double>(stats.accepted_records);
}
BENCHMARK(BM_packet_sent_capture_on_per_call)->Iterations(1 << 20);

// Capture on from 4 threads at once (channels of one client), sharing one producer.
void BM_packet_sent_capture_on_threads(benchmark::State& state) {
    static std::unique_ptr<spicecap::Producer> producer;
    if (state.thread_index() == 0) producer = std::make_unique<spicecap::Producer>(bench_options(daemon_socket()));
    // Google Benchmark starts the timed loop of all threads together, after this setup.
    std::array<std::uint8_t, 64> message{};
    const spicecap::SpiceChannel channel{static_cast<std::uint8_t>(1 + state.thread_index()), 0};
    for (auto _ : state) producer->packet_sent(channel, message);
    if (state.thread_index() == 0) {
        producer->flush(std::chrono::seconds(10));
        const auto stats = producer->stats();
        state.counters["delivered"] = static_cast<double>(stats.delivered_records) / static_cast<double>(stats.accepted_records);
    }
}
BENCHMARK(BM_packet_sent_capture_on_threads)->Threads(4)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
