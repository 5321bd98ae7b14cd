#include "channel_registry.hpp"

#include "producer_messages.hpp"

namespace spicecap::producer_detail {

bool ChannelRegistry::opened(SpiceChannel channel, HeaderMode header, SendBuffer& buffer) noexcept {
    try {
        std::lock_guard lock(mutex_);
        open_[static_cast<std::uint16_t>(index(channel))] = header;
        flags_[index(channel)].store(header == HeaderMode::full ? kRecordFlagFullHeader : 0, std::memory_order_relaxed);
        return buffer.append_event(channel_opened_json(channel, header));
    } catch (...) {  // std::bad_alloc from the map or the JSON text
        return false;
    }
}

bool ChannelRegistry::closed(SpiceChannel channel, SendBuffer& buffer) noexcept {
    try {
        std::lock_guard lock(mutex_);
        open_.erase(static_cast<std::uint16_t>(index(channel)));
        flags_[index(channel)].store(0, std::memory_order_relaxed);
        return buffer.append_event(channel_closed_json(channel));
    } catch (...) {
        return false;
    }
}

void ChannelRegistry::open_with_replay(SendBuffer& buffer, std::size_t max_payload_bytes) {
    std::lock_guard lock(mutex_);
    std::vector<std::string> events;
    events.reserve(open_.size());
    for (const auto& [key, header] : open_) {
        const SpiceChannel channel{static_cast<std::uint8_t>(key >> 8), static_cast<std::uint8_t>(key & 0xff)};
        events.push_back(channel_opened_json(channel, header));
    }
    buffer.open(max_payload_bytes, events);
}

}  // namespace spicecap::producer_detail
