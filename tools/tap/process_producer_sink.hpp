// The tap's one producer per process: every SPICE channel the process opens, as client or server, is
// reported through it to spicecapd (name = the program, its pid, session label = --session or the
// program). Started when the first channel opens, so a tapped process that never speaks SPICE (a shell,
// a helper it runs) never starts a thread or touches the daemon's socket.
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "follow/spice_channel_follower.hpp"
#include "spicecap/producer.hpp"

namespace spicecap::tap {

struct ProcessSinkOptions {
    /// Producer name (1..128 bytes are kept).
    std::string name;
    /// Session label (at most 256 bytes are kept).
    std::string session_label;
    /// How long the first channel of the process may wait for the daemon's answer to the producer's
    /// HELLO. A live daemon answers in well under a millisecond; a stopped one never does, and then this
    /// is the only delay the tap ever adds to the program (once; later attempts run in the background).
    std::chrono::milliseconds connect_timeout{250};
};

/// Not thread-safe: TappedConnections calls it under its lock.
class ProcessProducerSink final : public SpiceChannelSink {
public:
    explicit ProcessProducerSink(ProcessSinkOptions options) : options_(std::move(options)) {}

    /// Refuses a channel already open from another connection of this process (a server with a second
    /// client): one session has one stream per channel.
    Expected<Ok, std::string> channel_opened(SpiceChannelKey channel, HeaderMode mode) override;
    void message(SpiceChannelKey channel, Direction direction, std::span<const std::uint8_t> bytes,
                 std::uint64_t timestamp_ns) override;
    void channel_closed(SpiceChannelKey channel) override;

    /// Waits up to `timeout` until what was reported reached the daemon's socket (at exit).
    void flush(std::chrono::milliseconds timeout) noexcept;

private:
    ProcessSinkOptions options_;
    /// Null until the first channel opens, and if the producer could not start (then nothing is reported).
    std::unique_ptr<Producer> producer_;
    bool start_failed_ = false;
    std::set<SpiceChannelKey> open_;
};

}  // namespace spicecap::tap
