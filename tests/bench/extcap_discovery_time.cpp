// `--extcap-interfaces` wall time: Wireshark runs this for every extcap at every start (design §6, §9).
#include <algorithm>
#include <vector>

#include "scenarios.hpp"

namespace spicecap::bench {

DiscoveryTimeResult run_extcap_discovery_time(const BenchContext& context, int runs) {
    std::vector<double> ms;
    // Exactly as Wireshark 4.0 asks: one argument with '='.
    const std::vector<std::string> argv{context.programs.extcap, "--extcap-interfaces", "--extcap-version=4.0"};
    (void)time_one_run(argv);  // the first run pays for loading the binary from disk
    for (int i = 0; i < runs; ++i) ms.push_back(std::chrono::duration<double, std::milli>(time_one_run(argv)).count());
    std::sort(ms.begin(), ms.end());
    return {.median_ms = ms[ms.size() / 2], .max_ms = ms.back(), .runs = runs};
}

}  // namespace spicecap::bench
