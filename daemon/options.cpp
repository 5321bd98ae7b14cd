// spicecapd's command line parsing.
#include "options.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

namespace spicecap::daemon {

namespace {

std::optional<std::uint64_t> parse_count(std::string_view text) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::optional<double> parse_seconds(std::string_view text) {
    // std::from_chars for double is in g++ 11+; it rejects leading '+' and whitespace, which is fine.
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value) || value < 0) return std::nullopt;
    return value;
}

}  // namespace

std::optional<std::uint64_t> parse_byte_count(std::string_view text) {
    std::uint64_t scale = 1;
    auto strip = [&](std::string_view suffix, std::uint64_t factor) {
        if (text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix) {
            text.remove_suffix(suffix.size());
            scale = factor;
            return true;
        }
        return false;
    };
    strip("KiB", 1ull << 10) || strip("MiB", 1ull << 20) || strip("GiB", 1ull << 30) || strip("K", 1ull << 10) ||
        strip("M", 1ull << 20) || strip("G", 1ull << 30);
    auto value = parse_count(text);
    if (!value || (*value != 0 && UINT64_MAX / *value < scale)) return std::nullopt;
    return *value * scale;
}

std::string usage_text() {
    DaemonLimits d;
    return "Usage: spicecapd [OPTIONS]\n"
           "The spicecap daemon: producers (SPICE clients, proxies, USB vsock tools) push the messages they\n"
           "send and receive; subscribers (the Wireshark extcap, spicecap record) receive them live.\n"
           "Runs in the foreground and logs to stderr (journald-friendly under systemd).\n"
           "\n"
           "Options:\n"
           "  --socket PATH                  listen here (default: $SPICECAP_SOCKET, else\n"
           "                                 $XDG_RUNTIME_DIR/spicecap/spicecapd.sock, else\n"
           "                                 /tmp/spicecap-$UID/spicecapd.sock)\n"
           "  --verbose                      log every connection and more\n"
           "  --max-frame-bytes N            largest frame a producer may send (default " +
           std::to_string(d.max_frame_bytes) +
           ")\n"
           "  --max-producers N              producers connected at once (default " +
           std::to_string(d.max_producers) +
           ")\n"
           "  --max-subscribers N            subscribers connected at once (default " +
           std::to_string(d.max_subscribers) +
           ")\n"
           "  --max-other-connections N      control connections and ones that did not say HELLO yet\n"
           "                                 (default " +
           std::to_string(d.max_other_connections) +
           ")\n"
           "  --subscriber-queue-bytes N     backlog kept per subscriber beyond the history before its\n"
           "                                 oldest records are dropped (default " +
           std::to_string(d.subscriber_queue_bytes) +
           ")\n"
           "  --history-bytes N              memory for the history of recent records (default " +
           std::to_string(d.history_bytes) +
           ")\n"
           "  --history-seconds S            age after which records leave the history (default " +
           std::to_string(static_cast<int>(d.history_seconds)) +
           ")\n"
           "  --help                         show this text\n"
           "  --version                      show the version\n"
           "Byte counts take K, M, G (or KiB, MiB, GiB) suffixes, powers of 1024.\n"
           "The protocol is described in docs/protocol.md.\n";
}

Expected<CommandLine, std::string> parse_command_line(int argc, char** argv) {
    CommandLine cl;
    DaemonLimits& limits = cl.options.limits;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::optional<std::string_view> inline_value;
        if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string_view::npos) {
            inline_value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        }
        auto value = [&]() -> std::optional<std::string_view> {
            if (inline_value) return inline_value;
            if (i + 1 < argc) return std::string_view{argv[++i]};
            return std::nullopt;
        };
        auto need = [&](std::string_view name) -> Expected<std::string_view, std::string> {
            auto v = value();
            if (!v) return Unexpected{std::string(name) + " needs a value"};
            return *v;
        };
        // A byte count (with K/M/G suffixes) or a plain count of connections, within [min, max].
        enum class Unit { bytes, connections };
        auto bounded = [&](std::string_view name, auto& target, Unit unit, std::uint64_t min,
                           std::uint64_t max) -> std::optional<std::string> {
            auto v = need(name);
            if (!v) return v.error();
            auto n = unit == Unit::bytes ? parse_byte_count(*v) : parse_count(*v);
            if (!n || *n < min || *n > max) {
                return std::string(name) + (unit == Unit::bytes ? " wants a byte count from " : " wants a number from ") +
                       std::to_string(min) + " to " + std::to_string(max) + ", got \"" + std::string(*v) + "\"";
            }
            target = static_cast<std::remove_reference_t<decltype(target)>>(*n);
            return std::nullopt;
        };
        std::optional<std::string> error;
        if (arg == "--help" || arg == "-h") cl.action = CommandLineAction::help;
        else if (arg == "--version") cl.action = CommandLineAction::version;
        else if (arg == "--verbose" || arg == "-v") cl.options.verbose = true;
        else if (arg == "--socket") {
            auto v = need(arg);
            if (!v) return Unexpected{v.error()};
            if (v->empty()) return Unexpected{std::string("--socket needs a non-empty path")};
            cl.options.socket = std::string(*v);
        } else if (arg == "--max-frame-bytes") error = bounded(arg, limits.max_frame_bytes, Unit::bytes, 1024, 0xFFFFFFFFull);
        else if (arg == "--max-producers") error = bounded(arg, limits.max_producers, Unit::connections, 1, 100000);
        else if (arg == "--max-subscribers") error = bounded(arg, limits.max_subscribers, Unit::connections, 1, 100000);
        else if (arg == "--max-other-connections") error = bounded(arg, limits.max_other_connections, Unit::connections, 1, 100000);
        else if (arg == "--subscriber-queue-bytes") error = bounded(arg, limits.subscriber_queue_bytes, Unit::bytes, 0, 1ull << 40);
        else if (arg == "--history-bytes") error = bounded(arg, limits.history_bytes, Unit::bytes, 0, 1ull << 40);
        else if (arg == "--history-seconds") {
            auto v = need(arg);
            if (!v) return Unexpected{v.error()};
            auto s = parse_seconds(*v);
            if (!s) return Unexpected{"--history-seconds wants a number of seconds >= 0, got \"" + std::string(*v) + "\""};
            limits.history_seconds = *s;
        } else {
            return Unexpected{"unknown option \"" + std::string(argv[i]) + "\" (see --help)"};
        }
        if (error) return Unexpected{*error};
    }
    return cl;
}

}  // namespace spicecap::daemon
