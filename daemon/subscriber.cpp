// A subscriber's position in the record log, its preamble and its DROP accounting (see subscriber.hpp).
#include "subscriber.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "wire/record.hpp"

namespace spicecap::daemon {

Subscriber::Subscriber(std::uint32_t id, SubscriberHello hello) : id_(id), hello_(std::move(hello)) {
    if (hello_.sessions) {
        sessions_ = *hello_.sessions;
        std::sort(sessions_.begin(), sessions_.end());
    }
}

bool Subscriber::selects(const EntryHead& head) const noexcept {
    if (hello_.sessions && !std::binary_search(sessions_.begin(), sessions_.end(), head.session)) return false;
    if (head.kind == 0) return true;  // session-wide events (producer_stats)
    if (head.kind != static_cast<std::uint8_t>(hello_.kind)) return false;
    if (hello_.kind == StreamKind::spice) return (hello_.channel_mask >> head.channel_type) & 1u;
    return true;
}

// session (32 bits) | kind | channel type | channel id | direction
std::uint64_t Subscriber::stream_key(const EntryHead& head) noexcept {
    return std::uint64_t{head.session} << 32 |
           std::uint64_t{channel_key(head.kind, head.channel_type, head.channel_id)} << 8 | head.direction;
}

void Subscriber::start(const RecordLog& log, const SessionRegistry& sessions, std::uint64_t now_ns,
                       double max_history_seconds) {
    std::uint64_t history_start = log.head_position();
    const double history_seconds = std::min(hello_.history_seconds, max_history_seconds);
    if (history_seconds > 0) {
        // In integers once the reach is known to end after 1970 (a double's rounding could pass now_ns).
        const double back_ns = history_seconds * 1e9;
        const std::uint64_t since = back_ns >= static_cast<double>(now_ns) ? 0 : now_ns - static_cast<std::uint64_t>(back_ns);
        history_start = std::max(log.first_position_at_or_after(since), log.tail_position());
    }
    cursor_ = history_start;
    for (const auto& [id, session] : sessions.active()) {
        for (const auto& [key, ch] : session->channels) {
            if (!ch.open || ch.preamble.bytes() == 0) continue;
            EntryHead probe;
            probe.session = id;
            probe.kind = static_cast<std::uint8_t>(ch.kind);
            probe.channel_type = ch.channel_type;
            probe.channel_id = ch.channel_id;
            if (!selects(probe)) continue;
            const ByteBuffer& opened = ch.preamble.opened_event();
            const ByteBuffer& link = ch.preamble.link_frames();
            pending_.insert(pending_.end(), opened.begin(), opened.end());
            pending_.insert(pending_.end(), link.begin(), link.end());
            const std::uint64_t end = ch.preamble.end_position();
            if (end >= cursor_) {
                preamble_end_[stream_key(probe) >> 8] = end;
                last_preamble_end_ = std::max(last_preamble_end_, end);
            }
        }
    }
}

bool Subscriber::in_preamble(const EntryRef& entry) const {
    if (preamble_end_.empty()) return false;
    auto it = preamble_end_.find(stream_key(entry.head) >> 8);
    return it != preamble_end_.end() && entry.position <= it->second;
}

void Subscriber::emit_drops(ByteBuffer& out, std::optional<std::uint64_t> channel, std::uint64_t now_ns) {
    for (auto it = drops_.begin(); it != drops_.end();) {
        if (channel && channel_of(it->first) != *channel) {
            ++it;
            continue;
        }
        DropNotice notice;
        const std::uint64_t key = it->first;
        notice.where.session = static_cast<std::uint32_t>(key >> 32);
        notice.where.kind = static_cast<StreamKind>((key >> 24) & 0xff);
        notice.where.channel_type = static_cast<std::uint8_t>((key >> 16) & 0xff);
        notice.where.channel_id = static_cast<std::uint8_t>((key >> 8) & 0xff);
        notice.where.direction = static_cast<Direction>(key & 0xff);
        notice.where.timestamp_ns = now_ns;
        notice.records = it->second.records;
        notice.bytes = it->second.bytes;
        append_drop_frame(out, notice);
        it = drops_.erase(it);
    }
}

void Subscriber::deliver(const EntryRef& entry, ByteBuffer& out, std::uint64_t now_ns) {
    if (!drops_.empty()) emit_drops(out, channel_of(stream_key(entry.head)), now_ns);
    out.insert(out.end(), entry.frame.begin(), entry.frame.end());
    if (entry.head.type == EntryType::record) {
        delivered_records_ += 1;
        delivered_bytes_ += entry.head.payload_bytes;
    }
}

void Subscriber::fill(const RecordLog& log, ByteBuffer& out, std::size_t max_bytes, std::uint64_t now_ns) {
    if (!pending_.empty()) {
        out.insert(out.end(), pending_.begin(), pending_.end());
        ByteBuffer().swap(pending_);
    }
    cursor_ = std::max(cursor_, log.tail_position());
    // Walk the log block by block (one lookup per block, not per entry).
    while (out.size() < max_bytes) {
        const auto bytes = log.block_bytes_from(cursor_);
        if (bytes.empty()) break;
        std::size_t at = 0;
        while (at < bytes.size() && out.size() < max_bytes) {
            EntryRef entry;
            std::memcpy(&entry.head, bytes.data() + at, kEntryHeadBytes);
            entry.frame = bytes.subspan(at + kEntryHeadBytes, entry.head.frame_bytes);
            entry.position = cursor_;
            entry.next_position = cursor_ + kEntryHeadBytes + entry.head.frame_bytes;
            at += kEntryHeadBytes + entry.head.frame_bytes;
            cursor_ = entry.next_position;
            if (!selects(entry.head) || in_preamble(entry)) continue;
            deliver(entry, out, now_ns);
        }
    }
    if (!preamble_end_.empty() && cursor_ > last_preamble_end_) preamble_end_.clear();
    // Caught up: report what is left, so no loss waits for a record that may never come.
    if (cursor_ == log.head_position() && !drops_.empty()) emit_drops(out, std::nullopt, now_ns);
}

void Subscriber::skip_to(const RecordLog& log, std::uint64_t position, std::uint64_t now_ns) {
    while (cursor_ < position) {
        auto entry = log.entry_at(cursor_);
        if (!entry) break;
        cursor_ = entry->next_position;
        if (!selects(entry->head) || in_preamble(*entry)) continue;
        const bool keep = entry->head.type == EntryType::event || (entry->head.flags & entry_flags::link_stage);
        if (keep && pending_.size() < kMaxKeptWhileDropping) {
            deliver(*entry, pending_, now_ns);
            continue;
        }
        if (entry->head.type == EntryType::record) {
            DropCount& count = drops_[stream_key(entry->head)];
            count.records += 1;
            count.bytes += entry->head.payload_bytes;
            dropped_records_ += 1;
            dropped_bytes_ += entry->head.payload_bytes;
        }
    }
    cursor_ = std::max(cursor_, position);
}

nlohmann::json Subscriber::to_json(const RecordLog& log) const {
    nlohmann::json j = {{"id", id_},
                        {"kind", stream_kind_name(hello_.kind)},
                        {"channels", hello_.channel_names},
                        {"history_seconds", hello_.history_seconds},
                        {"records", delivered_records_},
                        {"bytes", delivered_bytes_},
                        {"dropped_records", dropped_records_},
                        {"dropped_bytes", dropped_bytes_},
                        {"backlog_bytes", log.head_position() - std::min(cursor_, log.head_position()) + pending_.size()}};
    j["sessions"] = hello_.sessions ? nlohmann::json(*hello_.sessions) : nlohmann::json(nullptr);
    return j;
}

}  // namespace spicecap::daemon
