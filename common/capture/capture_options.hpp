// The options of a capture, defined once: what they mean, their defaults, how they are read from a command
// line, how --help shows them and how Wireshark's extcap options dialog offers them. The extcap,
// `spicecap record` and `spicecap stream` all read their capture options from this one table, so they
// cannot disagree about a name, a default or a range.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/expected.hpp"
#include "pcap/tcp_synth.hpp"
#include "pcap/vsock_frames.hpp"
#include "wire/record.hpp"

namespace spicecap::capture {

/// How a capture is written.
enum class OutputFormat {
    /// pcapng: the producer and stream of each channel, synthesized frames marked, drop counts and
    /// statistics inside the capture (docs/formats.md "pcapng").
    pcapng,
    /// Classic pcap: frames and timestamps only.
    pcap,
};

/// "pcapng" or "pcap".
std::string_view output_format_name(OutputFormat format) noexcept;

/// What a capture takes. The defaults here are the defaults everywhere.
struct CaptureOptions {
    /// Which interface: SPICE (synthesized Ethernet/IPv4/TCP) or USB vsock (user link type).
    StreamKind kind = StreamKind::spice;
    /// --socket: spicecapd's socket; empty = the usual rule (docs/protocol.md §1).
    std::string socket;
    /// --channels: the SPICE channel types to capture; empty = all.
    std::vector<std::uint8_t> channels;
    /// --session: one producer session, or all of them.
    std::optional<std::uint32_t> session;
    /// --history: seconds of stored traffic to replay before going live.
    std::uint32_t history_seconds = 0;
    /// --server-port: TCP port of the synthesized SPICE server.
    std::uint16_t server_port = kDefaultSpiceServerPort;
    /// --handshake: synthesize SYN/SYN-ACK/ACK and FIN exchanges around each channel.
    bool handshake = true;
    /// --link-type: the link type of USB vsock captures (LINKTYPE_USER0..15).
    int link_type = vsock::default_linktype;
    /// --filter (the extcap: --extcap-capture-filter): BPF on the frames; empty = everything.
    std::string filter;
    /// --format: pcapng or classic pcap.
    OutputFormat format = OutputFormat::pcapng;

    /// The daemon socket this capture uses.
    std::filesystem::path socket_path() const;
    /// The pcap link type of the frames: Ethernet for SPICE, `link_type` for USB vsock.
    int pcap_link_type() const noexcept;
};

/// How an option's value is written and read.
enum class ValueKind {
    flag,          ///< no value on the command line; "true"/"false" as a preference
    number,        ///< a whole number within [min, max]
    text,          ///< any text (a BPF expression)
    path,          ///< a file system path
    channel_list,  ///< SPICE channel names, comma separated
    session,       ///< a session id, or "all"
    link_type,     ///< 147..162, offered as USER0..USER15
    format,        ///< an OutputFormat by name
};

/// One capture option: everything the command lines, --help and the extcap dialog say about it.
struct CaptureOption {
    /// The name without dashes: `--server-port` on every command line; Wireshark keeps the dialog's value
    /// as the preference `extcap.<interface>.serverport`.
    std::string_view name{};
    /// What --help calls its value ("PORT"); empty for a flag.
    std::string_view value_name{};
    /// The dialog's label.
    std::string_view label{};
    /// One line for --help and the dialog's tooltip.
    std::string_view help{};
    /// The dialog group ("Daemon", "SPICE", "USB vsock").
    std::string_view group{};
    /// The interface it applies to; both when absent.
    std::optional<StreamKind> only{};
    /// Its `arg {number=N}` in --extcap-config (the session list's reload names it); -1: not in the dialog.
    int dialog_number = -1;
    /// How the value is written.
    ValueKind kind = ValueKind::text;
    /// Bounds of a number.
    long long min = 0;
    long long max = 0;
    /// Reads a value (already free of its "--name=") into the options; the error is one sentence.
    Expected<Ok, std::string> (*read)(CaptureOptions& options, const CaptureOption& self, std::string_view text) = nullptr;
    /// The option's value in `options`, as read() takes it back.
    std::string (*show)(const CaptureOptions& options) = nullptr;
};

/// Every capture option, in the order --help and the dialog show them.
const std::vector<CaptureOption>& capture_option_table();
/// The option named `name` (without dashes), or nullptr.
const CaptureOption* find_capture_option(std::string_view name);
/// The option with `dialog_number`, or nullptr.
const CaptureOption* capture_option_by_dialog_number(int dialog_number);

/// True when `option` applies to captures of `kind`.
bool applies_to(const CaptureOption& option, StreamKind kind) noexcept;

/// Reads `value` for `option` into `options`. A flag takes "" (present), "true"/"1"/"yes" or
/// "false"/"0"/"no". The error is one sentence naming the option, e.g. "--history takes a whole number
/// from 0 to 86400, not 'x'".
Expected<Ok, std::string> apply_capture_option(CaptureOptions& options, const CaptureOption& option,
                                               std::string_view value);
/// The option's value in `options` as text, as apply_capture_option reads it back ("all" for every
/// session, "" for all channels, "true"/"false" for a flag).
std::string capture_option_value(const CaptureOptions& options, const CaptureOption& option);

/// The command-line arguments that give `options` (only the options that differ from the defaults and
/// apply to its kind), for running a capture elsewhere (`spicecap stream` over SSH).
std::vector<std::string> capture_arguments(const CaptureOptions& options);

/// Whose command line an option list is for.
enum class OptionSyntax {
    /// spicecap-extcap: the dialog's options only (the filter comes as --extcap-capture-filter), and a flag
    /// only in its "on" form, as Wireshark passes it.
    extcap,
    /// The spicecap commands: every option, and a flag's "--no-NAME" form too.
    command,
};

/// --help lines for the options that apply to `kind` (all options when nothing), with their defaults.
std::string capture_options_usage(std::optional<StreamKind> kind, OptionSyntax syntax);

/// The `arg`/`value` lines of --extcap-config for the dialog options of `kind`.
std::string capture_options_extcap_config(StreamKind kind);

}  // namespace spicecap::capture
