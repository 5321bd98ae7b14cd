// Log lines for journald or a terminal.
#include "base/log.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace spicecap {

std::optional<LogLevel> log_level_from_name(std::string_view name) noexcept {
    if (name == "error" || name == "critical") return LogLevel::error;
    if (name == "warning") return LogLevel::warning;
    if (name == "message" || name == "notice") return LogLevel::message;
    if (name == "info") return LogLevel::info;
    if (name == "debug" || name == "noisy") return LogLevel::debug;
    return std::nullopt;
}

Log::Log(std::string program, LogLevel level) : program_(std::move(program)), level_(level), out_(stderr) {
    // systemd sets JOURNAL_STREAM when stderr is connected to the journal; then "<N>" prefixes set the
    // priority of each line (sd-daemon(3)) and the program name is redundant.
    journald_ = std::getenv("JOURNAL_STREAM") != nullptr;
}

Log::~Log() {
    if (owns_out_) std::fclose(out_);
}

std::optional<std::string> Log::open_file(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "a");
    if (f == nullptr) return "cannot open log file " + path + ": " + std::strerror(errno);
    if (owns_out_) std::fclose(out_);
    out_ = f;
    owns_out_ = true;
    journald_ = false;
    return std::nullopt;
}

void Log::write(LogLevel level, std::string_view text) {
    if (!enabled(level)) return;
    static constexpr int kSyslogPriority[] = {3, 4, 5, 6, 7};
    static constexpr const char* kLabel[] = {"error: ", "warning: ", "", "", "debug: "};
    const auto i = static_cast<int>(level);
    const auto print = [&](FILE* to, bool journald) {
        if (journald) {
            std::fprintf(to, "<%d>%.*s\n", kSyslogPriority[i], static_cast<int>(text.size()), text.data());
        } else {
            std::fprintf(to, "%s: %s%.*s\n", program_.c_str(), kLabel[i], static_cast<int>(text.size()), text.data());
        }
        std::fflush(to);
    };
    if (out_ != stderr || !errors_only_on_stderr_ || level == LogLevel::error) print(out_, journald_);
    // With a log file, errors still reach stderr once (the file alone would hide them from Wireshark).
    if (out_ != stderr && errors_only_on_stderr_ && level == LogLevel::error) print(stderr, false);
    if (mirror_) mirror_(level, text);
}

}  // namespace spicecap
