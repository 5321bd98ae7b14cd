// The command line of spicecap-extcap: Wireshark's extcap arguments plus the options of our dialog.
// Parsing never fails on an argument it does not know (newer Wireshark versions add flags); it fails
// only on a value it cannot use, with a sentence saying which.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/expected.hpp"
#include "capture/capture_options.hpp"
#include "remote/remote_options.hpp"

namespace spicecap::extcap {

/// The two interfaces this extcap offers.
inline constexpr const char* kSpiceInterface = "spice";
inline constexpr const char* kVsockInterface = "usbvsock";

/// What Wireshark (or a person) asked for.
enum class Action {
    help,            ///< --help, or nothing recognisable
    version,         ///< --version / --extcap-version without --extcap-interfaces
    interfaces,      ///< --extcap-interfaces
    dlts,            ///< --extcap-dlts --extcap-interface IF
    config,          ///< --extcap-config --extcap-interface IF
    reload_option,   ///< --extcap-config --extcap-interface IF --extcap-reload-option NAME
    validate_filter, ///< --extcap-capture-filter F --extcap-interface IF, without --capture
    capture,         ///< --capture --extcap-interface IF --fifo PATH
};

struct ExtcapOptions {
    Action action = Action::help;
    /// --extcap-interface: "spice" or "usbvsock".
    std::string interface;
    /// --extcap-version=X as Wireshark passes it at discovery ("4.0"); informational.
    std::string wireshark_version;
    /// --fifo: where the pcap stream goes.
    std::string fifo;
    /// --extcap-control-in / --extcap-control-out: the toolbar pipes, when Wireshark offers them.
    std::string control_in;
    std::string control_out;
    /// --extcap-reload-option: which selector to refill.
    std::string reload_option;

    /// The capture options of our dialog (common/capture/capture_options.hpp), with the interface's kind and
    /// --extcap-capture-filter as the filter. Wireshark passes a boolflag only when it is on, so a flag
    /// that is absent here is off.
    capture::CaptureOptions capture;
    /// --log-level / --log-file: diagnostics (stderr by default; Wireshark keeps only 1 KiB of it).
    std::string log_level = "message";
    std::string log_file;
    /// The Remote options: with a destination, the capture runs there over SSH (remote/remote_capture.hpp).
    RemoteOptions remote;

    /// Arguments that were not recognised (ignored, logged at debug level).
    std::vector<std::string> ignored;
};

/// Parses argv (without argv[0]). Accepts "--name value" and "--name=value".
Expected<ExtcapOptions, std::string> parse_extcap_options(const std::vector<std::string>& args);

/// The usage text for --help.
std::string extcap_usage();

}  // namespace spicecap::extcap
