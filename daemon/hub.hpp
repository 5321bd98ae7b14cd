// The daemon's state, shared by all connections on its single thread: sessions, the record log, the
// subscribers, the limits and the totals. Producers' frames come in through ingest_*; subscribers are
// woken when the log grows; retention drops the oldest log blocks once neither the history nor any
// subscriber's allowed backlog needs them.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hello.hpp"
#include "options.hpp"
#include "record_log.hpp"
#include "sessions.hpp"
#include "subscriber.hpp"
#include "base/expected.hpp"
#include "wire/frame.hpp"
#include "base/clock.hpp"

namespace spicecap::daemon {

/// Connection counts and totals shown by status.
struct HubTotals {
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;
    std::uint64_t producer_dropped_records = 0;
    std::uint64_t producer_dropped_bytes = 0;
    std::uint64_t refused_connections = 0;
    std::uint64_t protocol_errors = 0;
    /// Drops of subscribers that already left (live ones are added in status).
    std::uint64_t departed_dropped_records = 0;
    std::uint64_t departed_dropped_bytes = 0;
};

class Hub {
public:
    Hub(DaemonLimits limits, std::string socket_path);

    const DaemonLimits& limits() const noexcept { return limits_; }
    HubTotals& totals() noexcept { return totals_; }
    const RecordLog& record_log() const noexcept { return log_; }

    /// Connection slots. `other` = before HELLO or control.
    bool try_add_other() noexcept;
    void remove_other() noexcept;

    /// Starts a session for a producer; an error if there are already max_producers.
    Expected<Session*, std::string> open_session(const ProducerHello& hello);
    /// Ends it: channel_closed events for its open channels, counters kept for status.
    void close_session(Session& session);

    /// A RECORD frame's body from a producer; an error (the connection is then closed) if it is invalid.
    Expected<Ok, std::string> ingest_record(Session& session, const FrameView& frame, std::uint64_t now_ns);
    /// An EVENT frame's body from a producer. `unknown_event` receives the name of an event the daemon
    /// does not know (ignored).
    Expected<Ok, std::string> ingest_event(Session& session, const FrameView& frame, std::uint64_t now_ns,
                                           std::string* unknown_event);
    /// After a batch of ingests: apply retention and wake idle subscribers.
    void ingest_done(std::uint64_t now_ns);

    /// Registers a subscriber (an error if there are already max_subscribers) and queues its preamble.
    Expected<std::shared_ptr<Subscriber>, std::string> add_subscriber(const SubscriberHello& hello);
    void remove_subscriber(const Subscriber& subscriber);

    /// Retention without new records (history age): called periodically.
    void enforce_retention(std::uint64_t now_ns);

    /// The "status" and "sessions" replies (docs/protocol.md §9).
    nlohmann::json status_json(std::uint64_t now_ns) const;
    nlohmann::json sessions_json() const { return sessions_.to_json(); }

    std::size_t producer_count() const noexcept { return sessions_.active().size(); }
    std::size_t subscriber_count() const noexcept { return subscribers_.size(); }

private:
    /// Appends an EVENT frame to the log: `json` stamped with the session and `now_ns`. `channel`: the
    /// channel the event is about (subscribers selecting channels see it), or none. Returns the logged
    /// frame (valid until the next append) and its log position.
    std::pair<std::span<const std::uint8_t>, std::uint64_t> log_event(Session& session, const ChannelState* channel,
                                                                      nlohmann::json json, std::uint64_t now_ns);

    DaemonLimits limits_;
    std::string socket_path_;
    std::uint64_t started_ns_;
    HubTotals totals_;
    RecordLog log_;
    SessionRegistry sessions_;
    std::vector<std::shared_ptr<Subscriber>> subscribers_;
    std::uint32_t next_subscriber_id_ = 1;
    std::size_t other_connections_ = 0;
    ByteBuffer scratch_;
};

}  // namespace spicecap::daemon
