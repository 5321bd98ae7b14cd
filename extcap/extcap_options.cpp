// Argument table of spicecap-extcap.
#include "extcap_options.hpp"

#include <functional>
#include <map>
#include <set>

#include "spice/spice_channel.hpp"
#include "wire/record.hpp"

namespace spicecap::extcap {
namespace {

// A capture option of the shared table (the dialog's options), by its "--name"; the filter comes from
// Wireshark as --extcap-capture-filter instead.
const capture::CaptureOption* capture_option(const std::string& name) {
    if (!name.starts_with("--") || name == "--filter") return nullptr;
    return capture::find_capture_option(std::string_view(name).substr(2));
}

// The extcap's own options: does it take a value, and what to do with it.
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
             o.capture.filter = v;
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
    // Wireshark passes a boolflag only when it is on.
    for (const auto& option : capture::capture_option_table()) {
        if (option.kind == capture::ValueKind::flag) (void)capture::apply_capture_option(options.capture, option, "false");
    }
    const auto& table = option_table();
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string name = args[i];
        std::optional<std::string> inline_value;
        if (const auto eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
            inline_value = name.substr(eq + 1);
            name.resize(eq);
        }
        // The dialog's per-channel boxes: --channel-NAME true|false (Wireshark passes a boolean's value).
        if (name.starts_with("--channel-")) {
            if (const auto type = spice_channel_type_from_name(std::string_view(name).substr(10))) {
                std::string value = inline_value.value_or("true");
                if (!inline_value && i + 1 < args.size() && !args[i + 1].starts_with("--")) value = args[++i];
                if (value == "false" || value == "0" || value == "no") {
                    turned_off.insert(*type);
                } else {
                    turned_off.erase(*type);
                }
                continue;
            }
        }
        if (const auto* option = capture_option(name)) {
            std::string value;
            if (inline_value) {
                value = *inline_value;
            } else if (option->kind != capture::ValueKind::flag) {
                if (i + 1 >= args.size()) return Unexpected{name + " needs a value"};
                value = args[++i];
            }
            if (auto applied = capture::apply_capture_option(options.capture, *option, value); !applied) {
                return Unexpected{applied.error()};
            }
            continue;
        }
        if (is_remote_option(name)) {
            if (!inline_value && i + 1 >= args.size()) return Unexpected{name + " needs a value"};
            apply_remote_option(options.remote, name, inline_value ? *inline_value : args[++i]);
            continue;
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
    const bool needs_interface = options.action == Action::dlts || options.action == Action::config ||
                                 options.action == Action::reload_option || options.action == Action::capture ||
                                 options.action == Action::validate_filter;
    if (needs_interface && options.interface != kSpiceInterface && options.interface != kVsockInterface) {
        return Unexpected{options.interface.empty()
                              ? std::string("--extcap-interface is required (spice or usbvsock)")
                              : "unknown interface '" + options.interface + "' (this extcap offers spice and usbvsock)"};
    }
    options.capture.kind = options.interface == kVsockInterface ? StreamKind::usb_vsock : StreamKind::spice;
    if (!turned_off.empty()) {
        // The boxes take channels away from --channels (or from all of them).
        auto& channels = options.capture.channels;
        if (channels.empty()) {
            for (std::uint8_t type = 1; type <= kMaxSpiceChannelType; ++type) channels.push_back(type);
        }
        std::erase_if(channels, [&](std::uint8_t type) { return turned_off.count(type) > 0; });
        if (channels.empty()) {
            return Unexpected{std::string("every SPICE channel is turned off: check at least one under Channels in the "
                                          "capture options")};
        }
    }
    if (options.action == Action::capture && options.fifo.empty()) {
        return Unexpected{std::string("--capture needs --fifo PATH (Wireshark passes it; for a test use a file path)")};
    }
    return options;
}

std::string extcap_usage() {
    return std::string("spicecap-extcap " SPICECAP_VERSION)+
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
           "Capture options (the options dialog):\n" +
           capture::capture_options_usage(std::nullopt, capture::OptionSyntax::extcap) +
           "\n"
           "Remote (capture from spicecapd on another host over SSH; docs/remote.md):\n" +
           remote_options_usage() +
           "\n"
           "  --log-level LEVEL    error, warning, message, info, debug; default message\n"
           "  --log-file PATH      log here instead of stderr\n"
           "  --help, --version\n";
}

}  // namespace spicecap::extcap
