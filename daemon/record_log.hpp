// The daemon's record log: every RECORD and EVENT frame, in arrival order, exactly as subscribers get it
// (session and timestamp filled in), in a chain of memory blocks. It is both the history (new subscribers
// replay from it) and every subscriber's queue (each subscriber is a position in it), so a record is stored
// once however many subscribers there are, and a stalled subscriber costs no memory beyond what the log
// keeps anyway. The Hub decides when the oldest block goes (RecordLog only provides the mechanism).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>

namespace spicecap::daemon {

/// What an entry is.
enum class EntryType : std::uint8_t {
    /// A RECORD frame.
    record = 1,
    /// An EVENT frame.
    event = 2,
};

/// Bits of EntryHead::flags.
namespace entry_flags {
/// Part of a SPICE channel's link stage: never dropped for a slow subscriber.
inline constexpr std::uint8_t link_stage = 1u << 0;
}  // namespace entry_flags

/// Routing data stored in front of each frame, so subscribers can filter entries without parsing frames.
struct EntryHead {
    /// Bytes of the encoded frame that follows (prefix included).
    std::uint32_t frame_bytes = 0;
    /// The session id the entry belongs to.
    std::uint32_t session = 0;
    /// The record's timestamp, or the event's arrival time (ns since the Unix epoch).
    std::uint64_t timestamp_ns = 0;
    /// Payload bytes of a record (what a DROP counts); 0 for events.
    std::uint32_t payload_bytes = 0;
    /// StreamKind of the record or channel event; 0 for session-wide events (producer_stats).
    std::uint8_t kind = 0;
    /// The channel's type (SPICE) or 0.
    std::uint8_t channel_type = 0;
    /// The channel id (SPICE) or USB link index.
    std::uint8_t channel_id = 0;
    /// A record's Direction; 0 for events.
    std::uint8_t direction = 0;
    /// EntryType.
    EntryType type = EntryType::record;
    /// entry_flags bits.
    std::uint8_t flags = 0;
};

/// Bytes an entry takes in the log: its head and its frame.
inline constexpr std::size_t kEntryHeadBytes = sizeof(EntryHead);

/// One entry as read back from the log. The frame span is valid until the block is evicted.
struct EntryRef {
    /// Its routing data.
    EntryHead head;
    /// The encoded frame, ready to send.
    std::span<const std::uint8_t> frame;
    /// The entry's position.
    std::uint64_t position;
    /// The position of the entry after it.
    std::uint64_t next_position;
};

/// A chain of blocks holding entries back to back. Positions are byte offsets that only grow: an entry's
/// position never changes, and entries older than tail_position() are gone.
class RecordLog {
public:
    /// Blocks are `block_bytes` long (a larger entry gets a block of its own size).
    explicit RecordLog(std::size_t block_bytes = 1024 * 1024);

    /// Appends an entry and returns the space for its frame (head.frame_bytes bytes), which the caller
    /// fills before anything else reads the log. Returns the entry's position through `position`.
    std::span<std::uint8_t> append(const EntryHead& head, std::uint64_t* position = nullptr);

    /// The position the next entry will get.
    std::uint64_t head_position() const noexcept { return head_position_; }
    /// The position of the oldest entry still stored.
    std::uint64_t tail_position() const noexcept;
    /// The entry at `position` (an entry boundary between tail and head), or nullopt at the head.
    std::optional<EntryRef> entry_at(std::uint64_t position) const;

    /// The entries stored from `position` (an entry boundary) to the end of its block, back to back as
    /// EntryHead + frame, for walking many entries without a lookup each; empty at the head.
    std::span<const std::uint8_t> block_bytes_from(std::uint64_t position) const;

    /// Memory held by blocks.
    std::size_t memory_bytes() const noexcept { return memory_bytes_; }
    /// Entries stored.
    std::uint64_t entry_count() const noexcept { return entry_count_; }
    /// Number of blocks.
    std::size_t block_count() const noexcept { return blocks_.size(); }
    /// The oldest block's end position (where the second block starts), its newest timestamp and size.
    std::uint64_t front_end_position() const noexcept;
    std::uint64_t front_newest_timestamp() const noexcept;
    std::uint64_t oldest_timestamp() const noexcept;
    /// Removes the oldest block. Never removes the last one (the one being appended to).
    void evict_front();

    /// The position of the first entry with timestamp >= `timestamp_ns`, skipping whole blocks whose
    /// newest entry is older; head_position() if there is none.
    std::uint64_t first_position_at_or_after(std::uint64_t timestamp_ns) const;

private:
    struct Block {
        std::unique_ptr<std::uint8_t[]> data;
        std::size_t capacity = 0;
        std::size_t used = 0;
        std::uint64_t start_position = 0;
        std::uint64_t newest_timestamp = 0;
        std::uint64_t oldest_timestamp = UINT64_MAX;
        std::uint64_t entries = 0;
    };
    const Block* block_for(std::uint64_t position) const;

    std::size_t block_bytes_;
    std::deque<Block> blocks_;
    std::uint64_t head_position_ = 0;
    std::size_t memory_bytes_ = 0;
    std::uint64_t entry_count_ = 0;
    std::unique_ptr<std::uint8_t[]> spare_;  // one evicted standard-size block, reused by the next append
};

}  // namespace spicecap::daemon
