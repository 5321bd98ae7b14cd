// One subscriber's view of the record log (docs/protocol.md §7): what it selected, its position in the
// log, the preamble it gets first, and the records it lost when it fell too far behind (DROP notices).
// No I/O here: the connection asks for the next bytes to send with fill().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "hello.hpp"
#include "record_log.hpp"
#include "sessions.hpp"
#include "wire/frame.hpp"

namespace spicecap::daemon {

/// Most bytes of events and link-stage records kept for a subscriber while its records are dropped;
/// beyond it those are lost too (only a producer flooding events gets there).
inline constexpr std::size_t kMaxKeptWhileDropping = 1024 * 1024;

/// A subscriber's selection, position and counters.
class Subscriber {
public:
    Subscriber(std::uint32_t id, SubscriberHello hello);

    std::uint32_t id() const noexcept { return id_; }
    const SubscriberHello& hello() const noexcept { return hello_; }

    /// True if the subscriber wants this entry (kind, channel, session).
    bool selects(const EntryHead& head) const noexcept;

    /// Queues the preamble (channel_opened events and link stages of the selected open channels) and
    /// places the cursor at the start of the requested history (or at the head). The history asked for is
    /// capped at `max_history_seconds` (the daemon's --history-seconds): the log frees whole blocks, so it
    /// may still hold older records, but they are no longer history.
    void start(const RecordLog& log, const SessionRegistry& sessions, std::uint64_t now_ns, double max_history_seconds);

    /// Appends what is next for the subscriber to `out`: kept preamble/events/DROPs, then log entries
    /// from the cursor, until `out` holds at least `max_bytes` or the cursor reaches the log's head.
    void fill(const RecordLog& log, ByteBuffer& out, std::size_t max_bytes, std::uint64_t now_ns);

    /// Moves the cursor to `position` without sending the records in between: they are counted as
    /// dropped (reported by DROP notices), events and link-stage records are kept and still sent.
    void skip_to(const RecordLog& log, std::uint64_t position, std::uint64_t now_ns);

    /// Its position in the log.
    std::uint64_t cursor() const noexcept { return cursor_; }
    /// True if fill() would produce something.
    bool has_output(const RecordLog& log) const noexcept { return !pending_.empty() || cursor_ < log.head_position(); }

    /// Counters for status.
    std::uint64_t delivered_records() const noexcept { return delivered_records_; }
    std::uint64_t delivered_bytes() const noexcept { return delivered_bytes_; }
    std::uint64_t dropped_records() const noexcept { return dropped_records_; }
    std::uint64_t dropped_bytes() const noexcept { return dropped_bytes_; }

    /// The subscriber as in docs/protocol.md §9.
    nlohmann::json to_json(const RecordLog& log) const;

    /// Called by the Hub when the log has something new for an idle subscriber.
    std::function<void()> wake;

private:
    struct DropCount {
        std::uint64_t records = 0;
        std::uint64_t bytes = 0;
    };
    static std::uint64_t stream_key(const EntryHead& head) noexcept;
    static std::uint64_t channel_of(std::uint64_t stream_key) noexcept { return stream_key >> 8; }
    bool in_preamble(const EntryRef& entry) const;
    void emit_drops(ByteBuffer& out, std::optional<std::uint64_t> channel, std::uint64_t now_ns);
    void deliver(const EntryRef& entry, ByteBuffer& out, std::uint64_t now_ns);

    std::uint32_t id_;
    SubscriberHello hello_;
    std::vector<std::uint32_t> sessions_;  // sorted; used when hello_.sessions is set
    std::uint64_t cursor_ = 0;
    ByteBuffer pending_;  // preamble, and what was kept while dropping, sent before the log from cursor_
    // Per channel (session + channel key), the log position up to which entries were in the preamble.
    std::map<std::uint64_t, std::uint64_t> preamble_end_;
    std::uint64_t last_preamble_end_ = 0;
    // Per stream (channel + direction), records lost since the last DROP.
    std::map<std::uint64_t, DropCount> drops_;
    std::uint64_t delivered_records_ = 0;
    std::uint64_t delivered_bytes_ = 0;
    std::uint64_t dropped_records_ = 0;
    std::uint64_t dropped_bytes_ = 0;
};

}  // namespace spicecap::daemon
