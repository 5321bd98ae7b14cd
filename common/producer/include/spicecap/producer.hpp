// The spicecap producer library, C++ API: a program that sends and receives SPICE messages (or USB vsock
// transfers) reports each one here, and the library forwards it to spicecapd, which hands it to Wireshark.
//
//     spicecap::ProducerOptions options;
//     options.name = "ryll";
//     options.session_label = "vm1";
//     spicecap::Producer producer(options);
//     producer.channel_opened({spicecap::spice_channel::display, 0});
//     producer.packet_sent({spicecap::spice_channel::display, 0}, bytes);
//
// Every reporting call is noexcept and never blocks on the daemon: it copies the message into a bounded
// buffer that one background thread writes to the daemon's socket. When the buffer is full the message is
// dropped and counted. While no daemon runs (the thread retries with backoff) or capture is turned off,
// a call costs one relaxed atomic load and is not counted at all.
//
// Needs C++20 (std::span). docs/producer-library.md has the details; the C API is spicecap/producer.h.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "spicecap/header_mode.hpp"

// Symbols of the shared library that programs may use (everything else in it is hidden).
#ifndef SPICECAP_API
#define SPICECAP_API __attribute__((visibility("default")))
#endif

namespace spicecap {

/// SPICE channel types (spice-protocol's SPICE_CHANNEL_*), for SpiceChannel::type.
namespace spice_channel {
inline constexpr std::uint8_t main = 1;
inline constexpr std::uint8_t display = 2;
inline constexpr std::uint8_t inputs = 3;
inline constexpr std::uint8_t cursor = 4;
inline constexpr std::uint8_t playback = 5;
inline constexpr std::uint8_t record = 6;
inline constexpr std::uint8_t tunnel = 7;
inline constexpr std::uint8_t smartcard = 8;
inline constexpr std::uint8_t usbredir = 9;
inline constexpr std::uint8_t port = 10;
inline constexpr std::uint8_t webdav = 11;
}  // namespace spice_channel

/// One SPICE channel of the session: its type and its id.
struct SpiceChannel {
    /// The channel type, 1 (main) .. 11 (webdav): see spice_channel. Messages on other types are dropped
    /// and counted in ProducerStats::invalid_records (the daemon would refuse them).
    std::uint8_t type = 0;
    /// The channel id: 0 for the first channel of a type, 1 for a second display, ...
    std::uint8_t id = 0;
};

/// How a Producer is set up.
struct ProducerOptions {
    /// Who reports (e.g. "ryll"), shown by `spicecap status`. Required: 1..128 bytes.
    std::string name;
    /// A label for this session (e.g. the VM name), at most 256 bytes; offered in Wireshark's session list.
    std::string session_label;
    /// The daemon's socket. Absent or empty: $SPICECAP_SOCKET, else $XDG_RUNTIME_DIR/spicecap/spicecapd.sock,
    /// else /tmp/spicecap-$UID/spicecapd.sock (docs/protocol.md §1), resolved once at construction.
    std::optional<std::string> socket_path;
    /// The most bytes of encoded messages waiting for the sender thread (each message costs its size plus 25
    /// bytes). A message that does not fit is dropped and counted. At most twice this much memory is held:
    /// the waiting messages and the batch being written.
    std::size_t buffer_bytes = 8 * 1024 * 1024;
    /// Whether capture starts turned on (see Producer::set_enabled).
    bool enabled = true;
    /// The constructor makes the first connection attempt itself, so that a program's first messages (a
    /// SPICE link stage) are captured when a daemon runs. No daemon costs no wait; this bounds the wait for
    /// a daemon that accepts the connection but does not answer the HELLO (later attempts: in the background).
    std::chrono::milliseconds connect_timeout{1000};
    /// How long the destructor waits for buffered messages to reach the daemon before it stops the sender
    /// thread and counts the rest as dropped. The destructor never waits longer than this for the daemon.
    std::chrono::milliseconds shutdown_timeout{200};
};

/// Counters since the Producer was created. Once everything is flushed (flush() returned true, or the
/// Producer stopped): accepted_records == delivered_records + dropped_records, same for bytes.
struct ProducerStats {
    /// Messages reported while capture was on (calls made while it was off are not counted anywhere).
    std::uint64_t accepted_records = 0;
    /// Their payload bytes.
    std::uint64_t accepted_bytes = 0;
    /// Messages written completely to the daemon's socket.
    std::uint64_t delivered_records = 0;
    /// Their payload bytes.
    std::uint64_t delivered_bytes = 0;
    /// Messages dropped: buffer full, larger than the daemon accepts, invalid channel type, or lost with a
    /// connection that broke (or was stopped) before they were written.
    std::uint64_t dropped_records = 0;
    /// Their payload bytes.
    std::uint64_t dropped_bytes = 0;
    /// The part of dropped_records that had an invalid SPICE channel type.
    std::uint64_t invalid_records = 0;
    /// channel_opened / channel_closed notices that did not fit in the buffer.
    std::uint64_t dropped_events = 0;
    /// How many times a connection to the daemon was established (its HELLO accepted).
    std::uint64_t connections = 0;
    /// The daemon's id for the current session (in `spicecap status` and Wireshark), 0 while not connected.
    std::uint32_t session = 0;
    /// True while connected to a daemon that accepted the HELLO.
    bool connected = false;
};

/// Reports one program's SPICE messages and USB vsock transfers to spicecapd. Safe to call from any number
/// of threads at once (e.g. one per SPICE channel). Not copyable or movable: it owns a thread that refers
/// to it.
class SPICECAP_API Producer {
public:
    /// Connects to the daemon if one runs (see ProducerOptions::connect_timeout), then starts the sender
    /// thread, which (re)connects in the background whenever there is no connection. Throws
    /// std::invalid_argument for an empty or too long name or label, std::system_error if no thread or
    /// eventfd can be created.
    explicit Producer(ProducerOptions options);
    /// Waits up to ProducerOptions::shutdown_timeout for buffered messages to be written, then stops the
    /// sender thread (bounded time, even with a daemon that stopped reading). Must not race with calls.
    ~Producer();

