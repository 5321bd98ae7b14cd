// Recognising SPICE connections by their first bytes and following them (see tapped_connections.hpp).
#include "tap/tapped_connections.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace spicecap::tap {

namespace {

constexpr std::uint8_t kLinkMagic[4] = {'R', 'E', 'D', 'Q'};

/// A stream socket: SPICE runs over TCP or a Unix stream socket, never over a file or a pipe that
/// happens to start with "REDQ" (a capture file being read, say).
bool is_stream_socket(int fd) noexcept {
    int type = 0;
    socklen_t size = sizeof type;
    return ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) == 0 && type == SOCK_STREAM;
}

}  // namespace

bool could_start_spice(MovedBytes bytes) noexcept {
    std::size_t compared = 0;
    std::size_t left = bytes.count;
    for (const iovec& buffer : bytes.buffers) {
        const std::size_t n = std::min({buffer.iov_len, left, sizeof kLinkMagic - compared});
        if (std::memcmp(buffer.iov_base, kLinkMagic + compared, n) != 0) return false;
        compared += n;
        left -= n;
        if (compared == sizeof kLinkMagic || left == 0) break;
    }
    return true;
}

/// One connection whose first bytes matched "REDQ" so far.
struct TappedConnections::Connection {
    /// "fd 7" or "TLS", for log lines.
    std::string transport;
    /// The direction of the first bytes: the link message's.
    std::optional<Transfer> first;
    /// The first bytes, until there are four to compare with "REDQ".
    std::uint8_t magic[4] = {};
    std::size_t magic_size = 0;
    /// This process sent the link message: it is the client.
    bool client_side = false;
    /// Exists once "REDQ" was seen.
    std::unique_ptr<SpiceChannelFollower> tap;
};

TappedConnections::TappedConnections(FdStates& fds, SpiceChannelSink& sink, TapLog& log)
    : fds_(fds), sink_(sink), log_(log) {}

TappedConnections::~TappedConnections() { finish_all(); }

void TappedConnections::fd_moved(int fd, Transfer transfer, MovedBytes bytes, std::uint64_t timestamp_ns) {
    if (bytes.count == 0) return;
    std::lock_guard lock(mutex_);
    switch (fds_.get(fd)) {
    case FdStates::ignored:
        return;  // decided by another thread meanwhile
    case FdStates::unknown: {
        if (!could_start_spice(bytes) || !is_stream_socket(fd)) {
            fds_.change(fd, FdStates::unknown, FdStates::ignored);
            return;
        }
        auto c = std::make_unique<Connection>();
        c->transport = "fd " + std::to_string(fd);
        by_fd_[fd] = std::move(c);
        fds_.set(fd, FdStates::tracked);
        break;
    }
    case FdStates::tracked:
        break;
    }
    const auto it = by_fd_.find(fd);
    if (it == by_fd_.end()) {  // cannot happen: tracked descriptors have a connection
        fds_.set(fd, FdStates::ignored);
        return;
    }
    if (observe(*it->second, transfer, bytes, timestamp_ns) == Verdict::ignore) {
        finish(*it->second);
        by_fd_.erase(it);
        fds_.set(fd, FdStates::ignored);
    }
}

void TappedConnections::ssl_moved(const void* ssl, Transfer transfer, MovedBytes bytes, std::uint64_t timestamp_ns) {
    if (bytes.count == 0) return;
    std::lock_guard lock(mutex_);
    auto it = by_ssl_.find(ssl);
    if (it == by_ssl_.end()) {
        if (!could_start_spice(bytes)) {
            by_ssl_.emplace(ssl, nullptr);
            return;
        }
        auto c = std::make_unique<Connection>();
        c->transport = "TLS";
        it = by_ssl_.emplace(ssl, std::move(c)).first;
    }
    if (!it->second) return;  // not SPICE
    if (observe(*it->second, transfer, bytes, timestamp_ns) == Verdict::ignore) {
        finish(*it->second);
        it->second.reset();
    }
}

