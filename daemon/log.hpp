// spicecapd's log lines: the project's journald-friendly Log (spicecap/log.hpp) on stderr, with a
// streaming helper so call sites read as one sentence. Info lines (sessions, subscribers) are on by
// default; --verbose adds debug lines (every connection, every request).
#pragma once

#include <sstream>
#include <string_view>

#include "base/log.hpp"

namespace spicecap::daemon {

using spicecap::LogLevel;

/// Sets up the daemon's log on stderr.
void log_init(bool verbose);
/// The daemon's log.
Log& daemon_log();

/// Streams `parts` into one line at `level`.
template <class... Parts>
void log(LogLevel level, const Parts&... parts) {
    Log& out = daemon_log();
    if (!out.enabled(level)) return;
    std::ostringstream line;
    (line << ... << parts);
    out.write(level, line.str());
}

}  // namespace spicecap::daemon