    Producer(const Producer&) = delete;
    Producer& operator=(const Producer&) = delete;

    /// A SPICE message this program sent (client -> server), exactly as sent. `timestamp_ns`: when,
    /// in nanoseconds since the Unix epoch; 0 = now (CLOCK_REALTIME, read by this call).
    void packet_sent(SpiceChannel channel, std::span<const std::uint8_t> message, std::uint64_t timestamp_ns = 0) noexcept {
        if (state_.load(std::memory_order_relaxed) == kCapturing) record_spice(0, channel, message.data(), message.size(), timestamp_ns);
    }
    void packet_sent(SpiceChannel channel, const void* data, std::size_t size, std::uint64_t timestamp_ns = 0) noexcept {
        if (state_.load(std::memory_order_relaxed) == kCapturing) record_spice(0, channel, data, size, timestamp_ns);
    }
    /// A SPICE message this program received (server -> client), exactly as received.
    void packet_received(SpiceChannel channel, std::span<const std::uint8_t> message, std::uint64_t timestamp_ns = 0) noexcept {
        if (state_.load(std::memory_order_relaxed) == kCapturing) record_spice(1, channel, message.data(), message.size(), timestamp_ns);
    }
    void packet_received(SpiceChannel channel, const void* data, std::size_t size, std::uint64_t timestamp_ns = 0) noexcept {
        if (state_.load(std::memory_order_relaxed) == kCapturing) record_spice(1, channel, data, size, timestamp_ns);
    }

    /// A USB OUT transfer (host -> device) of the usb_vsock protocol on USB link `link` (0 with one device):
    /// the whole transfer, one or more vsock packets back to back.
    void usb_transfer_out(std::uint8_t link, std::span<const std::uint8_t> transfer, std::uint64_t timestamp_ns = 0) noexcept {
        if (state_.load(std::memory_order_relaxed) == kCapturing) record_usb(0, link, transfer.data(), transfer.size(), timestamp_ns);
    }
    void usb_transfer_out(std::uint8_t link, const void* data, std::size_t size, std::uint64_t timestamp_ns = 0) noexcept {
        if (state_.load(std::memory_order_relaxed) == kCapturing) record_usb(0, link, data, size, timestamp_ns);
    }
    /// A USB IN transfer (device -> host) on USB link `link`.
    void usb_transfer_in(std::uint8_t link, std::span<const std::uint8_t> transfer, std::uint64_t timestamp_ns = 0) noexcept {
        if (state_.load(std::memory_order_relaxed) == kCapturing) record_usb(1, link, transfer.data(), transfer.size(), timestamp_ns);
    }
    void usb_transfer_in(std::uint8_t link, const void* data, std::size_t size, std::uint64_t timestamp_ns = 0) noexcept {
        if (state_.load(std::memory_order_relaxed) == kCapturing) record_usb(1, link, data, size, timestamp_ns);
    }

    /// A SPICE channel was opened, using `header` data headers. Remembered until channel_closed: the daemon
    /// is told now if connected and again on every later (re)connection, and the channel's messages carry
    /// the header mode. Sent whether capture is on or off, so that turning it on later needs no replay.
    void channel_opened(SpiceChannel channel, HeaderMode header = HeaderMode::mini) noexcept;
    /// A SPICE channel was closed.
    void channel_closed(SpiceChannel channel) noexcept;

    /// Turns capture on or off. Off, calls cost one relaxed atomic load and are not counted; the connection
    /// to the daemon is kept (channel events still go through).
    void set_enabled(bool enabled) noexcept;
    /// Whether capture is turned on (set_enabled), connected or not.
    bool enabled() const noexcept { return (state_.load(std::memory_order_relaxed) & kEnabled) != 0; }
    /// Whether calls are being recorded right now: enabled and connected to a daemon.
    bool capturing() const noexcept { return state_.load(std::memory_order_relaxed) == kCapturing; }

    /// Waits until every message accepted before this call was written to the daemon's socket or counted
    /// as dropped (and, while connected, the drop counts were reported to the daemon). Returns false if
    /// that did not happen within `timeout`. Never throws.
    bool flush(std::chrono::milliseconds timeout) noexcept;

    /// The counters, read consistently (all at one instant).
    ProducerStats stats() const noexcept;
    /// Why the last connection attempt failed or the last connection ended (e.g. "cannot connect to
    /// /run/user/1000/spicecap/spicecapd.sock: No such file or directory"); empty if none failed yet.
    std::string last_error() const;
    /// The socket path this producer connects to.
    std::string socket_path() const;

private:
    class Impl;

    // Bits of state_: capture turned on by the user; connected to a daemon that accepted the HELLO.
    static constexpr std::uint8_t kEnabled = 1;
    static constexpr std::uint8_t kConnected = 2;
    static constexpr std::uint8_t kCapturing = kEnabled | kConnected;

    void record_spice(std::uint8_t direction, SpiceChannel channel, const void* data, std::size_t size,
                      std::uint64_t timestamp_ns) noexcept;
    void record_usb(std::uint8_t direction, std::uint8_t link, const void* data, std::size_t size,
                    std::uint64_t timestamp_ns) noexcept;

    // The only thing a disabled call touches, read with one relaxed load.
    std::atomic<std::uint8_t> state_{0};
    std::unique_ptr<Impl> impl_;
};

}  // namespace spicecap
