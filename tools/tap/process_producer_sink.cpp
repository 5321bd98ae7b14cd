// The tap's producer (see process_producer_sink.hpp).
#include "tap/process_producer_sink.hpp"

#include <exception>

namespace spicecap::tap {

namespace {
SpiceChannel producer_channel(SpiceChannelKey channel) {
    return SpiceChannel{static_cast<std::uint8_t>(channel.type), channel.id};
}
}  // namespace

Expected<Ok, std::string> ProcessProducerSink::channel_opened(SpiceChannelKey channel, HeaderMode mode) {
    if (!producer_ && !start_failed_) {
        ProducerOptions options;
        options.name = options_.name.substr(0, 128);
        if (options.name.empty()) options.name = "spicecap-tap";
        options.session_label = options_.session_label.substr(0, 256);
        options.connect_timeout = options_.connect_timeout;
        try {
            producer_ = std::make_unique<Producer>(std::move(options));
        } catch (const std::exception& e) {
            start_failed_ = true;
            return Unexpected{std::string("cannot start the spicecap producer: ") + e.what()};
        }
    }
    if (!producer_) return Unexpected{std::string("the spicecap producer could not start")};
    if (!open_.insert(channel).second)
        return Unexpected{"channel " + channel.to_string() +
                          " is already reported for another connection of this process (a second client?)"};
    producer_->channel_opened(producer_channel(channel), mode);
    return Ok{};
}

void ProcessProducerSink::message(SpiceChannelKey channel, Direction direction,
                                  std::span<const std::uint8_t> bytes, std::uint64_t timestamp_ns) {
    if (direction == Direction::client_to_server)
        producer_->packet_sent(producer_channel(channel), bytes, timestamp_ns);
    else
        producer_->packet_received(producer_channel(channel), bytes, timestamp_ns);
}

void ProcessProducerSink::channel_closed(SpiceChannelKey channel) {
    if (open_.erase(channel) == 0) return;
    producer_->channel_closed(producer_channel(channel));
}

void ProcessProducerSink::flush(std::chrono::milliseconds timeout) noexcept {
    if (producer_) producer_->flush(timeout);
}

}  // namespace spicecap::tap
