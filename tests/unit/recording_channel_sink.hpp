// A SpiceChannelSink that keeps everything it is told, for tests of the SPICE channel follower, replay and proxy.
// Thread-safe: the proxy reports from its io_context thread while the test thread looks.
#pragma once

#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "follow/spice_channel_follower.hpp"

namespace spicecap::test {

class RecordingChannelSink final : public SpiceChannelSink {
public:
    struct Event {
        enum class Kind { opened, message, closed } kind;
        SpiceChannelKey channel;
        HeaderMode mode = HeaderMode::full;
        Direction direction = Direction::client_to_server;
        std::vector<std::uint8_t> bytes;
        std::uint64_t timestamp_ns = 0;
    };

    /// Channels to refuse in channel_opened.
    std::set<SpiceChannelKey> refuse;

    Expected<Ok, std::string> channel_opened(SpiceChannelKey channel, HeaderMode mode) override {
        std::lock_guard lock(mutex_);
        if (refuse.count(channel) != 0) return Unexpected{std::string("refused by the test")};
        events_.push_back({Event::Kind::opened, channel, mode, {}, {}, 0});
        return Ok{};
    }
    void message(SpiceChannelKey channel, Direction direction, std::span<const std::uint8_t> bytes,
                 std::uint64_t timestamp_ns) override {
        std::lock_guard lock(mutex_);
        events_.push_back({Event::Kind::message, channel, HeaderMode::full, direction,
                           std::vector<std::uint8_t>(bytes.begin(), bytes.end()), timestamp_ns});
    }
    void channel_closed(SpiceChannelKey channel) override {
        std::lock_guard lock(mutex_);
        events_.push_back({Event::Kind::closed, channel, HeaderMode::full, {}, {}, 0});
    }

    std::vector<Event> events() const {
        std::lock_guard lock(mutex_);
        return events_;
    }
    /// The messages of `channel` in `direction`, in order.
    std::vector<std::vector<std::uint8_t>> messages(SpiceChannelKey channel, Direction direction) const {
        std::lock_guard lock(mutex_);
        std::vector<std::vector<std::uint8_t>> out;
        for (const auto& e : events_)
            if (e.kind == Event::Kind::message && e.channel == channel && e.direction == direction)
                out.push_back(e.bytes);
        return out;
    }
    std::size_t count(Event::Kind kind) const {
        std::lock_guard lock(mutex_);
        std::size_t n = 0;
        for (const auto& e : events_) n += e.kind == kind ? 1 : 0;
        return n;
    }

private:
    mutable std::mutex mutex_;
    std::vector<Event> events_;
};

}  // namespace spicecap::test
