// The extcap control protocol: 'T', 3-byte big-endian length, control number, command, payload.
#include "control_pipes.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace spicecap::extcap {
namespace {

// Command numbers of Wireshark's extcap control protocol (doc/extcap.adoc, "CONTROLS").
constexpr int kCommandAdd = 2;
constexpr int kCommandStatusbar = 6;

}  // namespace

ControlPipes::ControlPipes(std::string control_in, std::string control_out, std::function<void()> on_eof)
    : in_path_(std::move(control_in)), out_path_(std::move(control_out)), on_eof_(std::move(on_eof)) {
    thread_ = std::thread([this] { run(); });
}

ControlPipes::~ControlPipes() {
    stopping_ = true;
    // A thread blocked opening a FIFO is released by opening the other end ourselves.
    for (const std::string* path : {&in_path_, &out_path_}) {
        if (path->empty()) continue;
        const int fd = ::open(path->c_str(), (path == &in_path_ ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) ::close(fd);
    }
    // The thread may still be blocked reading control-in from a Wireshark that keeps it open; the
    // process is ending, which releases it and both descriptors.
    if (thread_.joinable()) thread_.detach();
}

void ControlPipes::run() {
    // Wireshark opens its end of control-in for writing from its UI thread and reads control-out from a
    // thread of its own, so control-in is opened first (as Wireshark's own extcaps do).
    int in = -1;
    if (!in_path_.empty()) in = ::open(in_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (!out_path_.empty() && !stopping_) {
        const int out = ::open(out_path_.c_str(), O_WRONLY | O_CLOEXEC);
        if (out >= 0) out_fd_ = out;
    }
    if (in < 0 || stopping_) return;
    std::vector<char> buffer(4096);
    for (;;) {
        const ssize_t n = ::read(in, buffer.data(), buffer.size());
        if (n > 0) continue;  // toolbar commands: none of ours needs an answer
        if (n < 0 && errno == EINTR) continue;
        break;
    }
    if (!stopping_ && on_eof_) on_eof_();
}

void ControlPipes::send(int control, int command, const std::string& payload) {
    const int fd = out_fd_.load();
    if (fd < 0) return;
    const std::size_t length = payload.size() + 2;
    std::string message;
    message.reserve(length + 4);
    message.push_back('T');
    message.push_back(static_cast<char>((length >> 16) & 0xff));
    message.push_back(static_cast<char>((length >> 8) & 0xff));
    message.push_back(static_cast<char>(length & 0xff));
    message.push_back(static_cast<char>(control));
    message.push_back(static_cast<char>(command));
    message += payload;
    std::lock_guard lock(write_mutex_);
    const ssize_t written = ::write(fd, message.data(), message.size());
    (void)written;  // Wireshark gone: the capture ends through the FIFO or control-in anyway.
}

void ControlPipes::status(const std::string& text) { send(kLoggerControl, kCommandStatusbar, text); }
void ControlPipes::log_line(const std::string& text) { send(kLoggerControl, kCommandAdd, text + "\n"); }

}  // namespace spicecap::extcap
