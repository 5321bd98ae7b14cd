// `spicecap send`: reports hand-made messages to spicecapd, given as hex on the command line or as files.
// To see in Wireshark what a message from the spec looks like, or to hand a dissector a corner case,
// without writing a producer.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cli/argument_reader.hpp"
#include "cli/producer_commands.hpp"
#include "spicecap/producer.hpp"
#include "wire/socket_path.hpp"
#include "spice/spice_channel.hpp"

namespace spicecap::cli {
namespace {

constexpr const char* kUsage =
    "usage: spicecap send [options] MESSAGE...\n\n"
    "Reports hand-made messages to spicecapd, in order, as one producer session. Each MESSAGE is one\n"
    "whole SPICE message (data header included) or one USB vsock transfer, written as hex (spaces, ':'\n"
    "and '-' between bytes are allowed) or as @FILE for a file's bytes (@- reads standard input).\n"
    "A SPICE channel without a link stage gets a synthesized one in the capture, so a lone message\n"
    "decodes. Example, an inputs KEY_DOWN (mini header: type 101, size 4, scancode 0x1e):\n"
    "    spicecap send --channel inputs '6500 04000000 1e000000'\n"
    "(one argument per message: quote a message written with spaces).\n\n"
    "  --channel NAME[:ID]  SPICE channel (main, display, inputs, cursor, ...; ID default 0); default main\n"
    "  --to-client          the messages go server -> client (default: client -> server)\n"
    "  --full-header        the channel uses SPICE's full data header (default: the mini header)\n"
    "  --vsock LINK         send USB vsock transfers on this link (0..255) instead of SPICE messages\n"
    "  --to-host            vsock transfers go device -> host (default: host -> device)\n"
    "  --session LABEL      the session label shown in Wireshark's session list (default \"send\")\n"
    "  --socket PATH        daemon socket (default: $SPICECAP_SOCKET, $XDG_RUNTIME_DIR/spicecap/spicecapd.sock,\n"
    "                       else /tmp/spicecap-$UID/spicecapd.sock)\n";

struct SendOptions {
    SpiceChannel channel{1, 0};
    bool to_client = false;
    HeaderMode header = HeaderMode::mini;
    std::optional<std::uint8_t> vsock_link;
    bool to_host = false;
    std::string session = "send";
    std::string socket;
    std::vector<std::vector<std::uint8_t>> messages;
};

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// Hex bytes, optionally separated by spaces, ':' or '-' (between bytes only).
std::optional<std::vector<std::uint8_t>> parse_hex(std::string_view text) {
    std::vector<std::uint8_t> bytes;
    int high = -1;
    for (char c : text) {
        if (c == ' ' || c == ':' || c == '-') {
            if (high >= 0) return std::nullopt;  // a separator inside a byte
            continue;
        }
        const int d = hex_digit(c);
        if (d < 0) return std::nullopt;
        if (high < 0) {
            high = d;
        } else {
            bytes.push_back(static_cast<std::uint8_t>(high << 4 | d));
            high = -1;
        }
    }
    if (high >= 0 || bytes.empty()) return std::nullopt;
    return bytes;
}

/// The bytes of a file, or of standard input for "-".
std::optional<std::vector<std::uint8_t>> read_bytes(const std::string& path) {
    if (path == "-") {
        return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::variant<SendOptions, int> parse(int argc, char** argv) {
    SendOptions o;
    ArgumentReader args(argc, argv);
    while (args.next()) {
        if (const auto done = args.help_or_version(kUsage)) return *done;
        const std::string_view arg = args.arg();
        if (arg == "--channel") {
            const auto v = args.value();
            if (!v) return args.fail("--channel needs a channel name, e.g. inputs or display:1");
            const auto colon = v->find(':');
            const auto type = spice_channel_type_from_name(v->substr(0, colon));
            if (!type) return args.fail("unknown SPICE channel '" + std::string(v->substr(0, colon)) + "'");
            o.channel.type = *type;
            o.channel.id = 0;
            if (colon != std::string_view::npos) {
                const auto id_text = v->substr(colon + 1);
                unsigned id = 0;
                const auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
                if (ec != std::errc{} || end != id_text.data() + id_text.size() || id > 255) {
                    return args.fail("the channel id after ':' is 0..255, got '" + std::string(id_text) + "'");
                }
                o.channel.id = static_cast<std::uint8_t>(id);
            }
        } else if (arg == "--to-client") {
            o.to_client = true;
        } else if (arg == "--full-header") {
            o.header = HeaderMode::full;
        } else if (arg == "--vsock") {
            const auto link = args.integer<std::uint8_t>(0, 255);
            if (!link) return args.fail("--vsock takes a link number, 0..255");
            o.vsock_link = *link;
        } else if (arg == "--to-host") {
            o.to_host = true;
        } else if (arg == "--session") {
            if (const auto failed = args.text(o.session, "a label")) return *failed;
        } else if (arg == "--socket") {
            if (const auto failed = args.text(o.socket, "a path")) return *failed;
        } else if (arg.size() > 1 && arg[0] == '-' && arg[1] == '-') {
            return args.fail("unknown option '" + std::string(arg) + "'");
        } else if (arg.empty()) {
            return args.fail("an empty argument is not a message");
        } else if (arg[0] == '@') {
            auto bytes = read_bytes(std::string(arg.substr(1)));
            if (!bytes) return args.fail("cannot read '" + std::string(arg.substr(1)) + "'");
            if (bytes->empty()) return args.fail("'" + std::string(arg.substr(1)) + "' is empty: a message has at least one byte");
            o.messages.push_back(std::move(*bytes));
        } else {
            auto bytes = parse_hex(arg);
            if (!bytes) return args.fail("'" + std::string(arg) + "' is not a message in hex (or @FILE)");
            o.messages.push_back(std::move(*bytes));
        }
    }
    if (o.messages.empty()) return args.fail("give at least one MESSAGE, in hex or as @FILE");
    if (o.to_host && !o.vsock_link) return args.fail("--to-host is for USB vsock transfers (--vsock LINK)");
    if (o.to_client && o.vsock_link) return args.fail("--to-client is for SPICE messages; vsock uses --to-host");
    return o;
}

}  // namespace

int send_command(int argc, char** argv) {
    const auto parsed = parse(argc, argv);
    if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
    const auto& o = std::get<SendOptions>(parsed);

    ProducerOptions options;
    options.name = "spicecap-send";
    options.session_label = o.session;
    if (!o.socket.empty()) options.socket_path = o.socket;
    Producer producer(options);
    if (!producer.capturing()) {
        std::fprintf(stderr,
                     "spicecap send: no spicecapd is listening on %s (%s); start one with `spicecapd &` (or "
                     "`systemctl --user start spicecapd`)\n",
                     producer.socket_path().c_str(), producer.last_error().c_str());
        return 1;
    }
    std::uint64_t bytes = 0;
    if (o.vsock_link) {
        for (const auto& m : o.messages) {
            if (o.to_host) producer.usb_transfer_in(*o.vsock_link, m);
            else producer.usb_transfer_out(*o.vsock_link, m);
            bytes += m.size();
        }
    } else {
        producer.channel_opened(o.channel, o.header);
        for (const auto& m : o.messages) {
            if (o.to_client) producer.packet_received(o.channel, m);
            else producer.packet_sent(o.channel, m);
            bytes += m.size();
        }
    }
    const bool flushed = producer.flush(std::chrono::seconds(10));
    const auto stats = producer.stats();
    const std::string where =
        o.vsock_link ? "USB vsock link " + std::to_string(*o.vsock_link) + (o.to_host ? ", device -> host" : ", host -> device")
                     : std::string(*spice_channel_name(o.channel.type)) + ":" + std::to_string(o.channel.id) +
                           (o.to_client ? ", server -> client" : ", client -> server");
    std::printf("spicecap send: %zu message(s), %llu bytes on %s: %llu delivered to spicecapd (session #%u), %llu dropped\n",
                o.messages.size(), static_cast<unsigned long long>(bytes), where.c_str(),
                static_cast<unsigned long long>(stats.delivered_records), stats.session,
                static_cast<unsigned long long>(stats.dropped_records));
    if (!flushed || stats.delivered_records != o.messages.size()) {
        std::fprintf(stderr, "spicecap send: not every message reached the daemon%s%s\n",
                     producer.last_error().empty() ? "" : ": ", producer.last_error().c_str());
        return 1;
    }
    return 0;
}

}  // namespace spicecap::cli
