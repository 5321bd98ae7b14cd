// The producer call cost, measured by the producer library's own Google Benchmark program
// (tests/bench/producer_bench.cpp), pointed at the benchmark's spicecapd.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "scenarios.hpp"

namespace spicecap::bench {
namespace {

// The median aggregate of one benchmark (its run name, up to a "/" with its arguments) in Google
// Benchmark's JSON.
const nlohmann::json& median_row(const nlohmann::json& report, const std::string& run_name) {
    for (const auto& row : report["benchmarks"]) {
        const std::string name = row.value("run_name", "");
        if (name.substr(0, name.find('/')) == run_name && row.value("aggregate_name", "") == "median") return row;
    }
    throw std::runtime_error("producer_bench reported no median for " + run_name);
}

}  // namespace

std::optional<ProducerCostResult> run_producer_cost(const BenchContext& context, const DaemonUnderTest& daemon) {
    if (context.programs.producer_bench.empty()) return std::nullopt;
    const auto output = context.dir / "producer_bench.json";
    // Capture on talks to our spicecapd (not producer_bench's in-process sink): the daemon a user runs.
    ::setenv("SPICECAP_BENCH_SOCKET", daemon.socket().c_str(), 1);
    ChildProcess bench({context.programs.producer_bench,
                        "--benchmark_filter=^(BM_packet_sent_no_daemon|BM_packet_sent_turned_off|BM_packet_sent_capture_on_per_call.*)$",
                        "--benchmark_format=json", "--benchmark_out=" + output.string(), "--benchmark_out_format=json",
                        std::string("--benchmark_repetitions=") + (context.quick ? "3" : "10"),
                        "--benchmark_report_aggregates_only=true",
                        std::string("--benchmark_min_time=") + (context.quick ? "0.1" : "0.5")});
    ::unsetenv("SPICECAP_BENCH_SOCKET");
    const auto status = bench.wait(std::chrono::minutes(3));
    if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) throw std::runtime_error("producer_bench failed");

    std::ifstream in(output);
    const auto report = nlohmann::json::parse(in);
    ProducerCostResult r;
    // Time per iteration (wall clock, as Google Benchmark prints it): the calls are all the loop does.
    r.off_ns = median_row(report, "BM_packet_sent_no_daemon")["real_time"].get<double>();
    r.turned_off_ns = median_row(report, "BM_packet_sent_turned_off")["real_time"].get<double>();
    // A copy, not a reference: GCC 14 warns (-Wdangling-reference) on a reference returned by a call that
    // was given a temporary (the run name), even though it points into `report`.
    const nlohmann::json on = median_row(report, "BM_packet_sent_capture_on_per_call");
    r.on_median_ns = on["median_ns"].get<double>();
    r.on_p99_ns = on["p99_ns"].get<double>();
    r.on_delivered = on["delivered"].get<double>();
    return r;
}

}  // namespace spicecap::bench
