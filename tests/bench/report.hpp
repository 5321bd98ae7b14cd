// What one benchmark run measured, as the human-readable table (targets of design §9 next to the numbers
// and the baselines of the same run) and as the one-line JSON object scripts read.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "scenarios.hpp"

namespace spicecap::bench {

/// The machine and build the numbers come from.
struct MachineInfo {
    int cpus = 0;
    std::string cpu_model;
    double memory_gib = 0;
    double load_average = 0;
    std::string build;
};

struct BenchReport {
    MachineInfo machine;
    bool quick = false;
    DeliveryResult e2e_small;
    /// The same 64 B run with the extcap writing classic pcap (pcapng is its default and e2e_small).
    DeliveryResult e2e_small_pcap;
    DeliveryResult e2e_medium;
    DeliveryResult e2e_large;
    std::optional<DeliveryResult> udpdump_small;
    RawPipeResult raw_pipe;
    std::optional<ProducerCostResult> producer;
    LatencyResult latency;
    DeliveryResult below_overload;
    OverloadMemoryResult overload;
    DiscoveryTimeResult discovery;
};

/// The machine this runs on (nproc, /proc/cpuinfo, /proc/meminfo, /proc/loadavg).
MachineInfo describe_machine(std::string build);

void print_table(std::ostream& out, const BenchReport& report);
/// One JSON object on one line with exactly the keys of the benchmark's contract (null: not measured).
std::string json_line(const BenchReport& report);

}  // namespace spicecap::bench
