// One producer connection to spicecapd (docs/protocol.md §3, §6): connect, HELLO, wait for the REPLY, then
// write frames. Every wait is a poll() that also watches the producer's `stop` eventfd, so stopping the
// producer never waits for a daemon that is slow, stalled or gone.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "event_fd.hpp"
#include "producer_messages.hpp"
#include "base/expected.hpp"

namespace spicecap::producer_detail {

class DaemonConnection {
public:
    /// Connects to the Unix socket at `path`, sends `hello_json` as HELLO and waits up to `timeout` for the
    /// REPLY. Fails with a sentence for the producer's last_error: no daemon, refused, no reply, stopped.
    static Expected<DaemonConnection, std::string> open(const std::string& path, std::string_view hello_json,
                                                       std::chrono::milliseconds timeout, const EventFd& stop);

    DaemonConnection(DaemonConnection&& other) noexcept;
    DaemonConnection& operator=(DaemonConnection&&) = delete;
    DaemonConnection(const DaemonConnection&) = delete;
    ~DaemonConnection();

    /// What the daemon said when it accepted the HELLO.
    const HelloAccepted& accepted() const noexcept { return accepted_; }

    /// How a write_all ended.
    enum class WriteOutcome { complete, broken, stopped };
    struct WriteResult {
        /// Bytes that went into the socket.
        std::size_t written = 0;
        WriteOutcome outcome = WriteOutcome::complete;
    };
    /// Writes all of `bytes`, waiting while the socket is full, until done, the connection breaks, or
    /// `stop` is signalled.
    WriteResult write_all(std::span<const std::uint8_t> bytes, const EventFd& stop);

    /// Why wait_idle returned.
    enum class Wake { data_ready, stop, closed };
    /// Sleeps until `data_ready` or `stop` is signalled or the daemon closes the connection.
    Wake wait_idle(const EventFd& data_ready, const EventFd& stop);

    /// Why the connection ended (after a broken write or a `closed` wake), for last_error.
    const std::string& end_reason() const noexcept { return end_reason_; }

private:
    explicit DaemonConnection(int fd) noexcept : fd_(fd) {}
    // Reads whatever the daemon sent after the REPLY (only an error REPLY before it closes is expected);
    // returns false once the connection is closed.
    bool drain_incoming();

    int fd_ = -1;
    HelloAccepted accepted_;
    std::string end_reason_;
};

}  // namespace spicecap::producer_detail
