// The capture option table (see capture_options.hpp).
#include "capture/capture_options.hpp"

#include <algorithm>
#include <charconv>

#include "spice/spice_channel.hpp"
#include "wire/socket_path.hpp"

namespace spicecap::capture {
namespace {

/// The dialog's per-channel checkboxes are numbered from here (20 + channel type), after every other option.
constexpr int kChannelCheckboxNumbers = 19;

std::string dashed(std::string_view name) { return "--" + std::string(name); }

Expected<long long, std::string> whole_number(const CaptureOption& option, std::string_view text) {
    long long value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < option.min || value > option.max) {
        return Unexpected{dashed(option.name) + " takes a whole number from " + std::to_string(option.min) + " to " +
                          std::to_string(option.max) + ", not '" + std::string(text) + "'"};
    }
    return value;
}

Expected<std::vector<std::uint8_t>, std::string> channel_list(std::string_view text) {
    std::vector<std::uint8_t> channels;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        const std::string_view name = text.substr(start, comma - start);
        start = comma + 1;
        if (name.empty()) continue;
        const auto type = spice_channel_type_from_name(name);
        if (!type) {
            std::string known;
            for (std::uint8_t t = 1; t <= kMaxSpiceChannelType; ++t) {
                known += (t > 1 ? ", " : "") + std::string(*spice_channel_name(t));
            }
            return Unexpected{"--channels: unknown SPICE channel '" + std::string(name) + "' (known: " + known + ")"};
        }
        if (std::find(channels.begin(), channels.end(), *type) == channels.end()) channels.push_back(*type);
    }
    return channels;
}

Expected<bool, std::string> flag_value(const CaptureOption& option, std::string_view text) {
    if (text.empty() || text == "true" || text == "1" || text == "yes") return true;
    if (text == "false" || text == "0" || text == "no") return false;
    return Unexpected{dashed(option.name) + " is on or off (true or false), not '" + std::string(text) + "'"};
}

// Readers and writers of the kinds of values, for the table below.

Expected<Ok, std::string> read_text(std::string_view text, std::string& field) {
    field = std::string(text);
    return Ok{};
}

template <typename Field>
Expected<Ok, std::string> read_number(const CaptureOption& self, std::string_view text, Field& field) {
    auto number = whole_number(self, text);
    if (!number) return Unexpected{number.error()};
    field = static_cast<Field>(*number);
    return Ok{};
}

Expected<Ok, std::string> read_flag(const CaptureOption& self, std::string_view text, bool& field) {
    auto on = flag_value(self, text);
    if (!on) return Unexpected{on.error()};
    field = *on;
    return Ok{};
}

Expected<Ok, std::string> read_channels(std::string_view text, std::vector<std::uint8_t>& field) {
    auto channels = channel_list(text);
    if (!channels) return Unexpected{channels.error()};
    field = std::move(*channels);
    return Ok{};
}

Expected<Ok, std::string> read_session(const CaptureOption& self, std::string_view text,
                                       std::optional<std::uint32_t>& field) {
    if (text.empty() || text == "all") {
        field.reset();
        return Ok{};
    }
    const CaptureOption id_range{.name = self.name, .min = 1, .max = 0xffffffffLL};
    auto id = whole_number(id_range, text);
    if (!id) return Unexpected{id.error() + " (or 'all')"};
    field = static_cast<std::uint32_t>(*id);
    return Ok{};
}

Expected<Ok, std::string> read_format(std::string_view text, OutputFormat& field) {
    if (text == output_format_name(OutputFormat::pcapng)) {
        field = OutputFormat::pcapng;
    } else if (text == output_format_name(OutputFormat::pcap)) {
        field = OutputFormat::pcap;
    } else {
        return Unexpected{"--format is pcapng or pcap, not '" + std::string(text) + "'"};
    }
    return Ok{};
}

std::string show_channels(const std::vector<std::uint8_t>& channels) {
    std::string list;
    for (auto type : channels) list += (list.empty() ? "" : ",") + std::string(*spice_channel_name(type));
    return list;
}

