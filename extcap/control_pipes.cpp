// The extcap control protocol (Wireshark's doc/extcap.adoc, "CONTROLS"): 'T', 3-byte big-endian length,
// control number, command, payload.
#include "control_pipes.hpp"

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <vector>

namespace spicecap::extcap {
namespace {

// Command numbers of the extcap control protocol.
constexpr int kCommandSet = 1;
constexpr int kCommandAdd = 2;

// Log lines kept while control-out is not open yet.
constexpr std::size_t kMaxPendingLog = 64 * 1024;
// Wireshark ignores control messages with a longer payload.
constexpr std::size_t kMaxPayload = 65535 - 2;

}  // namespace

ControlPipes::ControlPipes(std::string control_in, std::string control_out, std::function<void()> on_eof)
    : in_path_(std::move(control_in)), out_path_(std::move(control_out)), on_eof_(std::move(on_eof)) {
    // Non-blocking: a FIFO's read end opens at once, and Wireshark's blocking open of its write end returns.
    if (!in_path_.empty()) in_fd_ = ::open(in_path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    thread_ = std::thread([this] { run(); });
}

ControlPipes::~ControlPipes() {
    stopping_ = true;
    // A thread blocked opening control-out is released by opening its other end ourselves.
    if (!out_path_.empty()) {
        const int fd = ::open(out_path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) ::close(fd);
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mutex_);
    if (out_fd_ >= 0) ::close(out_fd_);
    if (in_fd_ >= 0) ::close(in_fd_);
}

void ControlPipes::run() {
    // Control-out opens once Wireshark's toolbar reader thread opens its end.
    if (!out_path_.empty()) {
        const int out = ::open(out_path_.c_str(), O_WRONLY | O_CLOEXEC);
        if (stopping_) {
            if (out >= 0) ::close(out);
            return;
        }
        std::unique_lock lock(mutex_);
        out_fd_ = out;
        std::string log;
        log.swap(pending_log_);
        const std::string status = pending_status_;
        lock.unlock();
        if (!log.empty()) write_message(kLoggerControl, kCommandAdd, log);
        if (!status.empty()) write_message(kStatusControl, kCommandSet, status);
        changed_.notify_all();
    }
    if (in_fd_ < 0) return;
    // Wireshark writes to control-in right after opening it (sendChangedValues, then "initialized"). Until a
    // writer came, poll() reports nothing on a FIFO; after the last writer left, POLLHUP.
    std::vector<char> buffer(4096);
    bool wrote = false;
    while (!stopping_) {
        pollfd p{in_fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, 100);
        if (ready < 0 && errno != EINTR) break;
        if (ready <= 0) continue;
        const ssize_t n = ::read(in_fd_, buffer.data(), buffer.size());
        if (n > 0) {
            // Toolbar commands: none of ours needs an answer; the first one says Wireshark is there.
            if (!wrote) {
                wrote = true;
                std::lock_guard lock(mutex_);
                wireshark_wrote_ = true;
                changed_.notify_all();
            }
            continue;
        }
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        break;  // EOF: Wireshark closed its end
    }
    if (!stopping_ && on_eof_) on_eof_();
}

bool ControlPipes::wait_until_connected(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] {
        return stopping_ || ((out_path_.empty() || out_fd_ >= 0) && (in_fd_ < 0 || wireshark_wrote_));
    });
}

void ControlPipes::write_message(int control, int command, const std::string& payload) {
    std::lock_guard lock(mutex_);
    if (out_fd_ < 0) return;
    const std::size_t size = std::min(payload.size(), kMaxPayload);
    const std::size_t length = size + 2;
    std::string message;
    message.reserve(length + 4);
    message.push_back('T');
    message.push_back(static_cast<char>((length >> 16) & 0xff));
    message.push_back(static_cast<char>((length >> 8) & 0xff));
    message.push_back(static_cast<char>(length & 0xff));
    message.push_back(static_cast<char>(control));
    message.push_back(static_cast<char>(command));
    message.append(payload, 0, size);
    const ssize_t written = ::write(out_fd_, message.data(), message.size());
    (void)written;  // Wireshark gone: the capture ends through the FIFO or control-in anyway.
}

void ControlPipes::status(const std::string& text) {
    {
        std::lock_guard lock(mutex_);
        if (out_fd_ < 0) {
            pending_status_ = text;
            return;
        }
    }
    write_message(kStatusControl, kCommandSet, text);
}

void ControlPipes::log_line(const std::string& text) {
    {
        std::lock_guard lock(mutex_);
        if (out_fd_ < 0) {
            if (pending_log_.size() + text.size() + 1 <= kMaxPendingLog) pending_log_ += text + "\n";
            return;
        }
    }
    write_message(kLoggerControl, kCommandAdd, text + "\n");
}

}  // namespace spicecap::extcap
