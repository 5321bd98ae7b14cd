// stderr logging in a form journald keeps (see log.hpp).
#include "log.hpp"

#include <cerrno>
#include <cstdlib>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

namespace spicecap::daemon {

namespace {

bool g_verbose = false;
bool g_journal = false;

// systemd sets JOURNAL_STREAM=DEVICE:INODE of the stream it connected to stderr.
bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) return false;
    struct stat st {};
    if (::fstat(STDERR_FILENO, &st) != 0) return false;
    return std::string(stream) == std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

std::string_view level_word(LogLevel level) {
    switch (level) {
        case LogLevel::error: return "error";
        case LogLevel::warning: return "warning";
        case LogLevel::notice: return "notice";
        case LogLevel::info: return "info";
        case LogLevel::debug: return "debug";
    }
    return "info";
}

}  // namespace

void log_init(bool verbose) {
    g_verbose = verbose;
    g_journal = stderr_is_journal();
}

bool log_verbose() noexcept { return g_verbose; }

void log_line(LogLevel level, std::string_view message) {
    if (level == LogLevel::debug && !g_verbose) return;
    std::string line;
    line.reserve(message.size() + 32);
    if (g_journal) {
        line += '<';
        line += std::to_string(static_cast<int>(level));
        line += '>';
    } else {
        line += "spicecapd: ";
        line += level_word(level);
        line += ": ";
    }
    line += message;
    line += '\n';
    // A log line that cannot be written is lost; the daemon carries on.
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
        ssize_t n = ::write(STDERR_FILENO, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

}  // namespace spicecap::daemon
