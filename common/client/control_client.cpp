// A blocking control connection: one REQUEST, one REPLY at a time.
#include "client/control_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace spicecap {

ControlClient::~ControlClient() {
    if (fd_ >= 0) ::close(fd_);
}

Expected<Ok, std::string> ControlClient::connect(const std::string& path, int timeout_ms) {
    timeout_ms_ = timeout_ms;
    if (path.size() >= sizeof(sockaddr_un{}.sun_path)) return Unexpected{"socket path " + path + " is too long"};
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Unexpected{std::string("socket(): ") + std::strerror(errno)};
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const int err = errno;
        if (err == ENOENT || err == ECONNREFUSED) {
            return Unexpected{"no spicecapd is listening on " + path +
                              "; start one with `spicecapd &` (or `systemctl --user start spicecapd`)"};
        }
        return Unexpected{"cannot connect to " + path + ": " + std::strerror(err)};
    }
    auto hello = exchange(FrameType::hello, nlohmann::json{{"version", 1}, {"role", "control"}});
    if (!hello) return Unexpected{hello.error()};
    return Ok{};
}

Expected<nlohmann::json, std::string> ControlClient::request(const nlohmann::json& body) {
    return exchange(FrameType::request, body);
}

Expected<nlohmann::json, std::string> ControlClient::exchange(FrameType type, const nlohmann::json& body) {
    ByteBuffer frame;
    append_frame(frame, type, std::string_view(body.dump()));
    for (std::size_t sent = 0; sent < frame.size();) {
        const ssize_t n = ::send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return Unexpected{std::string("cannot write to the daemon: ") + std::strerror(errno)};
        sent += static_cast<std::size_t>(n);
    }
    for (;;) {
        auto next = decoder_.next();
        if (!next) return Unexpected{"the daemon sent something invalid: " + next.error().message};
        if (next.value()) {
            const FrameView& f = **next;
            if (f.type != FrameType::reply) {
                return Unexpected{"the daemon sent a " + std::string(frame_type_name(f.type)) + " frame"};
            }
            nlohmann::json reply = nlohmann::json::parse(f.text(), nullptr, false);
            if (!reply.is_object() || !reply.value("ok", false)) {
                return Unexpected{"the daemon said: " +
                                  (reply.is_object() ? reply.value("error", std::string("(no reason)")) : "(no reply)")};
            }
            return reply;
        }
        pollfd p{fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, timeout_ms_);
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) return Unexpected{"the daemon did not answer within " + std::to_string(timeout_ms_) + " ms"};
        auto space = decoder_.prepare(64 * 1024);
        const ssize_t n = ::recv(fd_, space.data(), space.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return Unexpected{std::string("the daemon closed the connection")};
        decoder_.commit(static_cast<std::size_t>(n));
    }
}

}  // namespace spicecap
