// spicecapd's log: one line per message on stderr. Under systemd (stderr connected to the journal, as
// $JOURNAL_STREAM says) each line starts with a syslog priority prefix "<N>" that journald turns into the
// entry's priority; on a terminal or file it is "spicecapd: LEVEL: message".
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace spicecap::daemon {

/// syslog priorities.
enum class LogLevel { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

/// Decides the line format and whether debug lines are written (--verbose).
void log_init(bool verbose);
/// True if debug lines are written.
bool log_verbose() noexcept;
/// Writes one line (with a single write(2), so lines never interleave).
void log_line(LogLevel level, std::string_view message);

/// Streams `parts` into one line.
template <class... Parts>
void log(LogLevel level, const Parts&... parts) {
    if (level == LogLevel::debug && !log_verbose()) return;
    std::ostringstream line;
    (line << ... << parts);
    log_line(level, line.str());
}

}  // namespace spicecap::daemon