TappedConnections::Verdict TappedConnections::observe(Connection& c, Transfer transfer, MovedBytes bytes,
                                                      std::uint64_t timestamp_ns) {
    std::size_t left = bytes.count;
    for (const iovec& buffer : bytes.buffers) {
        if (left == 0) break;
        std::span<const std::uint8_t> piece(static_cast<const std::uint8_t*>(buffer.iov_base),
                                            std::min(buffer.iov_len, left));
        left -= piece.size();
        if (piece.empty()) continue;
        if (!c.tap) {
            // Still collecting the first four bytes. They all go one way: a peer that answers before the
            // link message is whole does not speak SPICE.
            if (c.first && *c.first != transfer) return Verdict::ignore;
            c.first = transfer;
            const std::size_t take = std::min(piece.size(), sizeof c.magic - c.magic_size);
            std::memcpy(c.magic + c.magic_size, piece.data(), take);
            c.magic_size += take;
            piece = piece.subspan(take);
            if (std::memcmp(c.magic, kLinkMagic, c.magic_size) != 0) return Verdict::ignore;
            if (c.magic_size < sizeof c.magic) continue;
            c.client_side = transfer == Transfer::sent;
            c.tap = std::make_unique<SpiceChannelFollower>(sink_);
            if (!feed(c, transfer, c.magic, timestamp_ns)) return Verdict::ignore;
        }
        if (!piece.empty() && !feed(c, transfer, piece, timestamp_ns)) return Verdict::ignore;
    }
    return Verdict::follow;
}

bool TappedConnections::feed(Connection& c, Transfer transfer, std::span<const std::uint8_t> bytes,
                             std::uint64_t timestamp_ns) {
    const bool client_to_server = (transfer == Transfer::sent) == c.client_side;
    const FollowEvents events = c.tap->feed(
        client_to_server ? Direction::client_to_server : Direction::server_to_client, bytes, timestamp_ns);
    if (events.opened && log_.verbose) {
        log_.line(describe(c) + " opened, " +
                  (c.tap->header_mode() == HeaderMode::mini ? "mini" : "full") + " headers");
    }
    if (!events.stopped) return true;
    // SpiceStreamParser names SASL in its reason when the client chose it: after SASL's exchange the
    // bytes may be encrypted by its security layer, which no tap can read. Say so once, plainly.
    if (events.stopped->find("SASL") != std::string::npos) {
        log_.line(describe(c) + " authenticates with SASL: its messages are not reported (a SASL security "
                                "layer may encrypt them, and spicecap cannot follow the SASL exchange)");
    } else {
        log_.line(describe(c) + ": not reported from here on: " + *events.stopped);
    }
    return false;
}

void TappedConnections::finish(Connection& c) {
    if (!c.tap) return;
    if (c.tap->reporting() && log_.verbose) {
        const FollowCounters& c2s = c.tap->reported(Direction::client_to_server);
        const FollowCounters& s2c = c.tap->reported(Direction::server_to_client);
        log_.line(describe(c) + " closed after " + std::to_string(c2s.messages) + " client and " +
                  std::to_string(s2c.messages) + " server messages");
    }
    c.tap->finish();
}

std::string TappedConnections::describe(const Connection& c) const {
    const std::string channel = c.tap && c.tap->channel() ? c.tap->channel()->to_string() : "SPICE connection";
    return channel + " (" + (c.client_side ? "client" : "server") + " side, " + c.transport + ")";
}

void TappedConnections::fd_reset(int fd) {
    std::lock_guard lock(mutex_);
    if (const auto it = by_fd_.find(fd); it != by_fd_.end()) {
        finish(*it->second);
        by_fd_.erase(it);
    }
    fds_.set(fd, FdStates::unknown);
}

void TappedConnections::fd_duplicated(int from, int to) {
    std::lock_guard lock(mutex_);
    if (const auto it = by_fd_.find(to); it != by_fd_.end()) {
        finish(*it->second);
        by_fd_.erase(it);
    }
    fds_.set(to, fds_.get(from) == FdStates::unknown ? FdStates::unknown : FdStates::ignored);
}

void TappedConnections::ssl_freed(const void* ssl) {
    std::lock_guard lock(mutex_);
    const auto it = by_ssl_.find(ssl);
    if (it == by_ssl_.end()) return;
    if (it->second) finish(*it->second);
    by_ssl_.erase(it);
}

void TappedConnections::finish_all() {
    std::lock_guard lock(mutex_);
    for (auto& [fd, c] : by_fd_) {
        finish(*c);
        fds_.set(fd, FdStates::ignored);
    }
    by_fd_.clear();
    for (auto& [ssl, c] : by_ssl_)
        if (c) finish(*c);
    by_ssl_.clear();
}

std::size_t TappedConnections::connections() const {
    std::lock_guard lock(mutex_);
    std::size_t n = by_fd_.size();
    for (const auto& [ssl, c] : by_ssl_) n += c ? 1 : 0;
    return n;
}

}  // namespace spicecap::tap
