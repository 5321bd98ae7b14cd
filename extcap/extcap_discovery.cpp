// Fixed answers to Wireshark's discovery calls.
#include "extcap_discovery.hpp"

#include <string_view>

#include "wire/socket_path.hpp"
#include "spice/spice_channel.hpp"

namespace spicecap::extcap {

std::string interfaces_text() {
    return "extcap {version=" SPICECAP_VERSION "}\n"
           "interface {value=spice}{display=SPICE capture}\n"
           "interface {value=usbvsock}{display=USB vsock capture}\n"
           "control {number=0}{type=button}{role=logger}{display=Log}{tooltip=Show the capture log}\n";
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
    const std::string socket_default = socket_path(std::nullopt).string();
    out += "arg {number=0}{call=--socket}{display=Daemon socket}{type=fileselect}{mustexist=false}"
           "{default=" + socket_default + "}"
           "{tooltip=The Unix socket of spicecapd (empty: the default path)}{group=Daemon}\n";
    if (spice) {
        out += "arg {number=1}{call=--channels}{display=Channels}{type=multicheck}"
               "{tooltip=SPICE channels to capture}{group=SPICE}\n";
        // Every channel of the one channel table (design §6 lists all but tunnel; leaving it out would
        // silently filter tunnel records as soon as the dialog passes its checked values).
        for (std::uint8_t type = 1; type <= kMaxSpiceChannelType; ++type) {
            const std::string name(*spice_channel_name(type));
            out += "value {arg=1}{value=" + name + "}{display=" + name + "}{enabled=true}{default=true}\n";
        }
    }
    out += "arg {number=2}{call=--session}{display=Session}{type=selector}{reload=true}{placeholder=Reload sessions}"
           "{tooltip=Capture one producer session, or all}{group=Daemon}\n"
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
        out += "arg {number=6}{call=--link-type}{display=Link type}{type=selector}"
               "{tooltip=User link type the Lua dissector is registered on}{group=USB vsock}\n";
        for (int n = 147; n <= 162; ++n) {
            out += "value {arg=6}{value=" + std::to_string(n) + "}{display=USER" + std::to_string(n - 147) + " (" +
                   std::to_string(n) + ")}" + (n == 147 ? "{default=true}" : "{default=false}") + "\n";
        }
    }
    out += "arg {number=7}{call=--log-level}{display=Log level}{type=selector}{group=Debug}\n";
    for (std::string_view level : {"error", "warning", "message", "info", "debug"}) {
        out += "value {arg=7}{value=" + std::string(level) + "}{display=" + std::string(level) + "}" +
               (level == "message" ? "{default=true}" : "{default=false}") + "\n";
    }
    out += "arg {number=8}{call=--log-file}{display=Log file}{type=fileselect}{mustexist=false}"
           "{tooltip=Write the log here instead of stderr}{group=Debug}\n";
    return out;
}

}  // namespace spicecap::extcap
