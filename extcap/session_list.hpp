// The reloadable "Session" selector: asks spicecapd which producer sessions exist.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "extcap_options.hpp"
#include "base/log.hpp"

namespace spicecap::extcap {

/// `value {arg=2}{value=ID}{display=...}` lines: "all" first, then every session the daemon knows (the one
/// on this machine, or with a Remote destination the one there). With the daemon unreachable, only "all"
/// (and the reason, logged).
std::string session_values_text(const ExtcapOptions& options, Log& log);

/// The lines for `sessions` (the daemon's session list as JSON, docs/protocol.md §9) on `interface`: "all",
/// then the sessions that carry its kind of traffic. Any JSON is safe here (it may come from another host).
std::string session_values(const nlohmann::json& sessions, std::string_view interface);

/// The session list in what `spicecap sessions` printed: its last line, as a shell startup file there may
/// have printed lines before it. Nothing if that is not a JSON array.
std::optional<nlohmann::json> sessions_from_output(std::string_view output);

}  // namespace spicecap::extcap
