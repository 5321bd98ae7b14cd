// The daemon's log instance (see log.hpp).
#include "log.hpp"

namespace spicecap::daemon {

Log& daemon_log() {
    static Log log("spicecapd", LogLevel::info);
    return log;
}

void log_init(bool verbose) { daemon_log().set_level(verbose ? LogLevel::debug : LogLevel::info); }

}  // namespace spicecap::daemon
