// The bounded buffer between the threads that report messages and the producer's one sender thread.
//
// Callers encode each message as a RECORD frame straight into the `pending` buffer under a mutex; the sender
// swaps `pending` with its own empty buffer and writes that batch to the socket without holding the lock
// (a double buffer: callers never wait for the socket). Every accepted message ends up counted exactly once,
// as delivered (its whole frame was written) or dropped (buffer full, too large, invalid, or lost with the
// connection), which is what makes accepted == delivered + dropped hold once flushed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wire/frame.hpp"
#include "spicecap/producer.hpp"
#include "wire/record.hpp"

namespace spicecap::producer_detail {

/// Bytes a RECORD frame adds to its payload: length, type and RecordHeader.
inline constexpr std::size_t kRecordOverheadBytes = kFramePrefixBytes + RecordHeader::kSize;
/// How far channel events may go beyond the byte limit: they are rare and small, and losing one makes a
/// channel undecodable for late subscribers, so they get a little room that records cannot take.
inline constexpr std::size_t kEventAllowanceBytes = 64 * 1024;

/// What the sender took out of the buffer in one go and is writing to the socket.
struct Batch {
    /// Encoded frames back to back: the callers' RECORDs and EVENTs, then possibly a producer_stats EVENT.
    ByteBuffer bytes;
    /// Frames in `bytes` that came from the pending buffer (for flush()).
    std::uint64_t frames = 0;
    /// RECORD frames among them, and their payload bytes.
    std::uint64_t records = 0;
    std::uint64_t payload_bytes = 0;
    /// Drops reported by the producer_stats EVENT at the end of `bytes` (both 0: the batch has none).
    std::uint64_t reported_records = 0;
    std::uint64_t reported_bytes = 0;
    /// Where that EVENT ends in `bytes`: it reached the daemon if at least this much was written.
    std::size_t stats_end = 0;
};

class SendBuffer {
public:
    /// `limit_bytes`: the most bytes of encoded frames the pending buffer holds (see kEventAllowanceBytes).
    explicit SendBuffer(std::size_t limit_bytes);

    // ---- Reporting threads. Each returns true when the caller must wake the sender (the buffer went from
    // idle to having something to send while the sender was not busy with a batch). ----

    /// Counts the message and appends its RECORD frame, or counts it as dropped if it does not fit or is
    /// larger than the daemon accepts. Does nothing (and counts nothing) while the buffer is closed.
    bool append_record(const RecordHeader& header, std::span<const std::uint8_t> payload) noexcept;
    /// Counts a message that was refused before encoding (invalid SPICE channel type) as accepted and dropped.
    bool reject_invalid(std::size_t payload_bytes) noexcept;
    /// Appends an EVENT frame while open (else does nothing); counts it in dropped_events if it does not fit.
    bool append_event(std::string_view json) noexcept;

    // ---- The sender thread. ----

    /// Starts accepting messages for a new connection, whose first frames are `preamble_events` (the
    /// channel_opened events of the channels open now). `max_payload_bytes`: larger messages are dropped.
    void open(std::size_t max_payload_bytes, const std::vector<std::string>& preamble_events);
    /// Moves what is pending into `batch` (which must be empty), adding a producer_stats EVENT when drops
    /// were not reported yet. Returns false (leaving `batch` empty) when there is nothing to send.
    bool take(Batch& batch);
    /// Accounts for a batch of which the first `written` bytes went into the socket, and empties it: whole
    /// RECORD frames count as delivered, the rest as dropped. Drops whose producer_stats EVENT was not
    /// written completely are reported again later.
    void settle(Batch& batch, std::size_t written);
    /// Stops accepting messages (the connection is gone or the producer stops); what is pending is counted
    /// as dropped. No batch may be in flight.
    void close();

    // ---- Anyone. ----

    /// Waits until every frame appended before the call is settled and, while open, the drops are reported
    /// with nothing in flight. False if `deadline` came first.
    bool wait_until_flushed(std::chrono::steady_clock::time_point deadline);
    /// Copies the message counters into `stats` (all at one instant).
    void read_counters(ProducerStats& stats) const;

    /// Gives `buffer` the capacity of a full pending buffer, so appending never reallocates. The sender
    /// does this for its batch buffer, open() for the pending one.
    void reserve_full_size(ByteBuffer& buffer) const noexcept;

private:
    bool sender_must_wake() const noexcept { return pending_.empty() && !in_flight_; }
    void count_drop(std::size_t payload_bytes) noexcept;
    bool flushed(std::uint64_t target_frames) const noexcept;

    const std::size_t limit_bytes_;

    mutable std::mutex mutex_;
    std::condition_variable settled_;  // notified when frames are settled or the buffer closes

    // Everything below is guarded by mutex_.
    bool open_ = false;
    bool in_flight_ = false;  // the sender holds a taken batch that is not settled yet
    std::size_t max_payload_bytes_ = 0;
    ByteBuffer pending_;
    std::uint64_t pending_frames_ = 0;
    std::uint64_t pending_records_ = 0;
    std::uint64_t pending_payload_bytes_ = 0;

    std::uint64_t appended_frames_ = 0;  // ever appended to pending_
    std::uint64_t settled_frames_ = 0;   // ever written or discarded

    std::uint64_t accepted_records_ = 0, accepted_bytes_ = 0;
    std::uint64_t delivered_records_ = 0, delivered_bytes_ = 0;
    std::uint64_t dropped_records_ = 0, dropped_bytes_ = 0;
    std::uint64_t invalid_records_ = 0;
    std::uint64_t dropped_events_ = 0;
    // The part of dropped_* already put in a producer_stats EVENT (in flight or written).
    std::uint64_t reported_records_ = 0, reported_bytes_ = 0;
};

}  // namespace spicecap::producer_detail
