// spicecap: the user's command line (status, demo, install, ...). A table of subcommands; each lives in
// its own file.
#include <cstdio>
#include <exception>
#include <string_view>

#include "cli/commands.hpp"
#include "cli/producer_commands.hpp"

namespace {

struct Subcommand {
    const char* name;
    const char* summary;
    int (*run)(int argc, char** argv);
};

constexpr Subcommand kSubcommands[] = {
    {"status", "show the daemon's sessions, channels, subscribers and drops", spicecap::cli::status_command},
    {"demo", "play a scripted SPICE (or --vsock USB vsock) session into the daemon", spicecap::cli::demo_command},
    {"record", "write one pcap file per channel from the daemon's live records", spicecap::cli::record_command},
    {"stream", "write a live capture to standard output (for pipes and SSH)", spicecap::cli::stream_command},
    {"sessions", "print the daemon's sessions as JSON (for programs)", spicecap::cli::sessions_command},
    {"proxy", "SPICE proxy that reports every message passing through it", spicecap::cli::proxy_command},
    {"tap", "run a SPICE client or server (remote-viewer, qemu) with every message reported", spicecap::cli::tap_command},
    {"replay", "send the SPICE traffic of a pcap/pcapng capture to the daemon", spicecap::cli::replay_command},
    {"send", "report hand-made SPICE messages or USB vsock transfers (hex or files)", spicecap::cli::send_command},
    {"install", "register the extcap (and Lua dissector) with Wireshark", spicecap::cli::install_command},
    {"uninstall", "remove what install registered", spicecap::cli::uninstall_command},
};

void usage(FILE* out) {
    std::fprintf(out,
                 "spicecap " SPICECAP_VERSION " - live SPICE and USB vsock capture for Wireshark\n\n"
                 "usage: spicecap COMMAND [ARGS...]   (spicecap COMMAND --help for its options)\n"
                 "       spicecap --version\n\ncommands:\n");
    for (const auto& s : kSubcommands) std::fprintf(out, "  %-10s %s\n", s.name, s.summary);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const std::string_view name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        usage(stdout);
        return 0;
    }
    if (name == "--version") {
        std::puts("spicecap " SPICECAP_VERSION);
        return 0;
    }
    for (const auto& s : kSubcommands) {
        if (name != s.name) continue;
        try {
            return s.run(argc - 1, argv + 1);
        } catch (const std::exception& e) {  // e.g. the producer library refusing an over-long --session
            std::fprintf(stderr, "spicecap %s: %s\n", s.name, e.what());
            return 2;
        }
    }
    std::fprintf(stderr, "spicecap: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
