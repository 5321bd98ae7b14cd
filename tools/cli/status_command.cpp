// `spicecap status`: asks spicecapd for its status (docs/protocol.md §9) and prints it as a table, or as
// the daemon's raw JSON object with --json.
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cli/argument_reader.hpp"
#include "cli/commands.hpp"
#include "client/control_client.hpp"
#include "wire/socket_path.hpp"

namespace spicecap::cli {

namespace {

using nlohmann::json;

std::string human_bytes(std::uint64_t bytes) {
    static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1024 && unit < 4) {
        value /= 1024;
        ++unit;
    }
    char text[32];
    if (unit == 0) std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
    else std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
    return text;
}

std::string human_duration(double seconds) {
    const auto s = static_cast<long long>(seconds);
    char text[48];
    if (s < 60) std::snprintf(text, sizeof text, "%llds", s);
    else if (s < 3600) std::snprintf(text, sizeof text, "%lldm%02llds", s / 60, s % 60);
    else std::snprintf(text, sizeof text, "%lldh%02lldm", s / 3600, (s / 60) % 60);
    return text;
}

std::string pad(std::string text, std::size_t width) {
    // A value wider than its column still gets one space before the next one.
    text.append(text.size() < width ? width - text.size() : 1, ' ');
    return text;
}

std::string channel_label(const json& c) {
    const std::string kind = c.value("kind", "");
    if (kind == "spice") return c.value("channel", "?") + ":" + std::to_string(c.value("channel_id", 0));
    return "usb link " + std::to_string(c.value("channel_id", 0));
}

void print_table(const json& status, std::ostream& out) {
    const json& daemon = status["daemon"];
    const json& totals = status["totals"];
    const json& history = status["history"];
    out << "spicecapd " << daemon.value("version", "?") << " (pid " << daemon.value("pid", 0) << ") on "
        << daemon.value("socket", "?") << ", up " << human_duration(daemon.value("uptime_seconds", 0.0)) << "\n";
    out << "records " << totals.value("records", 0ull) << " (" << human_bytes(totals.value("bytes", 0ull))
        << "), lost by subscribers " << totals.value("dropped_records", 0ull) << " ("
        << human_bytes(totals.value("dropped_bytes", 0ull)) << "), dropped by producers "
        << totals.value("producer_dropped_records", 0ull) << "\n";
    out << "history " << history.value("entries", 0ull) << " records and events in " << human_bytes(history.value("bytes", 0ull))
        << "; " << status.value("producers", 0) << " producer(s), " << status["subscribers"].size()
        << " subscriber(s)";
    if (totals.value("refused_connections", 0ull) || totals.value("protocol_errors", 0ull)) {
        out << "; refused " << totals.value("refused_connections", 0ull) << ", protocol errors "
            << totals.value("protocol_errors", 0ull);
    }
    out << "\n\n";

    if (status["sessions"].empty()) {
        out << "No sessions.\n";
    } else {
        out << pad("SESSION", 9) << pad("STATE", 8) << pad("LABEL", 16) << pad("PRODUCER", 30) << pad("RECORDS", 12)
            << "BYTES\n";
        for (const json& s : status["sessions"]) {
            std::string producer = s.value("name", "");
            if (s.value("pid", 0) != 0) producer += " (pid " + std::to_string(s.value("pid", 0)) + ")";
            out << pad(std::to_string(s.value("id", 0)), 9) << pad(s.value("active", false) ? "active" : "ended", 8)
                << pad(s.value("label", ""), 16) << pad(producer, 30) << pad(std::to_string(s.value("records", 0ull)), 12)
                << human_bytes(s.value("bytes", 0ull)) << "\n";
            for (const json& c : s["channels"]) {
                const bool open = c.value("open", false);
                std::string state = open ? "open" : "closed";
                // A closed channel's link stage is released (no new subscriber needs it): nothing to show.
                if (open && c.contains("link_stage")) state += ", link stage " + c.value("link_stage", std::string("none"));
                if (c.contains("header") && c["header"].is_string()) state += ", " + c["header"].get<std::string>() + " headers";
                out << "  " << pad(channel_label(c), 15) << pad(std::to_string(c.value("records", 0ull)) + " records", 18)
                    << pad(human_bytes(c.value("bytes", 0ull)), 12) << state << "\n";
            }
        }
    }
    out << "\n";
    if (status["subscribers"].empty()) {
        out << "No subscribers.\n";
        return;
    }
    out << pad("SUBSCRIBER", 12) << pad("KIND", 10) << pad("CHANNELS", 18) << pad("SESSIONS", 10) << pad("RECORDS", 12)
        << pad("DROPPED", 10) << "BACKLOG\n";
    for (const json& s : status["subscribers"]) {
        std::string channels;
        // Appended piece by piece: `(... ? "" : ",") + string` makes GCC 12 -O3 warn wrongly (-Wrestrict).
        for (const json& c : s["channels"]) channels.append(channels.empty() ? "" : ",").append(c.get<std::string>());
        std::string sessions;
        if (s["sessions"].is_array()) {
            for (const json& id : s["sessions"])
                sessions.append(sessions.empty() ? "" : ",").append(std::to_string(id.get<std::uint64_t>()));
        }
        out << pad(std::to_string(s.value("id", 0)), 12) << pad(s.value("kind", ""), 10)
            << pad(channels.empty() ? "all" : channels, 18) << pad(sessions.empty() ? "all" : sessions, 10)
            << pad(std::to_string(s.value("records", 0ull)), 12) << pad(std::to_string(s.value("dropped_records", 0ull)), 10)
            << human_bytes(s.value("backlog_bytes", 0ull)) << "\n";
    }
}

constexpr const char* kUsage =
    "usage: spicecap status [--json] [--socket PATH]\n"
    "Shows what spicecapd is doing: sessions (producers) and their channels, subscribers, records,\n"
    "bytes and drops.\n"
    "  --json         print the daemon's status object as JSON (docs/protocol.md section 9)\n"
    "  --socket PATH  the daemon's socket (default: $SPICECAP_SOCKET, else\n"
    "                 $XDG_RUNTIME_DIR/spicecap/spicecapd.sock, else /tmp/spicecap-$UID/spicecapd.sock)\n";

}  // namespace

int status_command(int argc, char** argv) {
    bool as_json = false;
    std::string socket;  // empty: the usual rule
    ArgumentReader args(argc, argv);
    while (args.next()) {
        if (const auto done = args.help_or_version(kUsage)) return *done;
        const std::string_view arg = args.arg();
        if (arg == "--json") {
            as_json = true;
        } else if (arg == "--socket") {
            if (const auto failed = args.text(socket, "a path")) return *failed;
        } else {
            return args.fail("unknown option '" + std::string(arg) + "'");
        }
    }
    const std::string path = spicecap::socket_path(socket.empty() ? std::nullopt : std::optional<std::string_view>(socket)).string();
    ControlClient client;
    if (auto connected = client.connect(path); !connected) {
        std::cerr << "spicecap status: " << connected.error() << "\n";
        return 1;
    }
    auto reply = client.request(json{{"command", "status"}});
    if (!reply) {
        std::cerr << "spicecap status: " << reply.error() << "\n";
        return 1;
    }
    const json& status = (*reply)["status"];
    if (as_json) std::cout << status.dump(2) << "\n";
    else print_table(status, std::cout);
    return 0;
}

}  // namespace spicecap::cli
