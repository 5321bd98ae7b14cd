// Child processes with posix_spawn, /proc/PID/status, temporary folders.
#include "child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace spicecap::bench {
namespace {

pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& output) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string out = output.empty() ? std::string("/dev/null") : output.string();
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    pid_t pid = -1;
    const int err = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(err));
    return pid;
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& output)
    : pid_(spawn(argv, output)) {}

ChildProcess::~ChildProcess() {
    if (running()) {
        ::kill(pid_, SIGKILL);
        (void)wait(std::chrono::seconds(5));
    }
}

bool ChildProcess::running() {
    if (status_) return false;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) status_ = status;
    return !status_ && r == 0;
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
    const auto start = std::chrono::steady_clock::now();
    while (running()) {
        const auto waited = std::chrono::steady_clock::now() - start;
        if (waited >= timeout) return std::nullopt;
        // Fine steps at first, so that timing a short program (time_one_run) is not rounded up.
        std::this_thread::sleep_for(waited < std::chrono::milliseconds(100) ? std::chrono::microseconds(50)
                                                                           : std::chrono::microseconds(2000));
    }
    return status_;
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
    if (running()) ::kill(pid_, SIGTERM);
    if (auto status = wait(grace)) return *status;
    ::kill(pid_, SIGKILL);
    return wait(std::chrono::seconds(5)).value_or(-1);
}

std::optional<double> process_cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(in, text)) return std::nullopt;
    // Fields after the command name (which may contain spaces, so start after its closing parenthesis):
    // state is field 3; utime and stime are fields 14 and 15.
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int number = 3; number <= 15 && fields >> field; ++number) {
        if (number == 14) utime = std::stod(field);
        if (number == 15) stime = std::stod(field);
    }
    return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::optional<std::uint64_t> proc_status_kib(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field + ":", 0) == 0) return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
    }
    return std::nullopt;
}

std::chrono::nanoseconds time_one_run(const std::vector<std::string>& argv) {
    const auto start = std::chrono::steady_clock::now();
    ChildProcess child(argv);
    const auto status = child.wait(std::chrono::seconds(10));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
        throw std::runtime_error(argv[0] + " " + argv[1] + " failed or hung");
    }
    return elapsed;
}

}  // namespace spicecap::bench
