// Fixed answers to Wireshark's discovery calls.
#include "extcap_discovery.hpp"

#include <string_view>

#include "spicecap/socket_path.hpp"
#include "spicecap/spice_channel.hpp"

namespace spicecap::extcap {

std::string interfaces_text() {
    return "extcap {version=" SPICECAP_VERSION "}{display=spicecap}\n"
           "interface {value=spice}{display=SPICE capture}\n"
           "interface {value=usbvsock}{display=USB vsock capture}\n"
           "control {number=0}{type=button}{role=control}{display=spicecap: not capturing}"
           "{tooltip=Records and bytes received from spicecapd, records it dropped, and frames that pass the "
           "capture filter}\n"
           "control {number=1}{type=button}{role=logger}{display=Log}"
           "{tooltip=What the capture did: start, stop, drops (at the dialog's log level)}\n";
}

std::string dlts_text(const ExtcapOptions& options) {
    if (options.interface == kVsockInterface) {
        const int n = options.vsock_link_type;
        return "dlt {number=" + std::to_string(n) + "}{name=USER" + std::to_string(n - 147) +
               "}{display=USB vsock transfers (spicecap)}\n";
    }
    return "dlt {number=1}{name=EN10MB}{display=Ethernet (synthesized TCP carrying SPICE)}\n";
}

std::string config_text(const ExtcapOptions& options) {
    const bool spice = options.interface == kSpiceInterface;
    std::string out;
    // Empty means the default rule (SPICECAP_SOCKET, XDG_RUNTIME_DIR, /tmp): a long default path in the
    // field would show cut off on the left; the tooltip names it in full.
    const std::string socket_default = socket_path(std::nullopt).string();
    out += "arg {number=0}{call=--socket}{display=Daemon socket}{type=string}"
           "{placeholder=default socket (see tooltip)}"
           "{tooltip=The Unix socket of spicecapd. Leave empty for the default: " + socket_default + "}"
           "{group=Daemon}\n";
    if (spice) {
        // One checkbox per channel rather than a multicheck: Wireshark 4.0 starts a multicheck's preference
        // as "" (it takes no default for it), so every box showed unchecked at the dialog's first open and
        // after Restore Defaults. Boolean defaults are honoured. Numbers 20+ keep the others' numbers.
        for (std::uint8_t type = 1; type <= kMaxSpiceChannelType; ++type) {
            const std::string name(*spice_channel_name(type));
            out += "arg {number=" + std::to_string(19 + type) + "}{call=--channel-" + name + "}{display=" + name +
                   " channel}{type=boolean}{default=true}{tooltip=Capture the SPICE " + name +
                   " channel}{group=Channels}\n";
        }
    }
    out += std::string("arg {number=2}{call=--session}{display=Session}{type=selector}{reload=true}") +
           "{placeholder=Reload sessions}{default=all}" +
           (spice ? "{tooltip=Capture one SPICE session, or all (Reload lists the daemon's SPICE sessions)}"
                  : "{tooltip=Capture one USB vsock session, or all (Reload lists the daemon's USB vsock sessions)}") +
           "{group=Daemon}\n"
           "value {arg=2}{value=all}{display=All sessions}{default=true}\n";
    out += "arg {number=3}{call=--history}{display=History (seconds)}{type=integer}{range=0,86400}{default=0}"
           "{tooltip=Replay this many seconds of recent traffic before going live}{group=Daemon}\n";
    if (spice) {
        out += "arg {number=4}{call=--server-port}{display=Server TCP port}{type=integer}{range=1,65535}"
               "{default=5930}{tooltip=TCP port of the synthesized SPICE server (5900 would decode as VNC)}"
               "{group=SPICE}\n";
        out += "arg {number=5}{call=--handshake}{display=Synthetic TCP handshake}{type=boolflag}{default=true}"
               "{tooltip=Frame each channel with SYN and FIN exchanges so Wireshark sees whole conversations}"
               "{group=SPICE}\n";
    } else {
        out += "arg {number=6}{call=--link-type}{display=Link type}{type=selector}{default=147}"
               "{tooltip=User link type the Lua dissector is registered on}{group=USB vsock}\n";
        for (int n = 147; n <= 162; ++n) {
            out += "value {arg=6}{value=" + std::to_string(n) + "}{display=USER" + std::to_string(n - 147) + " (" +
                   std::to_string(n) + ")}" + (n == 147 ? "{default=true}" : "{default=false}") + "\n";
        }
    }
    // A validated text field, not a selector: Wireshark 4.0 parses no default for selectors and radios, so
    // neither Restore Defaults nor the field's reset button could put a selector back to "message".
    out += "arg {number=7}{call=--log-level}{display=Log level}{type=string}{default=message}"
           "{validation=^(error|warning|message|info|debug)$}"
           "{tooltip=error, warning, message, info or debug: how much the capture logs to the toolbar's Log window "
           "and the log file (errors always show in Wireshark's error dialog)}{group=Debug}\n";
    out += "arg {number=8}{call=--log-file}{display=Log file}{type=fileselect}{mustexist=false}"
           "{tooltip=Also append the log to this file}{group=Debug}\n";
    return out;
}

}  // namespace spicecap::extcap
