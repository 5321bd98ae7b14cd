// spicecap-extcap: the Wireshark extcap for "SPICE capture" and "USB vsock capture".
// Discovery calls are answered from fixed text before anything touches the daemon (Wireshark runs them
// at every start); --capture streams pcap into the FIFO Wireshark hands us.
#include <cstdio>
#include <string>
#include <vector>

#include "capture.hpp"
#include "extcap_discovery.hpp"
#include "extcap_options.hpp"
#include "session_list.hpp"
#include "pcap/bpf_filter.hpp"
#include "base/log.hpp"
#include "pcap/pcap_writer.hpp"

using namespace spicecap;
using namespace spicecap::extcap;

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    Log log("spicecap-extcap");
    // Wireshark shows anything on an extcap's stderr as an error: only errors go there, each once.
    log.set_errors_only_on_stderr(true);
    auto parsed = parse_extcap_options(args);
    if (!parsed) {
        log.error(parsed.error());
        return 2;
    }
    const ExtcapOptions& options = *parsed;
    if (const auto level = log_level_from_name(options.log_level)) log.set_level(*level);
    if (!options.log_file.empty()) {
        if (auto failed = log.open_file(options.log_file)) log.error(*failed);
    }
    if (log.enabled(LogLevel::debug)) {
        std::string call;
        for (const auto& arg : args) call += " " + arg;
        log.debug("called with" + call);
    }
    for (const auto& ignored : options.ignored) log.debug("ignoring unknown argument " + ignored);

    switch (options.action) {
        case Action::help:
            std::fputs(extcap_usage().c_str(), stdout);
            return 0;
        case Action::version:
            std::puts("spicecap-extcap " SPICECAP_VERSION);
            return 0;
        case Action::interfaces:
            std::fputs(interfaces_text().c_str(), stdout);
            return 0;
        case Action::dlts:
            std::fputs(dlts_text(options).c_str(), stdout);
            return 0;
        case Action::config:
            std::fputs(config_text(options).c_str(), stdout);
            return 0;
        case Action::reload_option:
            if (options.reload_option == "session") std::fputs(session_values_text(options, log).c_str(), stdout);
            return 0;
        case Action::validate_filter: {
            // Wireshark reads stdout: empty means valid, otherwise the first line is the error.
            auto filter = BpfFilter::compile(options.capture.filter, options.capture.pcap_link_type());
            if (!filter) std::printf("%s\n", filter.error().c_str());
            return 0;
        }
        case Action::capture:
            return run_capture(options, log);
    }
    return 0;
}
