// The producer tests' stand-in daemon (see producer_listener.hpp).
#include "producer_listener.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <system_error>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace spicecap::test {

namespace {

using Clock = std::chrono::steady_clock;

enum Command { kNone = 0, kKill = 1, kRestart = 2, kStop = 3, kPoke = 4 };

[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

}  // namespace

TempSocketPath::TempSocketPath() : path_((dir_.path() / "spicecapd.sock").string()) {}

struct ProtocolListener::Peer {
    int fd = -1;
    std::size_t index = 0;  // into received_
    FrameDecoder decoder{kDefaultMaxFrameBytes};
    bool got_hello = false;
    bool replied = false;
    Clock::time_point reply_at{};
};

ProtocolListener::ProtocolListener(std::string path, Options options)
    : path_(std::move(path)), options_(std::move(options)) {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) fail("eventfd");
    listen_now();
    thread_ = std::thread([this] { run(); });
}

ProtocolListener::~ProtocolListener() {
    command(kStop);
    thread_.join();
    ::close(wake_fd_);
}

void ProtocolListener::listen_now() {
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd_ < 0) fail("socket");
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
    ::unlink(path_.c_str());
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) fail("bind");
    if (::listen(listen_fd_, 64) != 0) fail("listen");
}

void ProtocolListener::command(int code) {
    std::unique_lock lock(mutex_);
    const auto done_before = commands_done_;
    pending_command_ = code;
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    changed_.wait(lock, [&] { return commands_done_ != done_before; });
}

void ProtocolListener::pause_reading() {
    reading_ = false;
    command(kPoke);  // returns once the thread stopped polling the connections
}

void ProtocolListener::resume_reading() {
    reading_ = true;
    command(kPoke);
}

void ProtocolListener::kill() { command(kKill); }
void ProtocolListener::restart() {
    reading_ = true;  // a new daemon reads
    command(kRestart);
}

std::vector<ReceivedConnection> ProtocolListener::connections() const {
    std::lock_guard lock(mutex_);
    return received_;
}

std::uint64_t ProtocolListener::total_records() const {
    std::lock_guard lock(mutex_);
    std::uint64_t total = 0;
    for (const auto& c : received_) total += c.record_count;
    return total;
}

std::uint64_t ProtocolListener::total_payload_bytes() const {
    std::lock_guard lock(mutex_);
    std::uint64_t total = 0;
    for (const auto& c : received_) total += c.record_payload_bytes;
    return total;
}

bool ProtocolListener::wait_until(const std::function<bool(const std::vector<ReceivedConnection>&)>& done,
                                  std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return done(received_); });
}

void ProtocolListener::run() {
    std::vector<std::unique_ptr<Peer>> peers;
    const bool refuse = options_.reply.find("\"ok\":false") != std::string::npos;

    auto close_peer = [&](Peer& peer, std::string error) {
        ::close(peer.fd);
        peer.fd = -1;
        std::lock_guard lock(mutex_);
        received_[peer.index].closed = true;
        received_[peer.index].protocol_error = std::move(error);
        changed_.notify_all();
    };
    auto send_reply = [&](Peer& peer) {
        ByteBuffer reply;
        append_frame(reply, FrameType::reply, options_.reply);
        // A REPLY is tiny: it fits in an empty socket buffer at once.
        [[maybe_unused]] auto n = ::send(peer.fd, reply.data(), reply.size(), MSG_NOSIGNAL);
        peer.replied = true;
        if (refuse) close_peer(peer, "");
    };
    auto read_peer = [&](Peer& peer) {
        auto space = peer.decoder.prepare(64 * 1024);
        const ssize_t n = ::recv(peer.fd, space.data(), space.size(), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) {
            close_peer(peer, "");
            return;
        }
        peer.decoder.commit(static_cast<std::size_t>(n));
        std::lock_guard lock(mutex_);
        ReceivedConnection& conn = received_[peer.index];
        while (true) {
            auto frame = peer.decoder.next();
            if (!frame) {
                conn.protocol_error = frame.error().message;
                break;
            }
            if (!frame->has_value()) break;
            const FrameView& view = **frame;
            if (!peer.got_hello) {
                if (view.type != FrameType::hello) conn.protocol_error = "first frame is not HELLO";
                conn.hello = std::string(view.text());
                peer.got_hello = true;
                peer.reply_at = Clock::now() + options_.reply_delay;
                continue;
            }
            if (!peer.replied) ++conn.frames_before_reply;
            if (view.type == FrameType::record) {
                auto record = Record::parse(view.body);
                if (!record) {
                    conn.protocol_error = record.error().message;
                    continue;
                }
                ++conn.record_count;
                conn.record_payload_bytes += record->payload.size();
                if (options_.on_record) options_.on_record(*record);
                if (options_.keep_records) {
                    conn.records.push_back({record->header, {record->payload.begin(), record->payload.end()}});
                    conn.frames.emplace_back(view.type, std::string{});
                }
            } else {
                conn.frames.emplace_back(view.type, std::string(view.text()));
            }
        }
        changed_.notify_all();
    };

    while (true) {
        std::vector<pollfd> fds;
        fds.push_back({wake_fd_, POLLIN, 0});
        fds.push_back({listen_fd_, POLLIN, 0});  // poll ignores fd -1
        std::vector<Peer*> polled;
        int timeout_ms = -1;
        for (auto& peer : peers) {
            if (peer->fd < 0) continue;
            if (peer->got_hello && !peer->replied) {
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(peer->reply_at - Clock::now()).count();
                left = std::max<long>(left, 0);
                timeout_ms = timeout_ms < 0 ? static_cast<int>(left) : std::min(timeout_ms, static_cast<int>(left));
            }
            // Until the HELLO is in, always read; afterwards only while reading is not paused.
            if (!peer->got_hello || reading_) {
                fds.push_back({peer->fd, POLLIN, 0});
                polled.push_back(peer.get());
            }
        }
        ::poll(fds.data(), fds.size(), timeout_ms);

        int command = kNone;
        if (fds[0].revents != 0) {
            std::uint64_t value;
            [[maybe_unused]] auto n = ::read(wake_fd_, &value, sizeof value);
            std::lock_guard lock(mutex_);
            command = std::exchange(pending_command_, kNone);
        }
        if (command == kKill || command == kStop) {
            for (auto& peer : peers) {
                if (peer->fd < 0) continue;
                // SO_LINGER 0: close with a reset, like a killed process whose unread data is discarded.
                linger hard{1, 0};
                ::setsockopt(peer->fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
                close_peer(*peer, "");
            }
            if (listen_fd_ >= 0) ::close(listen_fd_);
            listen_fd_ = -1;
            ::unlink(path_.c_str());
        }
        if (command == kRestart) listen_now();
        if (command != kNone) {
            std::lock_guard lock(mutex_);
            ++commands_done_;
            changed_.notify_all();
            if (command == kStop) return;
            continue;
        }

        if (listen_fd_ >= 0 && fds[1].revents != 0) {
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd >= 0) {
                auto peer = std::make_unique<Peer>();
                peer->fd = fd;
                std::lock_guard lock(mutex_);
                peer->index = received_.size();
                received_.emplace_back();
                peers.push_back(std::move(peer));
            }
        }
        for (std::size_t i = 0; i < polled.size(); ++i) {
            if (fds[i + 2].revents != 0 && polled[i]->fd >= 0) read_peer(*polled[i]);
        }
        for (auto& peer : peers) {
            if (peer->fd >= 0 && peer->got_hello && !peer->replied && Clock::now() >= peer->reply_at) send_reply(*peer);
        }
    }
}

}  // namespace spicecap::test
