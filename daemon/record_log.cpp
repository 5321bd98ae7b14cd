// The record log's blocks and entries (see record_log.hpp).
#include "record_log.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace spicecap::daemon {

RecordLog::RecordLog(std::size_t block_bytes) : block_bytes_(block_bytes) {}

std::span<std::uint8_t> RecordLog::append(const EntryHead& head, std::uint64_t* position) {
    const std::size_t need = kEntryHeadBytes + head.frame_bytes;
    if (blocks_.empty() || blocks_.back().capacity - blocks_.back().used < need) {
        Block block;
        block.capacity = std::max(block_bytes_, need);
        if (block.capacity == block_bytes_ && spare_) block.data = std::move(spare_);
        else block.data = std::make_unique_for_overwrite<std::uint8_t[]>(block.capacity);
        block.start_position = head_position_;
        memory_bytes_ += block.capacity;
        blocks_.push_back(std::move(block));
    }
    Block& block = blocks_.back();
    std::uint8_t* at = block.data.get() + block.used;
    std::memcpy(at, &head, kEntryHeadBytes);
    if (position) *position = head_position_;
    block.used += need;
    block.entries += 1;
    block.newest_timestamp = std::max(block.newest_timestamp, head.timestamp_ns);
    block.oldest_timestamp = std::min(block.oldest_timestamp, head.timestamp_ns);
    head_position_ += need;
    entry_count_ += 1;
    return {at + kEntryHeadBytes, head.frame_bytes};
}

std::uint64_t RecordLog::tail_position() const noexcept {
    return blocks_.empty() ? head_position_ : blocks_.front().start_position;
}

const RecordLog::Block* RecordLog::block_for(std::uint64_t position) const {
    // Blocks are sorted by start position and contiguous: the last block starting at or before `position`.
    auto it = std::upper_bound(blocks_.begin(), blocks_.end(), position,
                               [](std::uint64_t pos, const Block& b) { return pos < b.start_position; });
    if (it == blocks_.begin()) return nullptr;
    const Block& block = *std::prev(it);
    if (position >= block.start_position + block.used) return nullptr;
    return &block;
}

std::optional<EntryRef> RecordLog::entry_at(std::uint64_t position) const {
    const Block* block = block_for(position);
    if (block == nullptr) return std::nullopt;
    const std::uint8_t* at = block->data.get() + (position - block->start_position);
    EntryRef ref;
    std::memcpy(&ref.head, at, kEntryHeadBytes);
    ref.frame = {at + kEntryHeadBytes, ref.head.frame_bytes};
    ref.position = position;
    ref.next_position = position + kEntryHeadBytes + ref.head.frame_bytes;
    return ref;
}

std::span<const std::uint8_t> RecordLog::block_bytes_from(std::uint64_t position) const {
    const Block* block = block_for(position);
    if (block == nullptr) return {};
    const std::size_t offset = position - block->start_position;
    return {block->data.get() + offset, block->used - offset};
}

std::uint64_t RecordLog::front_end_position() const noexcept {
    return blocks_.empty() ? head_position_ : blocks_.front().start_position + blocks_.front().used;
}

std::uint64_t RecordLog::front_newest_timestamp() const noexcept {
    return blocks_.empty() ? 0 : blocks_.front().newest_timestamp;
}

std::uint64_t RecordLog::oldest_timestamp() const noexcept {
    std::uint64_t oldest = UINT64_MAX;
    for (const auto& b : blocks_) oldest = std::min(oldest, b.oldest_timestamp);
    return blocks_.empty() || oldest == UINT64_MAX ? 0 : oldest;
}

void RecordLog::evict_front() {
    if (blocks_.size() <= 1) return;
    Block& front = blocks_.front();
    memory_bytes_ -= front.capacity;
    entry_count_ -= front.entries;
    if (front.capacity == block_bytes_) spare_ = std::move(front.data);
    blocks_.pop_front();
}

std::uint64_t RecordLog::first_position_at_or_after(std::uint64_t timestamp_ns) const {
    for (const Block& block : blocks_) {
        if (block.newest_timestamp < timestamp_ns) continue;
        std::uint64_t position = block.start_position;
        const std::uint64_t end = block.start_position + block.used;
        while (position < end) {
            EntryHead head;
            std::memcpy(&head, block.data.get() + (position - block.start_position), kEntryHeadBytes);
            if (head.timestamp_ns >= timestamp_ns) return position;
            position += kEntryHeadBytes + head.frame_bytes;
        }
    }
    return head_position_;
}

}  // namespace spicecap::daemon
