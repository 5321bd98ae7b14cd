// The reloadable "Session" selector: asks spicecapd which producer sessions exist.
#pragma once

#include <string>

#include "extcap_options.hpp"
#include "base/log.hpp"

namespace spicecap::extcap {

/// `value {arg=2}{value=ID}{display=...}` lines: "all" first, then every session the daemon knows.
/// With the daemon unreachable, only "all" (and the reason, logged).
std::string session_values_text(const ExtcapOptions& options, Log& log);

}  // namespace spicecap::extcap
