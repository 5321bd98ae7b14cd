// The tap's bookkeeping: which descriptors and TLS connections of the process carry SPICE, recognised by
// their first bytes, and one SpiceChannelFollower per SPICE connection that cuts its bytes into messages for
// the sink. The interposed libc and OpenSSL calls (interposer.cpp) hand every byte they moved here.
//
// Recognition: a SPICE channel connection starts with the client's link message, whose first four bytes
// are "REDQ" (the server's link reply starts with "REDQ" too, but comes second). So the first bytes moved
// on a connection, in either direction, decide: "REDQ" and a stream socket (or a TLS connection's
// plaintext) is SPICE, and the direction they went says which side this process is: sent = client,
// received = server. Anything else is ignored from then on, including a TLS connection's ciphertext on its
// socket. The four bytes may arrive one call at a time.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "tap/fd_states.hpp"
#include "follow/spice_channel_follower.hpp"

namespace spicecap::tap {

/// Which way bytes went, seen from this process.
enum class Transfer : std::uint8_t { sent, received };

/// The bytes one successful call moved: its buffers and the count it returned (a short read or write
/// fills only the first `count` bytes of the buffers).
struct MovedBytes {
    std::span<const iovec> buffers;
    std::size_t count = 0;
};

/// True if `bytes` (the first bytes ever moved on a connection, possibly fewer than four) can still be the
/// start of "REDQ". What the interposer checks without a lock before it asks TappedConnections.
bool could_start_spice(MovedBytes bytes) noexcept;

/// Where the tap writes its few lines (a problem with one connection, or with verbose on, every channel
/// opened and closed).
class TapLog {
public:
    virtual ~TapLog() = default;
    virtual void line(const std::string& text) = 0;
    /// Also log channels opened and closed.
    bool verbose = false;
};

class TappedConnections {
public:
    /// `fds` is the process-wide descriptor table this object keeps up to date; `sink` gets the channels.
    TappedConnections(FdStates& fds, SpiceChannelSink& sink, TapLog& log);
    TappedConnections(const TappedConnections&) = delete;
    TappedConnections& operator=(const TappedConnections&) = delete;
    /// Closes every channel still open at the sink.
    ~TappedConnections();

    /// A call moved bytes on descriptor `fd` (any kind of descriptor: the first bytes decide).
    /// `timestamp_ns` is when (CLOCK_REALTIME).
    void fd_moved(int fd, Transfer transfer, MovedBytes bytes, std::uint64_t timestamp_ns);
    /// SSL_read/SSL_write moved plaintext on the TLS connection `ssl`.
    void ssl_moved(const void* ssl, Transfer transfer, MovedBytes bytes, std::uint64_t timestamp_ns);

    /// `fd` was closed, or is a new descriptor (socket, accept): whatever it was is over.
    void fd_reset(int fd);
    /// `to` is now a duplicate of `from` (dup, dup2, dup3; `to` was closed first if open). Bytes moved
    /// through a duplicate of a followed connection are not followed (the original descriptor is).
    void fd_duplicated(int from, int to);
    /// SSL_free: the TLS connection is over.
    void ssl_freed(const void* ssl);
    /// Closes every channel at the sink (the process exits) and forgets every connection.
    void finish_all();

    /// Held while any connection is being looked at; the fork handlers hold it across fork().
    std::mutex& mutex() noexcept { return mutex_; }
    /// Connections being looked at now (recognised or still undecided), for tests.
    std::size_t connections() const;

private:
    struct Connection;
    enum class Verdict : std::uint8_t { follow, ignore };

    Verdict observe(Connection& c, Transfer transfer, MovedBytes bytes, std::uint64_t timestamp_ns);
    bool feed(Connection& c, Transfer transfer, std::span<const std::uint8_t> bytes, std::uint64_t timestamp_ns);
    void finish(Connection& c);
    std::string describe(const Connection& c) const;

    FdStates& fds_;
    SpiceChannelSink& sink_;
    TapLog& log_;
    mutable std::mutex mutex_;
    std::unordered_map<int, std::unique_ptr<Connection>> by_fd_;
    /// TLS connections: a null pointer marks one that is not SPICE (looked up on every SSL_read/write).
    std::unordered_map<const void*, std::unique_ptr<Connection>> by_ssl_;
};

}  // namespace spicecap::tap
