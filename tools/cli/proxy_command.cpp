// `spicecap proxy --listen ADDR:PORT --server HOST:PORT`: sits between a SPICE client and a real SPICE
// server, forwards every byte unchanged, and reports every message to spicecapd (spice_proxy.hpp).
#include <asio.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "cli/argument_reader.hpp"
#include "base/byte_size_text.hpp"
#include "follow/producer_channel_sink.hpp"
#include "cli/producer_commands.hpp"
#include "proxy/spice_proxy.hpp"
#include "wire/socket_path.hpp"

namespace spicecap::cli {
namespace {

constexpr const char* kUsage =
    "usage: spicecap proxy --listen ADDR:PORT --server HOST:PORT [options]\n\n"
    "Forwards SPICE client connections to a SPICE server, byte for byte, and reports every message to\n"
    "spicecapd so that Wireshark's \"SPICE capture\" (or spicecap record) shows the session live. Point the\n"
    "SPICE client at the --listen address. Plaintext SPICE only: TLS and SASL connections are forwarded but\n"
    "not reported. Without a running daemon it forwards anyway and reports once the daemon starts.\n\n"
    "  --listen ADDR:PORT    where clients connect, e.g. 127.0.0.1:5930 or [::1]:5930\n"
    "  --server HOST:PORT    the real SPICE server, e.g. localhost:5900\n"
    "  --session LABEL       session label in Wireshark's session list; default: the server address\n"
    "  --socket PATH         daemon socket (default: $SPICECAP_SOCKET, $XDG_RUNTIME_DIR/spicecap/spicecapd.sock,\n"
    "                        else /tmp/spicecap-$UID/spicecapd.sock)\n"
    "  --max-message BYTES   largest SPICE message followed; default 16777216. A larger one stops reporting\n"
    "                        for its connection (its bytes are still forwarded)\n"
    "  --quiet               no progress lines, only problems\n"
    "  --version             print the version\n\n"
    "Progress: one line per channel opened and closed, with message counts. Ctrl-C / SIGTERM stops it.\n";

struct ProxyOptions {
    SpiceProxyOptions proxy;
    std::string session_label;
    std::string socket;
    bool quiet = false;
};

std::variant<ProxyOptions, int> parse(int argc, char** argv) {
    ProxyOptions o;
    bool have_listen = false;
    bool have_server = false;
    ArgumentReader args(argc, argv);
    while (args.next()) {
        if (const auto done = args.help_or_version(kUsage)) return *done;
        const std::string_view arg = args.arg();
        if (arg == "--listen" || arg == "--server") {
            const auto v = args.value();
            if (!v) return args.fail(std::string(arg) + " needs HOST:PORT");
            auto parsed = HostPort::parse(*v, arg == "--listen");
            if (!parsed) return args.fail(std::string(arg) + ": " + parsed.error());
            (arg == "--listen" ? o.proxy.listen : o.proxy.server) = *parsed;
            (arg == "--listen" ? have_listen : have_server) = true;
        } else if (arg == "--session") {
            if (const auto failed = args.text(o.session_label, "a label")) return *failed;
        } else if (arg == "--socket") {
            if (const auto failed = args.text(o.socket, "a path")) return *failed;
        } else if (arg == "--max-message") {
            const auto bytes = args.integer<std::size_t>(64, 1LL << 40);
            if (!bytes) return args.fail("--max-message takes a byte count, at least 64");
            o.proxy.parser.max_message_bytes = *bytes;
            o.proxy.parser.max_bytes_waiting_for_peer = o.proxy.parser.max_link_bytes + *bytes;
        } else if (arg == "--quiet") {
            o.quiet = true;
        } else {
            return args.fail("unknown option '" + std::string(arg) + "'");
        }
    }
    if (!have_listen) return args.fail("say where clients connect: --listen ADDR:PORT");
    if (!have_server) return args.fail("name the SPICE server: --server HOST:PORT");
    if (o.session_label.empty()) o.session_label = o.proxy.server.to_string();
    return o;
}

}  // namespace

int proxy_command(int argc, char** argv) {
    auto parsed = parse(argc, argv);
    if (const int* code = std::get_if<int>(&parsed)) return *code;
    const ProxyOptions& options = std::get<ProxyOptions>(parsed);
    const auto socket = choose_socket_path(options.socket.empty() ? std::nullopt
                                                                   : std::optional<std::string_view>(options.socket));

    auto sink = ProducerChannelSink::create({.name = "spicecap-proxy",
                                             .session_label = options.session_label,
                                             .socket_path = socket.path.string()});
    if (!sink) {
        std::fprintf(stderr, "spicecap proxy: %s\n", sink.error().c_str());
        return 2;
    }

    const bool quiet = options.quiet;
    const auto log = [quiet](LogLevel level, const std::string& line) {
        if (level == LogLevel::message) {
            if (quiet) return;
            std::printf("%s\n", line.c_str());
            std::fflush(stdout);
        } else {
            std::fprintf(stderr, "spicecap proxy: %s\n", line.c_str());
        }
    };

    asio::io_context io;
    SpiceProxy proxy(io, options.proxy, **sink, log);
    if (auto started = proxy.start(); !started) {
        std::fprintf(stderr, "spicecap proxy: %s\n", started.error().c_str());
        return 1;
    }
    const auto here = proxy.listening_on();
    log(LogLevel::message, "listening on " + here.address().to_string() + ":" + std::to_string(here.port()) +
                               ", forwarding to " + options.proxy.server.to_string());
    if ((*sink)->connected()) {
        log(LogLevel::message, "reporting to spicecapd at " + socket.path.string() + " as session '" +
                                   options.session_label + "'");
    } else {
        std::fprintf(stderr,
                     "spicecap proxy: spicecapd is not reachable at %s (%s); forwarding anyway, reporting starts when "
                     "it does (start it with: spicecapd &)\n",
                     socket.path.c_str(), (*sink)->last_error().c_str());
    }

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const asio::error_code& ec, int) {
        if (!ec) proxy.stop();
    });
    io.run();

    (*sink)->flush(std::chrono::milliseconds(2000));
    const ProxyTotals t = proxy.totals();
    const auto stats = (*sink)->stats();
    const auto n = [](std::uint64_t count, const char* what) {
        return std::to_string(count) + " " + what + (count == 1 ? "" : "s");
    };
    log(LogLevel::message, "stopped: " + n(t.connections, "connection") + ", " +
                               n(t.channels_reported, "channel") + " reported, " +
                               byte_size_text(t.bytes_to_server) + " to the server, " +
                               byte_size_text(t.bytes_to_client) + " to the client, " +
                               n(stats.delivered_records, "message") + " delivered to spicecapd, " +
                               std::to_string(stats.dropped_records) + " dropped");
    return 0;
}

}  // namespace spicecap::cli
