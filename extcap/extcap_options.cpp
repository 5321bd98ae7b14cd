// Argument table of spicecap-extcap.
#include "extcap_options.hpp"

#include <charconv>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "spicecap/record.hpp"
#include "spicecap/spice_channel.hpp"

namespace spicecap::extcap {
namespace {

template <class Int>
Expected<Int, std::string> parse_integer(const std::string& name, const std::string& text, long long min,
                                         long long max) {
    long long value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
        return Unexpected{name + " takes a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
                          ", not '" + text + "'"};
    }
    return static_cast<Int>(value);
}

Expected<std::vector<std::uint8_t>, std::string> parse_channels(const std::string& text) {
    std::vector<std::uint8_t> channels;
    std::stringstream list(text);
    std::string name;
    while (std::getline(list, name, ',')) {
        if (name.empty()) continue;
        const auto type = spice_channel_type_from_name(name);
        if (!type) {
            std::string known;
            for (std::uint8_t t = 1; t <= kMaxSpiceChannelType; ++t) known += (t > 1 ? ", " : "") + std::string(*spice_channel_name(t));
            return Unexpected{"--channels: unknown SPICE channel '" + name + "' (known: " + known + ")"};
        }
        channels.push_back(*type);
    }
    return channels;
}

// Each option: does it take a value, and what to do with it.
struct OptionRule {
    bool takes_value;
    std::function<Expected<Ok, std::string>(ExtcapOptions&, const std::string&)> apply;
};

Expected<Ok, std::string> set_action(ExtcapOptions& o, Action a) {
    // --extcap-interfaces wins over everything; otherwise the most specific request wins.
    if (o.action == Action::interfaces) return Ok{};
    if (a == Action::config && o.action == Action::reload_option) return Ok{};
    if (a == Action::validate_filter && o.action == Action::capture) return Ok{};
    o.action = a;
    return Ok{};
}

const std::map<std::string, OptionRule>& option_table() {
    static const std::map<std::string, OptionRule> table = {
        {"--help", {false, [](ExtcapOptions& o, const std::string&) { return set_action(o, Action::help); }}},
        {"--version", {false, [](ExtcapOptions& o, const std::string&) { return set_action(o, Action::version); }}},
        {"--extcap-version", {false, [](ExtcapOptions& o, const std::string& v) {
             o.wireshark_version = v;
             if (o.action == Action::help) o.action = Action::version;
             return Expected<Ok, std::string>(Ok{});
         }}},
        {"--extcap-interfaces", {false, [](ExtcapOptions& o, const std::string&) {
             o.action = Action::interfaces;
             return Expected<Ok, std::string>(Ok{});
         }}},
        {"--extcap-dlts", {false, [](ExtcapOptions& o, const std::string&) { return set_action(o, Action::dlts); }}},
        {"--extcap-config", {false, [](ExtcapOptions& o, const std::string&) { return set_action(o, Action::config); }}},
        {"--extcap-reload-option", {true, [](ExtcapOptions& o, const std::string& v) {
             o.reload_option = v;
             return set_action(o, Action::reload_option);
         }}},
        {"--capture", {false, [](ExtcapOptions& o, const std::string&) { return set_action(o, Action::capture); }}},
        {"--extcap-capture-filter", {true, [](ExtcapOptions& o, const std::string& v) {
             o.capture_filter = v;
             if (o.action == Action::help) o.action = Action::validate_filter;
             return Expected<Ok, std::string>(Ok{});
         }}},
        {"--extcap-interface", {true, [](ExtcapOptions& o, const std::string& v) {
             o.interface = v;
             return Expected<Ok, std::string>(Ok{});
         }}},
        {"--fifo", {true, [](ExtcapOptions& o, const std::string& v) {
             o.fifo = v;
             return Expected<Ok, std::string>(Ok{});
         }}},
        {"--extcap-control-in", {true, [](ExtcapOptions& o, const std::string& v) {
             o.control_in = v;
             return Expected<Ok, std::string>(Ok{});
         }}},
        {"--extcap-control-out", {true, [](ExtcapOptions& o, const std::string& v) {
             o.control_out = v;
             return Expected<Ok, std::string>(Ok{});
         }}},
        {"--socket", {true, [](ExtcapOptions& o, const std::string& v) {
             o.socket = v;
             return Expected<Ok, std::string>(Ok{});
         }}},
        {"--channels", {true, [](ExtcapOptions& o, const std::string& v) -> Expected<Ok, std::string> {
             auto channels = parse_channels(v);
             if (!channels) return Unexpected{channels.error()};
             o.channels = std::move(*channels);
             return Ok{};
         }}},
        {"--session", {true, [](ExtcapOptions& o, const std::string& v) -> Expected<Ok, std::string> {
             if (v.empty() || v == "all") {
                 o.session.reset();
                 return Ok{};
             }
             auto id = parse_integer<std::uint32_t>("--session", v, 1, 0xffffffffLL);
             if (!id) return Unexpected{id.error() + " (or 'all')"};
             o.session = *id;
             return Ok{};
         }}},
        {"--history", {true, [](ExtcapOptions& o, const std::string& v) -> Expected<Ok, std::string> {
             auto s = parse_integer<std::uint32_t>("--history", v, 0, 86400);
             if (!s) return Unexpected{s.error()};
             o.history_seconds = *s;
             return Ok{};
         }}},
        {"--server-port", {true, [](ExtcapOptions& o, const std::string& v) -> Expected<Ok, std::string> {
             auto p = parse_integer<std::uint16_t>("--server-port", v, 1, 65535);
             if (!p) return Unexpected{p.error()};
             o.server_port = *p;
             return Ok{};
         }}},
        {"--handshake", {false, [](ExtcapOptions& o, const std::string& v) -> Expected<Ok, std::string> {
             // A boolflag: present means true; "--handshake=false" is accepted for people typing it.
             o.handshake = !(v == "false" || v == "0" || v == "no");
             return Ok{};
         }}},
        {"--link-type", {true, [](ExtcapOptions& o, const std::string& v) -> Expected<Ok, std::string> {
             auto t = parse_integer<int>("--link-type", v, 147, 162);
             if (!t) return Unexpected{t.error() + " (LINKTYPE_USER0..USER15)"};
             o.vsock_link_type = *t;
             return Ok{};
         }}},
        {"--log-level", {true, [](ExtcapOptions& o, const std::string& v) {
             o.log_level = v;
             return Expected<Ok, std::string>(Ok{});
         }}},
        {"--log-file", {true, [](ExtcapOptions& o, const std::string& v) {
             o.log_file = v;
             return Expected<Ok, std::string>(Ok{});
         }}},
    };
    return table;
}

}  // namespace

