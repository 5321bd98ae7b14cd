// spicecapd test harness (see harness.hpp).
#include "harness.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace spicecap::test {

DaemonProcess::DaemonProcess(std::vector<std::string> args, std::filesystem::path log_path, std::vector<std::string> env)
    : log_path_(std::move(log_path)) {
    const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) throw std::runtime_error("cannot open " + log_path_.string());
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        ::dup2(log_fd, STDERR_FILENO);
        ::dup2(log_fd, STDOUT_FILENO);
        for (const auto& e : env) {
            if (auto eq = e.find('='); eq != std::string::npos) ::setenv(e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), 1);
            else ::unsetenv(e.c_str());
        }
        std::vector<char*> argv;
        std::string program = SPICECAPD_PATH;
        argv.push_back(program.data());
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(program.c_str(), argv.data());
        std::perror("execv spicecapd");
        ::_exit(127);
    }
    ::close(log_fd);
}

DaemonProcess::~DaemonProcess() {
    if (!exit_status_ && pid_ > 0) stop(SIGKILL);
}

std::unique_ptr<DaemonProcess> DaemonProcess::start(const std::filesystem::path& socket, std::vector<std::string> extra_args,
                                                    const std::filesystem::path& log_path) {
    std::vector<std::string> args = {"--socket", socket.string()};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    auto daemon = std::make_unique<DaemonProcess>(std::move(args), log_path);
    if (!wait_connectable(socket, std::chrono::seconds(10))) {
        throw std::runtime_error("spicecapd did not start listening on " + socket.string() + "; log:\n" + daemon->log_text());
    }
    return daemon;
}

bool DaemonProcess::wait_connectable(const std::filesystem::path& socket, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
        const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        if (ok) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

std::optional<int> DaemonProcess::wait_exit(std::chrono::milliseconds timeout) {
    if (exit_status_) return exit_status_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return exit_status_;
        }
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

int DaemonProcess::stop(int signal) {
    if (exit_status_) return *exit_status_;
    ::kill(pid_, signal);
    if (auto status = wait_exit(std::chrono::seconds(10))) return *status;
    ::kill(pid_, SIGKILL);
    return wait_exit(std::chrono::seconds(10)).value_or(-1);
}

std::string DaemonProcess::log_text() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

bool DaemonProcess::wait_log(const std::string& text, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (log_text().find(text) != std::string::npos) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

namespace {
std::uint64_t status_field_kib(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1)) * 1024;
    }
    return 0;
}
}  // namespace

std::uint64_t DaemonProcess::peak_rss_bytes() const { return status_field_kib(pid_, "VmHWM"); }
std::uint64_t DaemonProcess::rss_bytes() const { return status_field_kib(pid_, "VmRSS"); }

Client::Client(const std::filesystem::path& socket) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const std::string err = std::strerror(errno);
        ::close(fd_);
        throw std::runtime_error("cannot connect to " + socket.string() + ": " + err);
    }
}

Client::~Client() {
    if (fd_ >= 0) ::close(fd_);
}

bool Client::send(std::span<const std::uint8_t> bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        sent += static_cast<std::size_t>(n);
    }
    return true;
}

bool Client::send_frame(FrameType type, std::string_view body) {
    Bytes frame;
    append_frame(frame, type, body);
    return send(frame);
}

bool Client::fill(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (ready <= 0) return false;
    auto space = decoder_.prepare(256 * 1024);
    ssize_t n = ::recv(fd_, space.data(), space.size(), 0);
    if (n <= 0) {
        eof_ = true;
        return false;
    }
    decoder_.commit(static_cast<std::size_t>(n));
    return true;
}

std::optional<OwnedFrame> Client::read_frame(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto next = decoder_.next();
        if (!next) throw std::runtime_error("daemon sent an invalid stream: " + next.error().message);
        if (next.value()) {
            const FrameView& f = **next;
            return OwnedFrame{f.type, Bytes(f.body.begin(), f.body.end())};
        }
        if (eof_) return std::nullopt;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        fill(left);
    }
}

bool Client::wait_eof(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        read_frame(std::chrono::milliseconds(50));
    }
    return true;
}

nlohmann::json Client::hello(const nlohmann::json& hello) {
    if (!send_json(FrameType::hello, hello)) throw std::runtime_error("cannot send HELLO");
    auto reply = read_frame(std::chrono::seconds(10));
    if (!reply || reply->type != FrameType::reply) throw std::runtime_error("no REPLY to HELLO");
    return reply->json();
}

void Client::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

nlohmann::json producer_hello(const std::string& name, const std::string& label) {
    return {{"version", 1}, {"role", "producer"}, {"name", name}, {"pid", ::getpid()}, {"session", label}};
}

nlohmann::json subscriber_hello(const std::string& kind, double history_seconds, nlohmann::json channels,
                                nlohmann::json sessions) {
    nlohmann::json hello = {{"version", 1}, {"role", "subscriber"}, {"kind", kind}, {"history_seconds", history_seconds}};
    if (!channels.is_null()) hello["channels"] = channels;
    if (!sessions.is_null()) hello["sessions"] = sessions;
    return hello;
}

void append_record(Bytes& out, StreamKind kind, Direction direction, std::uint8_t channel_type, std::uint8_t channel_id,
                   std::span<const std::uint8_t> payload, std::uint64_t timestamp_ns) {
    RecordHeader header;
    header.kind = kind;
    header.direction = direction;
    header.channel_type = channel_type;
    header.channel_id = channel_id;
    header.timestamp_ns = timestamp_ns;
    append_record_frame(out, header, payload);
}

Bytes bytes_of(std::string_view text) { return Bytes(text.begin(), text.end()); }

std::pair<int, std::string> run_command(const std::string& cmd) {
    FILE* pipe = ::popen(cmd.c_str(), "r");
    if (pipe == nullptr) return {-1, ""};
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    const int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace spicecap::test
