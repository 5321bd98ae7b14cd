// Fixed answers to Wireshark's discovery calls.
#include "extcap_discovery.hpp"

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
    if (options.capture.kind == StreamKind::usb_vsock) {
        const int n = options.capture.link_type;
        return "dlt {number=" + std::to_string(n) + "}{name=USER" + std::to_string(n - 147) +
               "}{display=USB vsock transfers (spicecap)}\n";
    }
    return "dlt {number=1}{name=EN10MB}{display=Ethernet (synthesized TCP carrying SPICE)}\n";
}

std::string config_text(const ExtcapOptions& options) {
    std::string out = capture::capture_options_extcap_config(options.capture.kind);
    out += remote_options_extcap_config();
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
