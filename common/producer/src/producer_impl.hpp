// What a Producer is made of, shared by the reporting calls (producer.cpp) and the sender thread
// (sender.cpp): the send buffer, the channel registry, the two eventfds the sender sleeps on, and the
// connection status.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "channel_registry.hpp"
#include "daemon_connection.hpp"
#include "event_fd.hpp"
#include "send_buffer.hpp"
#include "spicecap/producer.hpp"

namespace spicecap {


class Producer::Impl {
public:
    /// Bits of Producer::state_ (mirrors of the private constants there).
    static constexpr std::uint8_t kEnabled = 1;
    static constexpr std::uint8_t kConnected = 2;

    /// Starts the sender thread. `state` is the Producer's: the sender sets kConnected in it.
    Impl(const ProducerOptions& options, std::atomic<std::uint8_t>& state);
    /// Flushes for at most the shutdown timeout, then stops and joins the sender thread.
    ~Impl();

    /// Wakes the sender if a buffer operation said so.
    void wake_sender_if(bool needed) noexcept {
        if (needed) data_ready.notify();
    }
    /// Records why something failed, for Producer::last_error.
    void set_last_error(std::string text) noexcept;
    /// Fills the connection part of `stats`.
    void read_status(ProducerStats& stats) const;
    std::string last_error() const;

    const std::string socket_path;
    producer_detail::SendBuffer buffer;
    producer_detail::ChannelRegistry channels;
    /// Signalled by reporting threads when the buffer has something for an idle sender.
    const producer_detail::EventFd data_ready;

private:
    // The sender thread (sender.cpp), starting with `connection` if the constructor's attempt worked.
    void run_sender(std::optional<producer_detail::DaemonConnection> connection) noexcept;
    // Makes the buffer accept messages for a new connection and tells the reporting calls.
    void go_online(const producer_detail::DaemonConnection& connection);
    // Stops accepting messages; what was not written is counted as dropped.
    void go_offline() noexcept;
    // Writes batches until the connection ends; true if it ended because the producer stops.
    bool serve(producer_detail::DaemonConnection& connection);
    void wait_unless_stopped(std::chrono::milliseconds delay) const noexcept;
    // Waits until `until` (SPICECAP_PRODUCER_GATHER_US, sender.cpp); false if the producer stops meanwhile.
    bool gather_until(std::chrono::steady_clock::time_point until) const noexcept;

    const std::string hello_json_;
    const std::chrono::milliseconds shutdown_timeout_;
    std::atomic<std::uint8_t>& state_;
    /// Signalled once, when the producer stops; never cleared.
    const producer_detail::EventFd stop_;
    std::atomic<bool> stopping_{false};

    mutable std::mutex status_mutex_;
    std::string last_error_;           // guarded by status_mutex_
    std::uint64_t connections_ = 0;    // guarded by status_mutex_
    bool connected_ = false;           // guarded by status_mutex_
    std::uint32_t session_ = 0;        // guarded by status_mutex_, 0 while not connected

    std::thread sender_;  // last: starts once everything above is ready
};

}  // namespace spicecap
