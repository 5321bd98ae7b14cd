// Which SPICE channels are open and with which data header, so that (1) every record carries its
// channel's FULL_HEADER flag and (2) each new connection to the daemon starts with a channel_opened event
// for every open channel: a daemon started (or restarted) after the channels opened still learns them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "send_buffer.hpp"
#include "spicecap/producer.hpp"

namespace spicecap::producer_detail {

class ChannelRegistry {
public:
    /// True for the SPICE channel types the protocol accepts (1..11).
    static bool valid_type(std::uint8_t type) noexcept { return type >= 1 && type <= kMaxSpiceChannelType; }

    /// RecordHeader::flags for a record on `channel` (which must have a valid type): one relaxed load.
    std::uint32_t record_flags(SpiceChannel channel) const noexcept {
        return flags_[index(channel)].load(std::memory_order_relaxed);
    }

    /// Remembers the channel and queues its channel_opened event (if `buffer` is open). Returns true when
    /// the sender must be woken. The channel type must be valid.
    bool opened(SpiceChannel channel, HeaderMode header, SendBuffer& buffer) noexcept;
    /// Forgets the channel and queues its channel_closed event. Returns true when the sender must be woken.
    bool closed(SpiceChannel channel, SendBuffer& buffer) noexcept;

    /// Opens `buffer` for a new connection with a channel_opened event for every open channel first. Holds
    /// the registry's lock meanwhile, so that no channel opened concurrently is missed or sent twice.
    void open_with_replay(SendBuffer& buffer, std::size_t max_payload_bytes);

private:
    static std::size_t index(SpiceChannel channel) noexcept { return std::size_t{channel.type} << 8 | channel.id; }

    // One entry per (type, id): kRecordFlagFullHeader or 0. Written under mutex_, read without it.
    std::array<std::atomic<std::uint32_t>, (kMaxSpiceChannelType + 1) * 256> flags_{};

    // Lock order: mutex_ before the SendBuffer's.
    std::mutex mutex_;
    std::map<std::uint16_t, HeaderMode> open_;  // by index()
};

}  // namespace spicecap::producer_detail
