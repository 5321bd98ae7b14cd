// The sink of `spicecap proxy` and `spicecap replay`: reports tapped SPICE channels to spicecapd through
// the producer library, one producer (= one session in the daemon and in Wireshark) per program run.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <set>
#include <string>

#include "follow/spice_channel_follower.hpp"
#include "spicecap/producer.hpp"

namespace spicecap {

/// How the producer is set up.
struct ProducerSinkOptions {
    /// Producer name shown by `spicecap status` ("spicecap-proxy", "spicecap-replay").
    std::string name;
    /// Session label (--session), offered in Wireshark's session list.
    std::string session_label;
    /// --socket; empty: the usual rule (docs/protocol.md §1).
    std::string socket_path;
    /// The producer's send buffer.
    std::size_t buffer_bytes = 8u * 1024 * 1024;
    /// Wait for the daemon whenever half the buffer is unsent instead of dropping messages. For replay,
    /// which may run faster than the daemon; never for the proxy, which must not be slowed down.
    bool lossless = false;
};

/// Reports to spicecapd. Refuses a channel that is already open from another connection: one producer
/// session has one stream per channel, and two clients' messages interleaved in it would decode as garbage.
class ProducerChannelSink final : public SpiceChannelSink {
public:
    /// Starts the producer; it connects now if a daemon answers within a second, else keeps trying in
    /// the background. Fails only for invalid options (e.g. a session label above 256 bytes).
    static Expected<std::unique_ptr<ProducerChannelSink>, std::string> create(const ProducerSinkOptions& options);

    Expected<Ok, std::string> channel_opened(SpiceChannelKey channel, HeaderMode mode) override;
    void message(SpiceChannelKey channel, Direction direction, std::span<const std::uint8_t> bytes,
                 std::uint64_t timestamp_ns) override;
    void channel_closed(SpiceChannelKey channel) override;

    /// Waits until everything reported so far reached the daemon (or was counted as dropped).
    bool flush(std::chrono::milliseconds timeout) { return producer_->flush(timeout); }
    /// Connected to a daemon that accepted the producer.
    bool connected() const { return producer_->stats().connected; }
    /// The producer's counters.
    ProducerStats stats() const { return producer_->stats(); }
    /// Why the last connection attempt failed, or "".
    std::string last_error() const { return producer_->last_error(); }

private:
    ProducerChannelSink(std::unique_ptr<Producer> producer, const ProducerSinkOptions& options);

    std::unique_ptr<Producer> producer_;
    std::size_t buffer_bytes_;
    bool lossless_;
    std::uint64_t unflushed_bytes_ = 0;
    std::set<SpiceChannelKey> open_;
};

}  // namespace spicecap