Expected<ExtcapOptions, std::string> parse_extcap_options(const std::vector<std::string>& args) {
    ExtcapOptions options;
    std::set<std::uint8_t> turned_off;
    const auto& table = option_table();
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string name = args[i];
        std::optional<std::string> inline_value;
        if (const auto eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
            inline_value = name.substr(eq + 1);
            name.resize(eq);
        }
        // The dialog's per-channel boxes: --channel-NAME true|false (Wireshark passes a boolean's value).
        if (name.rfind("--channel-", 0) == 0) {
            if (const auto type = spice_channel_type_from_name(std::string_view(name).substr(10))) {
                std::string value = inline_value.value_or("true");
                if (!inline_value && i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) value = args[++i];
                if (value == "false" || value == "0" || value == "no") {
                    turned_off.insert(*type);
                } else {
                    turned_off.erase(*type);
                }
                continue;
            }
        }
        const auto rule = table.find(name);
        if (rule == table.end()) {
            // Unknown: ignore it, and its value if it seems to have one.
            options.ignored.push_back(args[i]);
            if (!inline_value && i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
                options.ignored.push_back(args[++i]);
            }
            continue;
        }
        std::string value;
        if (inline_value) {
            value = *inline_value;
        } else if (rule->second.takes_value) {
            if (i + 1 >= args.size()) return Unexpected{name + " needs a value"};
            value = args[++i];
        }
        if (auto applied = rule->second.apply(options, value); !applied) return Unexpected{applied.error()};
    }
    if (!turned_off.empty()) {
        // The boxes take channels away from --channels (or from all of them).
        if (options.channels.empty()) {
            for (std::uint8_t t = 1; t <= kMaxSpiceChannelType; ++t) options.channels.push_back(t);
        }
        std::erase_if(options.channels, [&](std::uint8_t t) { return turned_off.count(t) > 0; });
        if (options.channels.empty()) {
            return Unexpected{std::string("every SPICE channel is turned off: check at least one under SPICE in the options")};
        }
    }
    const bool needs_interface = options.action == Action::dlts || options.action == Action::config ||
                                 options.action == Action::reload_option || options.action == Action::capture ||
                                 options.action == Action::validate_filter;
    if (needs_interface && options.interface != kSpiceInterface && options.interface != kVsockInterface) {
        return Unexpected{options.interface.empty()
                              ? std::string("--extcap-interface is required (spice or usbvsock)")
                              : "unknown interface '" + options.interface + "' (this extcap offers spice and usbvsock)"};
    }
    if (options.action == Action::capture && options.fifo.empty()) {
        return Unexpected{std::string("--capture needs --fifo PATH (Wireshark passes it; for a test use a file path)")};
    }
    return options;
}

std::string extcap_usage() {
    return "spicecap-extcap " SPICECAP_VERSION
           " - Wireshark extcap for live SPICE and USB vsock capture from spicecapd\n"
           "\n"
           "Wireshark runs this program; you normally do not. Register it with `spicecap install`, then pick\n"
           "\"SPICE capture\" or \"USB vsock capture\" in Wireshark, or run `tshark -i spice`.\n"
           "\n"
           "Extcap protocol:\n"
           "  --extcap-interfaces                    list the interfaces\n"
           "  --extcap-dlts --extcap-interface IF    link type of IF\n"
           "  --extcap-config --extcap-interface IF  options of IF (--extcap-reload-option session)\n"
           "  --extcap-capture-filter F --extcap-interface IF   check a capture filter (prints an error or nothing)\n"
           "  --capture --extcap-interface IF --fifo PATH       capture into PATH\n"
           "      [--extcap-capture-filter F] [--extcap-control-in P --extcap-control-out P]\n"
           "\n"
           "Capture options:\n"
           "  --socket PATH        daemon socket (default: $SPICECAP_SOCKET, $XDG_RUNTIME_DIR/spicecap/spicecapd.sock,\n"
           "                       else /tmp/spicecap-$UID/spicecapd.sock)\n"
           "  --channels LIST      SPICE channels, comma separated (main,display,inputs,cursor,...); default all\n"
           "  --session ID|all     one producer session; default all\n"
           "  --history SECONDS    replay this much history first; default 0\n"
           "  --server-port PORT   TCP port of the synthesized SPICE server; default 5930\n"
           "  --handshake          synthesize TCP SYN and FIN exchanges\n"
           "  --link-type DLT      USB vsock link type, 147..162 (USER0..USER15); default 147\n"
           "  --log-level LEVEL    error, warning, message, info, debug; default message\n"
           "  --log-file PATH      log here instead of stderr\n"
           "  --help, --version\n";
}

}  // namespace spicecap::extcap
