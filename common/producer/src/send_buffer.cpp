#include "send_buffer.hpp"

#include <cstring>
#include <utility>

#include "base/byte_order.hpp"
#include "producer_messages.hpp"

namespace spicecap::producer_detail {

SendBuffer::SendBuffer(std::size_t limit_bytes) : limit_bytes_(limit_bytes) {}

void SendBuffer::reserve_full_size(ByteBuffer& buffer) const noexcept {
    // Growing by reallocation would copy megabytes while a caller holds the lock. Reserving only takes
    // address space: pages are touched (and become memory) as frames are appended.
    try {
        buffer.reserve(limit_bytes_ + kEventAllowanceBytes);
    } catch (...) {  // no address space for it: grow on demand instead
    }
}

void SendBuffer::count_drop(std::size_t payload_bytes) noexcept {
    ++dropped_records_;
    dropped_bytes_ += payload_bytes;
}

bool SendBuffer::append_record(const RecordHeader& header, std::span<const std::uint8_t> payload) noexcept {
    std::lock_guard lock(mutex_);
    if (!open_) return false;
    const bool wake = sender_must_wake();
    ++accepted_records_;
    accepted_bytes_ += payload.size();
    // Checked in this order so that the sum cannot overflow.
    if (payload.size() > max_payload_bytes_ || pending_.size() + kRecordOverheadBytes + payload.size() > limit_bytes_) {
        count_drop(payload.size());
        return wake;
    }
    try {
        append_record_frame(pending_, header, payload);
    } catch (...) {  // std::bad_alloc: the caller must never see it
        count_drop(payload.size());
        return wake;
    }
    ++pending_frames_;
    ++appended_frames_;
    ++pending_records_;
    pending_payload_bytes_ += payload.size();
    return wake;
}

bool SendBuffer::reject_invalid(std::size_t payload_bytes) noexcept {
    std::lock_guard lock(mutex_);
    if (!open_) return false;
    const bool wake = sender_must_wake();
    ++accepted_records_;
    accepted_bytes_ += payload_bytes;
    ++invalid_records_;
    count_drop(payload_bytes);
    return wake;
}

bool SendBuffer::append_event(std::string_view json) noexcept {
    std::lock_guard lock(mutex_);
    if (!open_) return false;
    if (pending_.size() + kFramePrefixBytes + json.size() > limit_bytes_ + kEventAllowanceBytes) {
        ++dropped_events_;
        return false;
    }
    const bool wake = sender_must_wake();
    try {
        append_frame(pending_, FrameType::event, json);
    } catch (...) {
        ++dropped_events_;
        return false;
    }
    ++pending_frames_;
    ++appended_frames_;
    return wake;
}

void SendBuffer::open(std::size_t max_payload_bytes, const std::vector<std::string>& preamble_events) {
    std::lock_guard lock(mutex_);
    open_ = true;
    max_payload_bytes_ = max_payload_bytes;
    reserve_full_size(pending_);
    for (const auto& json : preamble_events) {
        append_frame(pending_, FrameType::event, json);
        ++pending_frames_;
        ++appended_frames_;
    }
}

bool SendBuffer::take(Batch& batch) {
    std::lock_guard lock(mutex_);
    const std::uint64_t unreported_records = dropped_records_ - reported_records_;
    const std::uint64_t unreported_bytes = dropped_bytes_ - reported_bytes_;
    if (pending_.empty() && unreported_records == 0 && unreported_bytes == 0) return false;

    std::swap(batch.bytes, pending_);
    batch.frames = std::exchange(pending_frames_, 0);
    batch.records = std::exchange(pending_records_, 0);
    batch.payload_bytes = std::exchange(pending_payload_bytes_, 0);
    in_flight_ = true;
    if (unreported_records != 0 || unreported_bytes != 0) {
        try {
            append_frame(batch.bytes, FrameType::event, producer_stats_json(unreported_records, unreported_bytes));
            batch.reported_records = unreported_records;
            batch.reported_bytes = unreported_bytes;
            batch.stats_end = batch.bytes.size();
            reported_records_ = dropped_records_;
            reported_bytes_ = dropped_bytes_;
        } catch (...) {  // no memory for the report: it goes with a later batch
        }
    }
    if (batch.bytes.empty()) {
        in_flight_ = false;
        return false;
    }
    return true;
}

void SendBuffer::settle(Batch& batch, std::size_t written) {
    std::uint64_t delivered_records = batch.records;
    std::uint64_t delivered_bytes = batch.payload_bytes;
    bool stats_delivered = true;
    if (written < batch.bytes.size()) {
        // Count the RECORD frames that were written whole; the rest were lost with the connection.
        delivered_records = 0;
        delivered_bytes = 0;
        std::size_t at = 0;
        while (at + kFramePrefixBytes <= written) {
            const std::size_t end = at + kFrameLengthBytes + little_endian::load<std::uint32_t>(batch.bytes.data() + at);
            if (end > written) break;
            if (batch.bytes[at + kFrameLengthBytes] == static_cast<std::uint8_t>(FrameType::record)) {
                ++delivered_records;
                delivered_bytes += end - at - kRecordOverheadBytes;
            }
            at = end;
        }
        stats_delivered = batch.stats_end != 0 && written >= batch.stats_end;
    }
    {
        std::lock_guard lock(mutex_);
        delivered_records_ += delivered_records;
        delivered_bytes_ += delivered_bytes;
        dropped_records_ += batch.records - delivered_records;
        dropped_bytes_ += batch.payload_bytes - delivered_bytes;
        if (!stats_delivered) {
            reported_records_ -= batch.reported_records;
            reported_bytes_ -= batch.reported_bytes;
        }
        settled_frames_ += batch.frames;
        in_flight_ = false;
    }
    settled_.notify_all();
    batch.bytes.clear();
    batch.frames = batch.records = batch.payload_bytes = 0;
    batch.reported_records = batch.reported_bytes = 0;
    batch.stats_end = 0;
}

void SendBuffer::close() {
    {
        std::lock_guard lock(mutex_);
        open_ = false;
        dropped_records_ += pending_records_;
        dropped_bytes_ += pending_payload_bytes_;
        settled_frames_ += pending_frames_;
        pending_frames_ = pending_records_ = pending_payload_bytes_ = 0;
        ByteBuffer{}.swap(pending_);  // give the memory back while disconnected
    }
    settled_.notify_all();
}

bool SendBuffer::flushed(std::uint64_t target_frames) const noexcept {
    if (settled_frames_ < target_frames) return false;
    if (!open_) return true;
    return !in_flight_ && reported_records_ == dropped_records_ && reported_bytes_ == dropped_bytes_;
}

bool SendBuffer::wait_until_flushed(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    const std::uint64_t target = appended_frames_;
    return settled_.wait_until(lock, deadline, [&] { return flushed(target); });
}

void SendBuffer::read_counters(ProducerStats& stats) const {
    std::lock_guard lock(mutex_);
    stats.accepted_records = accepted_records_;
    stats.accepted_bytes = accepted_bytes_;
    stats.delivered_records = delivered_records_;
    stats.delivered_bytes = delivered_bytes_;
    stats.dropped_records = dropped_records_;
    stats.dropped_bytes = dropped_bytes_;
    stats.invalid_records = invalid_records_;
    stats.dropped_events = dropped_events_;
}

}  // namespace spicecap::producer_detail
