// spicecap_bench: every measurement of design §9 in one run on one machine, baselines included, so the
// ratios compare like with like. tests/bench/run is the way to start it.
//
//     spicecap_bench [--quick]          everything: progress on stderr, then the table, and as the last
//                                      line one JSON object
//     spicecap_bench --e2e SIZE [--quick]   only the end-to-end run with SIZE-byte messages, one line
//                                      (for profiling one path, e.g. under `perf record -g`)
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <vector>

#include "report.hpp"
#include "scenarios.hpp"

namespace {

using namespace spicecap::bench;

std::string find_udpdump() {
    if (const char* path = std::getenv("UDPDUMP"); path != nullptr && *path != '\0') return path;
    for (const char* candidate : {"/usr/lib/x86_64-linux-gnu/wireshark/extcap/udpdump", "/usr/lib/wireshark/extcap/udpdump",
                                  "/usr/libexec/wireshark/extcap/udpdump"}) {
        if (std::filesystem::exists(candidate)) return candidate;
    }
    return {};
}

void progress(const std::string& text) { std::cerr << "spicecap_bench: " << text << std::endl; }

BenchContext make_context(bool quick, const std::filesystem::path& dir) {
    BenchContext context;
    context.quick = quick;
    context.dir = dir;
    context.programs.spicecapd = SPICECAPD_PATH;
    context.programs.extcap = SPICECAP_EXTCAP_PATH;
    context.programs.producer_bench = PRODUCER_BENCH_PATH;
    if (!context.programs.producer_bench.empty() && !std::filesystem::exists(context.programs.producer_bench)) {
        context.programs.producer_bench.clear();
    }
    context.programs.udpdump = find_udpdump();
    return context;
}

int run_one_e2e(bool quick, std::size_t message_bytes, const std::string& format) {
    TempDir scratch;
    const BenchContext context = make_context(quick, scratch.path());
    DaemonUnderTest daemon(context.programs, context.dir, "spicecapd");
    const DeliveryResult r = run_e2e_throughput(context, daemon, message_bytes, format);
    std::cout << message_bytes << " B messages, " << format << ": " << r.records_per_second << " rec/s, " << r.megabytes_per_second
              << " MB/s, " << r.lost << " lost of " << r.sent << "; CPU us per message: producer " << r.producer_cpu_us
              << ", spicecapd " << r.daemon_cpu_us << ", extcap " << r.extcap_cpu_us << ", reader " << r.reader_cpu_us
              << "\n";
    return 0;
}

int run(bool quick) {
    TempDir scratch;
    const BenchContext context = make_context(quick, scratch.path());

    BenchReport report;
    report.quick = quick;
    report.machine = describe_machine(std::string(SPICECAP_BENCH_BINARY_DIR) + " (" + SPICECAP_BENCH_BUILD_TYPE + ")");
    const int repetitions = quick ? 3 : 5;

    {
        DaemonUnderTest daemon(context.programs, context.dir, "spicecapd");
        // Each repetition runs every throughput measurement once, pipeline and baselines in turn, so that a
        // change in the machine's load affects them alike.
        std::vector<DeliveryResult> small, small_pcap, medium, large, udpdump;
        std::vector<RawPipeResult> pipe;
        for (int i = 0; i < repetitions; ++i) {
            progress("round " + std::to_string(i + 1) + " of " + std::to_string(repetitions) + " of the throughput runs");
            progress("raw pipe, 64 KiB writes");
            pipe.push_back(run_raw_pipe(context, 65536));
            progress("end to end, 64 B messages");
            small.push_back(run_e2e_throughput(context, daemon, 64));
            progress("end to end, 64 B messages, classic pcap output");
            small_pcap.push_back(run_e2e_throughput(context, daemon, 64, "pcap"));
            progress("udpdump, 64 B messages");
            if (auto u = run_udpdump_throughput(context, 64)) udpdump.push_back(*u);
            progress("end to end, 1 KiB messages");
            medium.push_back(run_e2e_throughput(context, daemon, 1024));
            progress("end to end, 64 KiB messages");
            large.push_back(run_e2e_throughput(context, daemon, 65536));
        }
        const auto median = [](auto runs, auto key) {
            std::sort(runs.begin(), runs.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
            return runs[runs.size() / 2];
        };
        const auto by_rate = [](const DeliveryResult& r) { return r.records_per_second; };
        report.e2e_small = median(small, by_rate);
        report.e2e_small_pcap = median(small_pcap, by_rate);
        report.e2e_medium = median(medium, by_rate);
        report.e2e_large = median(large, by_rate);
        if (!udpdump.empty()) report.udpdump_small = median(udpdump, by_rate);
        report.raw_pipe = median(pipe, [](const RawPipeResult& r) { return r.megabytes_per_second; });

        progress("latency at 1,000 messages/s");
        report.latency = run_e2e_latency(context, daemon, 1000, quick ? std::chrono::seconds(3) : std::chrono::seconds(10));
        progress("losses at 50 % of the 64 B maximum rate");
        report.below_overload = run_e2e_paced(context, daemon, 64, report.e2e_small.records_per_second / 2,
                                              quick ? std::chrono::seconds(2) : std::chrono::seconds(5));
        progress("producer call cost (producer_bench)");
        report.producer = run_producer_cost(context, daemon);
    }
    progress("daemon memory under 10x overload with a stalled subscriber");
    report.overload = run_overload_memory(context, report.e2e_medium.records_per_second, 1024);
    progress("spicecap-extcap --extcap-interfaces");
    report.discovery = run_extcap_discovery_time(context, quick ? 20 : 100);

    print_table(std::cout, report);
    std::cout << json_line(report) << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = false;
    std::size_t e2e_only = 0;
    std::string format = "pcapng";
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (std::strcmp(argv[i], "--e2e") == 0 && i + 1 < argc && std::atoi(argv[i + 1]) > 0) {
            e2e_only = static_cast<std::size_t>(std::atoi(argv[++i]));
        } else if (std::strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            format = argv[++i];
        } else {
            std::cerr << "usage: spicecap_bench [--quick] [--e2e MESSAGE_BYTES [--format pcapng|pcap]]\n";
            return 2;
        }
    }
    try {
        return e2e_only != 0 ? run_one_e2e(quick, e2e_only, format) : run(quick);
    } catch (const std::exception& e) {
        std::cerr << "spicecap_bench: " << e.what() << "\n";
        return 1;
    }
}
