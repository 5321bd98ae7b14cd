// The system's ssh as a child process of the extcap: its standard input, output and error are pipes of
// ours. It runs in a process group of its own, so that a Ctrl-C in tshark's terminal reaches only the
// extcap, which then ends ssh in order (remote_capture.cpp), instead of ssh dying first and the capture
// reporting a lost connection.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/expected.hpp"
#include "ssh_command.hpp"

namespace spicecap::extcap {

class SshProcess {
public:
    /// Starts `argv` (argv[0] looked up on PATH). The error is one sentence (e.g. no ssh installed).
    static Expected<SshProcess, std::string> start(const std::vector<std::string>& argv);

    SshProcess(SshProcess&& other) noexcept;
    SshProcess& operator=(SshProcess&&) = delete;
    SshProcess(const SshProcess&) = delete;
    SshProcess& operator=(const SshProcess&) = delete;
    /// Kills ssh (SIGKILL) if it still runs, and reaps it: no process is left behind.
    ~SshProcess();

    /// Hands over our ends of ssh's stdout and stderr pipes (-1 once taken).
    int take_stdout();
    int take_stderr();
    /// Closes ssh's standard input: ssh passes the EOF on, and the remote spicecap ends.
    void close_stdin();
    /// Sends `signal` to ssh if it still runs.
    void signal(int signal);
    /// Waits up to `timeout` for ssh to exit; its exit status or signal, or nothing while it still runs.
    std::optional<SshOutcome> wait_for(std::chrono::milliseconds timeout);

private:
    SshProcess() = default;

    pid_t pid_ = -1;
    int stdin_ = -1;
    int stdout_ = -1;
    int stderr_ = -1;
    std::optional<SshOutcome> ended_;
};

/// What a short ssh call printed and how it ended.
struct SshResult {
    std::string output;
    SshOutcome outcome;
};

/// Runs `argv` with standard input closed, to its end or until `timeout` (then ssh is ended), collecting
/// its output: for calls that answer at once, such as the session list.
Expected<SshResult, std::string> run_ssh(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

}  // namespace spicecap::extcap