// Every capture option, each with everything said about it in one place.
std::vector<CaptureOption> make_table() {
    using O = CaptureOptions;
    using C = CaptureOption;
    using T = std::string_view;
    return {
        {.name = "socket", .value_name = "PATH", .label = "Daemon socket",
         .help = "spicecapd's socket (default: $SPICECAP_SOCKET, else $XDG_RUNTIME_DIR/spicecap/spicecapd.sock, "
                 "else /tmp/spicecap-$UID/spicecapd.sock)",
         .group = "Daemon", .dialog_number = 0, .kind = ValueKind::path,
         .read = [](O& o, const C&, T t) { return read_text(t, o.socket); },
         .show = [](const O& o) { return o.socket; }},
        {.name = "channels", .value_name = "LIST", .label = "Channels",
         .help = "SPICE channels to capture, comma separated (main,display,inputs,...); default all",
         .group = "SPICE", .only = StreamKind::spice, .dialog_number = 1, .kind = ValueKind::channel_list,
         .read = [](O& o, const C&, T t) { return read_channels(t, o.channels); },
         .show = [](const O& o) { return show_channels(o.channels); }},
        {.name = "session", .value_name = "ID|all", .label = "Session",
         .help = "capture one producer session (its id, see spicecap status), or all", .group = "Daemon",
         .dialog_number = 2, .kind = ValueKind::session,
         .read = [](O& o, const C& c, T t) { return read_session(c, t, o.session); },
         .show = [](const O& o) { return o.session ? std::to_string(*o.session) : std::string("all"); }},
        {.name = "history", .value_name = "SECONDS", .label = "History (seconds)",
         .help = "replay this many seconds of recent traffic before going live", .group = "Daemon",
         .dialog_number = 3, .kind = ValueKind::number, .min = 0, .max = 86400,
         .read = [](O& o, const C& c, T t) { return read_number(c, t, o.history_seconds); },
         .show = [](const O& o) { return std::to_string(o.history_seconds); }},
        {.name = "server-port", .value_name = "PORT", .label = "Server TCP port",
         .help = "TCP port of the synthesized SPICE server (5900 would decode as VNC)", .group = "SPICE",
         .only = StreamKind::spice, .dialog_number = 4, .kind = ValueKind::number, .min = 1, .max = 65535,
         .read = [](O& o, const C& c, T t) { return read_number(c, t, o.server_port); },
         .show = [](const O& o) { return std::to_string(o.server_port); }},
        {.name = "handshake", .label = "Synthetic TCP handshake",
         .help = "frame each channel with SYN and FIN exchanges so Wireshark sees whole conversations",
         .group = "SPICE", .only = StreamKind::spice, .dialog_number = 5, .kind = ValueKind::flag,
         .read = [](O& o, const C& c, T t) { return read_flag(c, t, o.handshake); },
         .show = [](const O& o) { return std::string(o.handshake ? "true" : "false"); }},
        {.name = "link-type", .value_name = "DLT", .label = "Link type",
         .help = "user link type the USB vsock Lua dissector is registered on, 147..162 (USER0..USER15)",
         .group = "USB vsock", .only = StreamKind::usb_vsock, .dialog_number = 6, .kind = ValueKind::link_type,
         .min = vsock::linktype_user0, .max = vsock::linktype_user15,
         .read = [](O& o, const C& c, T t) { return read_number(c, t, o.link_type); },
         .show = [](const O& o) { return std::to_string(o.link_type); }},
        {.name = "format", .value_name = "pcapng|pcap", .label = "Output format",
         .help = "pcapng names each channel's producer and stream, marks the frames spicecap made up and counts "
                 "drops inside the capture; pcap is the classic format without any of that",
         .group = "Output", .dialog_number = 9, .kind = ValueKind::format,
         .read = [](O& o, const C&, T t) { return read_format(t, o.format); },
         .show = [](const O& o) { return std::string(output_format_name(o.format)); }},
        // The extcap takes the filter as Wireshark's --extcap-capture-filter, not from the dialog.
        {.name = "filter", .value_name = "BPF", .label = "Capture filter",
         .help = "BPF capture filter on the frames spicecap writes, e.g. 'tcp port 10002'", .group = "",
         .kind = ValueKind::text,
         .read = [](O& o, const C&, T t) { return read_text(t, o.filter); },
         .show = [](const O& o) { return o.filter; }},
    };
}

// The extcap dialog's syntax puts values between braces.
std::string dialog_text(std::string text) {
    std::replace(text.begin(), text.end(), '{', '(');
    std::replace(text.begin(), text.end(), '}', ')');
    return text;
}

}  // namespace

std::string_view output_format_name(OutputFormat format) noexcept {
    return format == OutputFormat::pcap ? "pcap" : "pcapng";
}

std::filesystem::path CaptureOptions::socket_path() const {
    return spicecap::socket_path(socket.empty() ? std::nullopt : std::optional<std::string_view>(socket));
}

int CaptureOptions::pcap_link_type() const noexcept { return kind == StreamKind::spice ? 1 : link_type; }

const std::vector<CaptureOption>& capture_option_table() {
    static const std::vector<CaptureOption> table = make_table();
    return table;
}

const CaptureOption* find_capture_option(std::string_view name) {
    for (const auto& option : capture_option_table()) {
        if (option.name == name) return &option;
    }
    return nullptr;
}

const CaptureOption* capture_option_by_dialog_number(int dialog_number) {
    for (const auto& option : capture_option_table()) {
        if (option.dialog_number == dialog_number) return &option;
    }
    return nullptr;
}

bool applies_to(const CaptureOption& option, StreamKind kind) noexcept { return !option.only || *option.only == kind; }

Expected<Ok, std::string> apply_capture_option(CaptureOptions& options, const CaptureOption& option,
                                               std::string_view value) {
    auto read = option.read(options, option, value);
    if (!read && option.kind == ValueKind::link_type) return Unexpected{read.error() + " (LINKTYPE_USER0..USER15)"};
    return read;
}

std::string capture_option_value(const CaptureOptions& options, const CaptureOption& option) {
    return option.show(options);
}

