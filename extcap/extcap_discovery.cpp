// Fixed answers to Wireshark's discovery calls.
#include "extcap_discovery.hpp"

#include <string_view>

#include "spice/spice_channel.hpp"

namespace spicecap::extcap {

std::string interfaces_text() {
    return "extcap {version=" SPICECAP_VERSION "}\n"
           "interface {value=spice}{display=SPICE capture}\n"
           "interface {value=usbvsock}{display=USB vsock capture}\n"
           "control {number=0}{type=button}{role=logger}{display=Log}{tooltip=Show the capture log}\n";
}

std::string dlts_text(const ExtcapOptions& options) {
    if (options.capture.kind == StreamKind::usb_vsock) {
        const int n = options.capture.link_type;
        return "dlt {number=" + std::to_string(n) + "}{name=USER" + std::to_string(n - 147) +
               "}{display=USB vsock transfers (spicecap)}\n";
    }
    return "dlt {number=1}{name=EN10MB}{display=Ethernet (synthesized TCP carrying SPICE)}\n";
}

std::string config_text(const ExtcapOptions& options) {
    std::string out = capture::capture_options_extcap_config(options.capture.kind);
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
