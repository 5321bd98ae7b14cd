// Leveled logging to stderr (or a file) in a form journald keeps: one line per event, a syslog-style
// "<N>" priority prefix when stderr is journald's stream, the program name otherwise.
#pragma once

#include <cstdio>
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
};

}  // namespace spicecap
