// ssh as a child process (see ssh_process.hpp).
#include "ssh_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

extern char** environ;

namespace spicecap::extcap {
namespace {

/// How much of ssh's stderr is kept: its sentences are short; a chatty remote shell is cut.
constexpr std::size_t kStderrLimit = 16 * 1024;

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

SshOutcome outcome_of(int status) {
    SshOutcome outcome;
    if (WIFEXITED(status)) outcome.exit_status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
    return outcome;
}

}  // namespace

Expected<SshProcess, std::string> SshProcess::start(const std::vector<std::string>& argv) {
    // Our ends are close-on-exec; ssh gets the other ends as its 0, 1 and 2.
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return Unexpected{std::string("cannot make a pipe for ssh: ") + std::strerror(errno)};
    if (::pipe2(out, O_CLOEXEC) != 0) {
        ::close(in[0]), ::close(in[1]);
        return Unexpected{std::string("cannot make a pipe for ssh: ") + std::strerror(errno)};
    }
    if (::pipe2(err, O_CLOEXEC) != 0) {
        ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
        return Unexpected{std::string("cannot make a pipe for ssh: ") + std::strerror(errno)};
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);

    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // A process group of its own (see the header), default signal handling (the extcap ignores SIGPIPE,
    // and ignored signals would stay ignored in ssh), nothing blocked.
    sigset_t defaults, none;
    sigemptyset(&defaults);
    for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&defaults, s);
    sigemptyset(&none);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int spawned = ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    ::close(in[0]), ::close(out[1]), ::close(err[1]);
    if (spawned != 0) {
        ::close(in[1]), ::close(out[0]), ::close(err[0]);
        if (spawned == ENOENT) {
            return Unexpected{"there is no " + argv[0] + " program on this machine's PATH: install the OpenSSH client "
                              "(Debian, Ubuntu: apt install openssh-client)"};
        }
        return Unexpected{"cannot run " + argv[0] + ": " + std::strerror(spawned)};
    }
    SshProcess process;
    process.pid_ = pid;
    process.stdin_ = in[1];
    process.stdout_ = out[0];
    process.stderr_ = err[0];
    return process;
}

SshProcess::SshProcess(SshProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      stdin_(std::exchange(other.stdin_, -1)),
      stdout_(std::exchange(other.stdout_, -1)),
      stderr_(std::exchange(other.stderr_, -1)),
      ended_(std::move(other.ended_)) {}

SshProcess::~SshProcess() {
    close_fd(stdin_);
    close_fd(stdout_);
    close_fd(stderr_);
    if (pid_ > 0 && !ended_) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
}

int SshProcess::take_stdout() { return std::exchange(stdout_, -1); }
int SshProcess::take_stderr() { return std::exchange(stderr_, -1); }
void SshProcess::close_stdin() { close_fd(stdin_); }

void SshProcess::signal(int signal) {
    if (pid_ > 0 && !ended_) ::kill(pid_, signal);
}

std::optional<SshOutcome> SshProcess::wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!ended_ && pid_ > 0) {
        int status = 0;
        const pid_t done = ::waitpid(pid_, &status, WNOHANG);
        if (done == pid_) {
            ended_ = outcome_of(status);
            break;
        }
        if (done < 0 && errno != EINTR) {
            ended_ = SshOutcome{};  // not our child any more: nothing to wait for
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return ended_;
}

Expected<SshResult, std::string> run_ssh(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    auto process = SshProcess::start(argv);
    if (!process) return Unexpected{process.error()};
    process->close_stdin();
    int out = process->take_stdout();
    int err = process->take_stderr();
    SshResult result;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[8192];
    while (out >= 0 || err >= 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
        const int ready = ::poll(fds, 2, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) break;
        for (int i = 0; i < 2; ++i) {
            int& fd = i == 0 ? out : err;
            if (fd < 0 || fds[i].revents == 0) continue;
            const ssize_t n = ::read(fd, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                close_fd(fd);
            } else if (i == 0) {
                result.output.append(buffer, static_cast<std::size_t>(n));
            } else if (result.outcome.stderr_text.size() < kStderrLimit) {
                result.outcome.stderr_text.append(buffer, static_cast<std::size_t>(n));
            }
        }
    }
    const bool finished = out < 0 && err < 0;
    close_fd(out);
    close_fd(err);
    auto ended = process->wait_for(finished ? std::chrono::milliseconds(2000) : std::chrono::milliseconds(0));
    if (!ended) {
        process->signal(SIGTERM);
        (void)process->wait_for(std::chrono::milliseconds(500));
        return Unexpected{"ssh did not finish within " + std::to_string(timeout.count() / 1000) + " s"};
    }
    const std::string stderr_text = std::move(result.outcome.stderr_text);
    result.outcome = *ended;
    result.outcome.stderr_text = stderr_text;
    result.outcome.had_output = !result.output.empty();
    return result;
}

}  // namespace spicecap::extcap
