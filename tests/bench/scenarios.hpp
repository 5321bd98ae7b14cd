// The measurements of design §9, one function each. Every function runs real processes and returns
// what it measured; main.cpp puts them side by side.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "pipeline.hpp"

namespace spicecap::bench {

/// What every scenario needs.
struct BenchContext {
    BenchPrograms programs;
    /// A scratch folder for sockets, FIFOs and logs.
    std::filesystem::path dir;
    /// --quick: shorter runs.
    bool quick = false;

    /// How long one throughput measurement sends.
    std::chrono::milliseconds throughput_duration() const {
        return quick ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(3000);
    }
};

/// Messages pushed through a pipeline and counted at its far end.
struct DeliveryResult {
    /// Size of each message (SPICE payload or UDP payload).
    std::size_t message_bytes = 0;
    /// Messages handed to the pipeline (producer calls, or UDP datagrams sent).
    std::uint64_t sent = 0;
    /// Messages read back from the FIFO.
    std::uint64_t received = 0;
    /// From the first message sent to the last one read.
    double seconds = 0;
    /// received / seconds.
    double records_per_second = 0;
    /// received * message_bytes / seconds, in 10^6 bytes a second.
    double megabytes_per_second = 0;
    /// sent - received.
    std::uint64_t lost = 0;
    /// Of those, dropped by the producer library (its buffer was full).
    std::uint64_t producer_dropped = 0;
    /// Of those, dropped by the daemon for the capture (its status, and DROP notices).
    std::uint64_t daemon_dropped = 0;
    /// "Previous segment not captured" gaps in the synthesized TCP stream.
    std::uint64_t tcp_gaps = 0;
    /// Messages that arrived with a sequence number other than the one expected.
    std::uint64_t sequence_breaks = 0;
    /// CPU time per message received, in microseconds, of each stage: the producing process (the calls
    /// and the library's sender thread), spicecapd, the extcap (udpdump for its baseline), and the reader
    /// at the far end.
    double producer_cpu_us = 0;
    double daemon_cpu_us = 0;
    double extcap_cpu_us = 0;
    double reader_cpu_us = 0;
    /// How the run was driven, for the report.
    std::string method;
};

/// Flow-controlled: the sender keeps at most a window of messages in flight (sent, not yet read from the
/// FIFO), so the pipeline runs as fast as it can without anything being dropped. `format`: what the extcap
/// writes, "pcapng" (its default) or "pcap".
DeliveryResult run_e2e_throughput(const BenchContext& context, const DaemonUnderTest& daemon, std::size_t message_bytes,
                                  const std::string& format = "pcapng");

/// Open loop at a fixed rate for a while (no flow control): what is lost at that rate.
DeliveryResult run_e2e_paced(const BenchContext& context, const DaemonUnderTest& daemon, std::size_t message_bytes,
                             double messages_per_second, std::chrono::milliseconds duration);

/// Producer call -> record parsed from the FIFO.
struct LatencyResult {
    double p50_ms = 0;
    double p99_ms = 0;
    double max_ms = 0;
    std::uint64_t samples = 0;
    std::uint64_t lost = 0;
};
LatencyResult run_e2e_latency(const BenchContext& context, const DaemonUnderTest& daemon, double messages_per_second,
                              std::chrono::milliseconds duration);

/// The same 64 B messages through Wireshark's udpdump extcap, flow-controlled the same way (a window small
/// enough for the UDP socket buffer), so it runs as fast as it keeps up without loss.
std::optional<DeliveryResult> run_udpdump_throughput(const BenchContext& context, std::size_t message_bytes);

/// The physical limit: the same bytes through a pipe with no processing.
struct RawPipeResult {
    std::size_t write_bytes = 0;
    double megabytes_per_second = 0;
    /// CPU time of the writer and of the reader per write_bytes moved, in microseconds.
    double writer_cpu_us = 0;
    double reader_cpu_us = 0;
};
RawPipeResult run_raw_pipe(const BenchContext& context, std::size_t write_bytes);

/// Producer call cost from producer_bench (Google Benchmark), against the benchmark's spicecapd.
struct ProducerCostResult {
    /// Capture off (no daemon): ns per call.
    double off_ns = 0;
    /// Capture off by set_enabled(false) while connected: ns per call.
    double turned_off_ns = 0;
    /// Capture on, 64 B: median ns per call.
    double on_median_ns = 0;
    /// Capture on, 64 B: 99th percentile.
    double on_p99_ns = 0;
    /// Share of the timed calls whose message reached the daemon (the rest were dropped: buffer full).
    double on_delivered = 0;
};
std::optional<ProducerCostResult> run_producer_cost(const BenchContext& context, const DaemonUnderTest& daemon);

/// spicecapd's memory with a subscriber that never reads while producers offer 10x what the pipeline
/// sustains, with small explicit limits.
struct OverloadMemoryResult {
    std::uint64_t history_bytes = 0;
    std::uint64_t queue_bytes = 0;
    /// history + queue + 32 MiB: the design's bound.
    std::uint64_t bound_bytes = 0;
    /// VmHWM of the daemon at the end of the run.
    std::uint64_t peak_rss_bytes = 0;
    /// VmRSS right after start, before any load.
    std::uint64_t idle_rss_bytes = 0;
    std::size_t message_bytes = 0;
    /// The rate asked for (10x the sustained rate) and what the producer threads actually offered.
    double target_messages_per_second = 0;
    double offered_messages_per_second = 0;
    /// Records and payload bytes the daemon took in during the run.
    std::uint64_t daemon_records = 0;
    std::uint64_t daemon_bytes = 0;
    /// What the daemon dropped for the stalled subscriber.
    std::uint64_t stalled_dropped_records = 0;
    double seconds = 0;
};
OverloadMemoryResult run_overload_memory(const BenchContext& context, double sustained_messages_per_second,
                                         std::size_t message_bytes);

/// `spicecap-extcap --extcap-interfaces --extcap-version=4.0` as Wireshark runs it at every start.
struct DiscoveryTimeResult {
    double median_ms = 0;
    double max_ms = 0;
    int runs = 0;
};
DiscoveryTimeResult run_extcap_discovery_time(const BenchContext& context, int runs);

}  // namespace spicecap::bench