std::vector<std::string> capture_arguments(const CaptureOptions& options) {
    const CaptureOptions defaults;
    std::vector<std::string> arguments;
    for (const auto& option : capture_option_table()) {
        if (!applies_to(option, options.kind)) continue;
        const std::string value = capture_option_value(options, option);
        if (value == capture_option_value(defaults, option)) continue;
        if (option.kind == ValueKind::flag) {
            arguments.push_back((value == "true" ? "--" : "--no-") + std::string(option.name));
        } else {
            arguments.push_back(dashed(option.name) + "=" + value);
        }
    }
    return arguments;
}

std::string capture_options_usage(std::optional<StreamKind> kind, OptionSyntax syntax) {
    const CaptureOptions defaults;
    std::string out;
    for (const auto& option : capture_option_table()) {
        if (kind && !applies_to(option, *kind)) continue;
        if (syntax == OptionSyntax::extcap && option.dialog_number < 0) continue;
        std::string left = "  " + dashed(option.name);
        if (option.kind == ValueKind::flag && syntax == OptionSyntax::command) left += ", --no-" + std::string(option.name);
        if (!option.value_name.empty()) left += " " + std::string(option.value_name);
        left.resize(std::max<std::size_t>(left.size() + 2, 24), ' ');
        std::string help(option.help);
        const std::string value = capture_option_value(defaults, option);
        if (option.kind == ValueKind::flag) {
            help += value == "true" ? " (on by default)" : " (off by default)";
        } else if (option.kind != ValueKind::path && option.kind != ValueKind::channel_list && !value.empty()) {
            help += "; default " + value;
        }
        if (!kind && option.only) help += option.only == StreamKind::spice ? " [SPICE]" : " [USB vsock]";
        out += left + help + "\n";
    }
    return out;
}

std::string capture_options_extcap_config(StreamKind kind) {
    const CaptureOptions defaults;
    std::string out;
    for (const auto& option : capture_option_table()) {
        if (option.dialog_number < 0 || !applies_to(option, kind)) continue;
        const std::string number = std::to_string(option.dialog_number);
        std::string arg = "arg {number=" + number + "}{call=" + dashed(option.name) + "}{display=" +
                          std::string(option.label) + "}";
        std::string help(option.help);
        std::string values;
        switch (option.kind) {
            case ValueKind::flag:
                arg += "{type=boolflag}{default=" + capture_option_value(defaults, option) + "}";
                break;
            case ValueKind::number:
                arg += "{type=integer}{range=" + std::to_string(option.min) + "," + std::to_string(option.max) +
                       "}{default=" + capture_option_value(defaults, option) + "}";
                break;
            case ValueKind::text:
                arg += "{type=string}";
                break;
            case ValueKind::path:
                // Empty means the default rule: a long default path in the field would show cut off on the
                // left, so the tooltip names it in full instead.
                arg += "{type=string}{placeholder=default (see tooltip)}";
                help += ". Leave empty for the default, now " + defaults.socket_path().string();
                break;
            case ValueKind::channel_list:
                // One checkbox per channel of the channel table (--channel-NAME true|false) rather than a
                // multicheck: Wireshark 4.0 takes no default for a multicheck, so its boxes showed unchecked at
                // the dialog's first open and after Restore Defaults. Booleans keep their defaults.
                for (std::uint8_t type = 1; type <= kMaxSpiceChannelType; ++type) {
                    const std::string name(*spice_channel_name(type));
                    out += "arg {number=" + std::to_string(kChannelCheckboxNumbers + type) + "}{call=--channel-" + name +
                           "}{display=" + name + " channel}{type=boolean}{default=true}{tooltip=Capture the SPICE " +
                           name + " channel}{group=Channels}\n";
                }
                continue;
            case ValueKind::session:
                arg += "{type=selector}{reload=true}{placeholder=Reload sessions}{default=all}";
                help += kind == StreamKind::spice ? " (Reload lists the daemon's SPICE sessions)"
                                                  : " (Reload lists the daemon's USB vsock sessions)";
                values += "value {arg=" + number + "}{value=all}{display=All sessions}{default=true}\n";
                break;
            case ValueKind::format:
                // A validated text field rather than a selector: Wireshark 4.0 restores no selector default.
                arg += "{type=string}{default=" + capture_option_value(defaults, option) + "}{validation=^(pcapng|pcap)$}";
                break;
            case ValueKind::link_type:
                arg += "{type=selector}{default=" + capture_option_value(defaults, option) + "}";
                for (long long n = option.min; n <= option.max; ++n) {
                    values += "value {arg=" + number + "}{value=" + std::to_string(n) + "}{display=USER" +
                              std::to_string(n - option.min) + " (" + std::to_string(n) + ")}{default=" +
                              (n == defaults.link_type ? "true" : "false") + "}\n";
                }
                break;
        }
        arg += "{tooltip=" + dialog_text(help) + "}{group=" + std::string(option.group) + "}\n";
        out += arg + values;
    }
    return out;
}

}  // namespace spicecap::capture
