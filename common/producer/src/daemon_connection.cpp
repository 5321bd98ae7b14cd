#include "daemon_connection.hpp"

#include <cerrno>
#include <cstring>
#include <optional>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "wire/frame.hpp"

namespace spicecap::producer_detail {

namespace {

// A REPLY to a producer is tiny; anything bigger than the protocol's pre-HELLO limit is not a daemon.
constexpr std::uint32_t kMaxReplyBytes = 64 * 1024;

std::string errno_text(int error) { return std::strerror(error); }

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left < 0 ? 0 : static_cast<int>(left + 1);
}

}  // namespace

Expected<DaemonConnection, std::string> DaemonConnection::open(const std::string& path, std::string_view hello_json,
                                                              std::chrono::milliseconds timeout, const EventFd& stop) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof address.sun_path) {
        return Unexpected{"socket path \"" + path + "\" is empty or longer than " +
                          std::to_string(sizeof address.sun_path - 1) + " bytes"};
    }
    std::memcpy(address.sun_path, path.data(), path.size());

    // Non-blocking from the start: connect() to a daemon whose accept backlog is full would otherwise wait.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return Unexpected{"cannot create a Unix socket: " + errno_text(errno)};
    DaemonConnection connection(fd);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        return Unexpected{"cannot connect to " + path + ": " + errno_text(errno)};
    }

    ByteBuffer hello;
    append_frame(hello, FrameType::hello, hello_json);
    const auto deadline = Clock::now() + timeout;
    std::size_t sent = 0;
    FrameDecoder decoder(kMaxReplyBytes);
    while (true) {
        const bool sending = sent < hello.size();
        pollfd fds[2] = {{fd, static_cast<short>(sending ? POLLOUT : POLLIN), 0}, {stop.fd(), POLLIN, 0}};
        const int ready = ::poll(fds, 2, remaining_ms(deadline));
        if (ready < 0 && errno != EINTR) return Unexpected{"poll failed: " + errno_text(errno)};
        if (fds[1].revents != 0) return Unexpected{std::string{"stopped while waiting for the daemon"}};
        if (ready == 0 && Clock::now() >= deadline) {
            return Unexpected{"the daemon at " + path + " did not answer the HELLO within " +
                              std::to_string(timeout.count()) + " ms"};
        }
        if (fds[0].revents == 0) continue;
        if (sending) {
            const ssize_t n = ::send(fd, hello.data() + sent, hello.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno != EAGAIN && errno != EINTR) return Unexpected{"cannot send the HELLO: " + errno_text(errno)};
            if (n > 0) sent += static_cast<std::size_t>(n);
            continue;
        }
        auto space = decoder.prepare(4096);
        const ssize_t n = ::recv(fd, space.data(), space.size(), MSG_DONTWAIT);
        if (n == 0) return Unexpected{"the daemon at " + path + " closed the connection before answering the HELLO"};
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            return Unexpected{"cannot read the daemon's reply: " + errno_text(errno)};
        }
        decoder.commit(static_cast<std::size_t>(n));
        auto frame = decoder.next();
        if (!frame) return Unexpected{"the daemon's reply is not a valid frame: " + frame.error().message};
        if (!frame->has_value()) continue;
        if ((*frame)->type != FrameType::reply) {
            return Unexpected{"the daemon answered the HELLO with a " + std::string{frame_type_name((*frame)->type)} +
                              " frame instead of a REPLY"};
        }
        auto accepted = parse_hello_reply((*frame)->text());
        if (!accepted) return Unexpected{accepted.error()};
        connection.accepted_ = *accepted;
        return connection;
    }
}

DaemonConnection::DaemonConnection(DaemonConnection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), accepted_(other.accepted_), end_reason_(std::move(other.end_reason_)) {}

DaemonConnection::~DaemonConnection() {
    if (fd_ >= 0) ::close(fd_);
}

DaemonConnection::WriteResult DaemonConnection::write_all(std::span<const std::uint8_t> bytes, const EventFd& stop) {
    WriteResult result;
    while (result.written < bytes.size()) {
        const ssize_t n = ::send(fd_, bytes.data() + result.written, bytes.size() - result.written,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            result.written += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN) {
            end_reason_ = "the connection to the daemon broke: " + errno_text(errno);
            result.outcome = WriteOutcome::broken;
            return result;
        }
        // The socket is full: the daemon is busy. Wait for room, or for the producer to stop.
        pollfd fds[2] = {{fd_, POLLOUT, 0}, {stop.fd(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
            end_reason_ = "poll failed: " + errno_text(errno);
            result.outcome = WriteOutcome::broken;
            return result;
        }
        if (fds[1].revents != 0) {
            end_reason_ = "stopped while the daemon was not reading";
            result.outcome = WriteOutcome::stopped;
            return result;
        }
    }
    return result;
}

DaemonConnection::Wake DaemonConnection::wait_idle(const EventFd& data_ready, const EventFd& stop) {
    while (true) {
        pollfd fds[3] = {{data_ready.fd(), POLLIN, 0}, {stop.fd(), POLLIN, 0}, {fd_, POLLIN | POLLRDHUP, 0}};
        if (::poll(fds, 3, -1) < 0) {
            if (errno == EINTR) continue;
            end_reason_ = "poll failed: " + errno_text(errno);
            return Wake::closed;
        }
        if (fds[1].revents != 0) return Wake::stop;
        if (fds[2].revents != 0 && !drain_incoming()) return Wake::closed;
        if (fds[0].revents != 0) return Wake::data_ready;
    }
}

bool DaemonConnection::drain_incoming() {
    // The daemon sends nothing after the REPLY except, best effort, an error REPLY before it closes a
    // connection it considers broken: keep its reason.
    FrameDecoder decoder(kDefaultMaxFrameBytes);
    while (true) {
        auto space = decoder.prepare(4096);
        const ssize_t n = ::recv(fd_, space.data(), space.size(), MSG_DONTWAIT);
        if (n > 0) {
            decoder.commit(static_cast<std::size_t>(n));
            while (true) {
                auto frame = decoder.next();
                if (!frame || !frame->has_value()) break;
                if ((*frame)->type != FrameType::reply) continue;
                if (auto error = reply_error((*frame)->text())) end_reason_ = "the daemon closed the connection: " + *error;
            }
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return true;
        if (end_reason_.empty()) {
            end_reason_ = n == 0 ? "the daemon closed the connection" : "the connection to the daemon broke: " + errno_text(errno);
        }
        return false;
    }
}

}  // namespace spicecap::producer_detail
