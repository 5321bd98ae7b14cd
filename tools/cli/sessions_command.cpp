// `spicecap sessions`: the daemon's producer sessions as the JSON array of its `sessions` control request
// (docs/protocol.md §9), for programs: the extcap's session list reloads through it over SSH. People read
// the same sessions in `spicecap status`.
#include <cstdio>
#include <optional>
#include <string>

#include "cli/argument_reader.hpp"
#include "cli/commands.hpp"
#include "client/control_client.hpp"
#include "wire/socket_path.hpp"

namespace spicecap::cli {
namespace {

constexpr const char* kUsage =
    "usage: spicecap sessions [--socket PATH]\n"
    "Prints spicecapd's sessions (connected producers, then the latest that ended) as one line of JSON: the\n"
    "array of the `sessions` request in docs/protocol.md section 9. For programs; `spicecap status` shows\n"
    "them to people.\n"
    "  --socket PATH  the daemon's socket (default: $SPICECAP_SOCKET, else\n"
    "                 $XDG_RUNTIME_DIR/spicecap/spicecapd.sock, else /tmp/spicecap-$UID/spicecapd.sock)\n";

}  // namespace

int sessions_command(int argc, char** argv) {
    std::string socket;  // empty: the usual rule
    ArgumentReader args(argc, argv);
    while (args.next()) {
        if (const auto done = args.help_or_version(kUsage)) return *done;
        if (args.arg() == "--socket") {
            if (const auto failed = args.text(socket, "a path")) return *failed;
        } else {
            return args.fail("unknown argument '" + std::string(args.arg()) + "'");
        }
    }
    const std::string path = socket_path(socket.empty() ? std::nullopt : std::optional<std::string_view>(socket)).string();
    ControlClient client;
    if (auto connected = client.connect(path); !connected) {
        std::fprintf(stderr, "spicecap sessions: %s\n", connected.error().c_str());
        return 1;
    }
    const auto reply = client.request({{"command", "sessions"}});
    if (!reply) {
        std::fprintf(stderr, "spicecap sessions: %s\n", reply.error().c_str());
        return 1;
    }
    std::printf("%s\n", reply->value("sessions", nlohmann::json::array()).dump().c_str());
    return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace spicecap::cli
