// The programs a benchmark runs (spicecapd, the extcaps, producer_bench): started without a shell,
// stopped with SIGTERM like Wireshark stops an extcap, and never left behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "temp_dir.hpp"

namespace spicecap::bench {

/// One child process. Killed (SIGKILL) and reaped when destroyed if it is still running.
class ChildProcess {
public:
    /// Starts argv[0] with these arguments; stdout and stderr go to `output` (appended), or to /dev/null if
    /// empty. Throws std::runtime_error if it cannot be started.
    ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& output = {});
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const noexcept { return pid_; }
    /// True until the process has exited (and been reaped).
    bool running();
    /// Waits up to `timeout` for it to exit; its wait status, or nothing if it is still running.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    /// SIGTERM, then SIGKILL if it has not exited after `grace`. Returns the wait status.
    int stop(std::chrono::milliseconds grace = std::chrono::seconds(3));

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
};

/// CPU time (user + system) a process used so far, from /proc/PID/stat (10 ms resolution), if readable.
std::optional<double> process_cpu_seconds(pid_t pid);

/// A field of /proc/PID/status in KiB ("VmHWM": peak resident set, "VmRSS": current), if readable.
std::optional<std::uint64_t> proc_status_kib(pid_t pid, const std::string& field);

/// A fresh folder, removed with everything in it when destroyed (tests/support/temp_dir.hpp).
using test::TempDir;

/// Runs argv to completion with output discarded; its wall time. Throws if it cannot be started or fails.
std::chrono::nanoseconds time_one_run(const std::vector<std::string>& argv);

}  // namespace spicecap::bench
