// The answers Wireshark asks for at every start (--extcap-interfaces, --extcap-dlts, --extcap-config).
// They are fixed text: producing them must not touch the daemon or the network.
#pragma once

#include <string>

#include "extcap_options.hpp"

namespace spicecap::extcap {

/// `extcap {version}...`, the interfaces and the status-bar toolbar controls.
std::string interfaces_text();
/// The `dlt {...}` line of the interface in `options` (the vsock link type follows --link-type).
std::string dlts_text(const ExtcapOptions& options);
/// The `arg {...}` and `value {...}` lines of the options dialog of the interface in `options`.
std::string config_text(const ExtcapOptions& options);

}  // namespace spicecap::extcap
