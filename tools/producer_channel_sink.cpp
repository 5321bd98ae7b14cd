// Reporting tapped channels through the producer library (see producer_channel_sink.hpp).
//
// This uses the library's C API: its C++ header declares a spicecap::HeaderMode of its own, which cannot
// share a translation unit with spice_protocol.hpp's.
#include "producer_channel_sink.hpp"

#include <cerrno>
#include <cstring>

namespace spicecap {

Expected<std::unique_ptr<ProducerChannelSink>, std::string> ProducerChannelSink::create(
    const ProducerSinkOptions& options) {
    spicecap_producer* producer =
        spicecap_producer_new(options.name.c_str(), options.session_label.c_str(),
                              options.socket_path.empty() ? nullptr : options.socket_path.c_str(), options.buffer_bytes);
    if (producer == nullptr) {
        if (errno == EINVAL) return Unexpected{std::string("the session label must be at most 256 bytes")};
        return Unexpected{std::string("cannot start the producer: ") + std::strerror(errno)};
    }
    return std::unique_ptr<ProducerChannelSink>(new ProducerChannelSink(producer, options));
}

ProducerChannelSink::ProducerChannelSink(spicecap_producer* producer, const ProducerSinkOptions& options)
    : producer_(producer), buffer_bytes_(options.buffer_bytes), lossless_(options.lossless) {}

ProducerChannelSink::~ProducerChannelSink() {
    for (const SpiceChannelKey& channel : open_)
        spicecap_channel_closed(producer_, static_cast<std::uint8_t>(channel.type), channel.id);
    spicecap_producer_free(producer_);
}

Expected<Ok, std::string> ProducerChannelSink::channel_opened(SpiceChannelKey channel, HeaderMode mode) {
    if (!open_.insert(channel).second)
        return Unexpected{"channel " + channel.to_string() +
                          " is already reported for another connection (a second client at the same time?)"};
    spicecap_channel_opened(producer_, static_cast<std::uint8_t>(channel.type), channel.id,
                            mode == HeaderMode::mini ? SPICECAP_HEADER_MINI : SPICECAP_HEADER_FULL);
    return Ok{};
}

void ProducerChannelSink::message(SpiceChannelKey channel, SpiceDirection direction,
                                  std::span<const std::uint8_t> bytes, std::uint64_t timestamp_ns) {
    const auto type = static_cast<std::uint8_t>(channel.type);
    if (direction == SpiceDirection::client_to_server)
        spicecap_packet_sent(producer_, type, channel.id, bytes.data(), bytes.size(), timestamp_ns);
    else
        spicecap_packet_received(producer_, type, channel.id, bytes.data(), bytes.size(), timestamp_ns);
    if (!lossless_) return;
    unflushed_bytes_ += bytes.size() + 25;  // what a message costs in the producer's buffer
    if (unflushed_bytes_ >= buffer_bytes_ / 2) {
        // A replay may read faster than the daemon takes records: wait rather than drop.
        spicecap_producer_flush(producer_, 60'000);
        unflushed_bytes_ = 0;
    }
}

void ProducerChannelSink::channel_closed(SpiceChannelKey channel) {
    if (open_.erase(channel) == 0) return;
    spicecap_channel_closed(producer_, static_cast<std::uint8_t>(channel.type), channel.id);
}

bool ProducerChannelSink::flush(std::chrono::milliseconds timeout) {
    unflushed_bytes_ = 0;
    return spicecap_producer_flush(producer_, static_cast<std::uint32_t>(timeout.count())) == 1;
}

bool ProducerChannelSink::connected() const { return stats().connected != 0; }

spicecap_producer_stats ProducerChannelSink::stats() const {
    spicecap_producer_stats s{};
    spicecap_producer_get_stats(producer_, &s, sizeof s);
    return s;
}

std::string ProducerChannelSink::last_error() const {
    char text[512];
    spicecap_producer_last_error(producer_, text, sizeof text);
    return text;
}

}  // namespace spicecap
