// Leveled logging to stderr (or a file) in a form journald keeps: one line per event, a syslog-style
// "<N>" priority prefix when stderr is journald's stream, the program name otherwise.
#pragma once

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace spicecap {

enum class LogLevel { error = 0, warning = 1, message = 2, info = 3, debug = 4 };

/// "error", "warning", "message", "info", "debug" -> level.
std::optional<LogLevel> log_level_from_name(std::string_view name) noexcept;

/// Where a program's log lines go. One per program; not thread-safe beyond what stdio guarantees per call.
class Log {
public:
    explicit Log(std::string program, LogLevel level = LogLevel::message);
    ~Log();

    /// Sends lines to `path` (appending) instead of stderr; returns an error sentence on failure.
    std::optional<std::string> open_file(const std::string& path);
    void set_level(LogLevel level) noexcept { level_ = level; }
    /// Errors only on stderr: every other line goes to the log file (if one is open) and the mirror, never
    /// to stderr; errors go to stderr as well as to those. For programs whose stderr a person reads as
    /// "something failed" (Wireshark shows an extcap's stderr in an error dialog).
    void set_errors_only_on_stderr(bool on) noexcept { errors_only_on_stderr_ = on; }
    /// Also hands every enabled line (without the program name) to `mirror`, e.g. a GUI's log window.
    void set_mirror(std::function<void(LogLevel, std::string_view)> mirror) { mirror_ = std::move(mirror); }
    LogLevel level() const noexcept { return level_; }
    bool enabled(LogLevel level) const noexcept { return level <= level_; }

    void write(LogLevel level, std::string_view text);
    void error(std::string_view text) { write(LogLevel::error, text); }
    void warning(std::string_view text) { write(LogLevel::warning, text); }
    void message(std::string_view text) { write(LogLevel::message, text); }
    void info(std::string_view text) { write(LogLevel::info, text); }
    void debug(std::string_view text) { write(LogLevel::debug, text); }

private:
    std::string program_;
    LogLevel level_;
    FILE* out_;
    bool owns_out_ = false;
    bool journald_ = false;
    bool errors_only_on_stderr_ = false;
    std::function<void(LogLevel, std::string_view)> mirror_;
};

}  // namespace spicecap
