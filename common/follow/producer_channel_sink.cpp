// Reporting tapped channels through the producer library (see producer_channel_sink.hpp).
#include "follow/producer_channel_sink.hpp"

#include <stdexcept>
#include <system_error>

namespace spicecap {

namespace {
SpiceChannel producer_channel(SpiceChannelKey channel) {
    return SpiceChannel{static_cast<std::uint8_t>(channel.type), channel.id};
}
}  // namespace

Expected<std::unique_ptr<ProducerChannelSink>, std::string> ProducerChannelSink::create(
    const ProducerSinkOptions& options) {
    ProducerOptions producer_options;
    producer_options.name = options.name;
    producer_options.session_label = options.session_label;
    if (!options.socket_path.empty()) producer_options.socket_path = options.socket_path;
    producer_options.buffer_bytes = options.buffer_bytes;
    try {
        return std::unique_ptr<ProducerChannelSink>(
            new ProducerChannelSink(std::make_unique<Producer>(std::move(producer_options)), options));
    } catch (const std::invalid_argument& e) {
        return Unexpected{std::string(e.what())};
    } catch (const std::system_error& e) {
        return Unexpected{std::string("cannot start the producer: ") + e.what()};
    }
}

ProducerChannelSink::ProducerChannelSink(std::unique_ptr<Producer> producer, const ProducerSinkOptions& options)
    : producer_(std::move(producer)), buffer_bytes_(options.buffer_bytes), lossless_(options.lossless) {}

Expected<Ok, std::string> ProducerChannelSink::channel_opened(SpiceChannelKey channel, HeaderMode mode) {
    if (!open_.insert(channel).second)
        return Unexpected{"channel " + channel.to_string() +
                          " is already reported for another connection (a second client at the same time?)"};
    producer_->channel_opened(producer_channel(channel), mode);
    return Ok{};
}

void ProducerChannelSink::message(SpiceChannelKey channel, Direction direction,
                                  std::span<const std::uint8_t> bytes, std::uint64_t timestamp_ns) {
    if (direction == Direction::client_to_server)
        producer_->packet_sent(producer_channel(channel), bytes, timestamp_ns);
    else
        producer_->packet_received(producer_channel(channel), bytes, timestamp_ns);
    if (!lossless_) return;
    unflushed_bytes_ += bytes.size() + 25;  // what a message costs in the producer's buffer
    if (unflushed_bytes_ >= buffer_bytes_ / 2) {
        // A replay may read faster than the daemon takes records: wait rather than drop.
        producer_->flush(std::chrono::seconds(60));
        unflushed_bytes_ = 0;
    }
}

void ProducerChannelSink::channel_closed(SpiceChannelKey channel) {
    if (open_.erase(channel) == 0) return;
    producer_->channel_closed(producer_channel(channel));
}

}  // namespace spicecap
