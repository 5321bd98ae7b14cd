// Watching one SPICE channel connection (see spice_channel_follower.hpp).
#include "follow/spice_channel_follower.hpp"

namespace spicecap {

std::string SpiceChannelKey::to_string() const {
    return std::string(channel_name(type)) + ":" + std::to_string(id);
}

SpiceChannelFollower::SpiceChannelFollower(SpiceChannelSink& sink, SpiceParserLimits limits) : sink_(sink), parser_(limits) {}

SpiceChannelFollower::~SpiceChannelFollower() { finish(); }

FollowEvents SpiceChannelFollower::feed(Direction direction, std::span<const std::uint8_t> bytes,
                                std::uint64_t timestamp_ns) {
    FollowEvents events;
    if (state_ == State::stopped) return events;
    const std::uint64_t fed_before = fed_[index_of(direction)];
    fed_[index_of(direction)] += bytes.size();
    auto result = parser_.feed(direction, bytes);
    for (const auto& message : result.messages) {
        const auto d = static_cast<std::size_t>(message.direction);
        parsed_[d] += message.bytes.size();
        if (message.direction == direction && message.kind != SpiceMessageKind::data &&
            parsed_[d] > fed_before && parsed_[d] - fed_before < bytes.size())
            events.link_stage_ends.push_back(static_cast<std::size_t>(parsed_[d] - fed_before));
    }
    for (auto& message : result.messages) {
        if (state_ == State::reporting) {
            report(message, timestamp_ns);
            continue;
        }
        if (state_ == State::stopped) break;
        held_.emplace_back(std::move(message), timestamp_ns);
        if (!channel_ && parser_.client().link_mess()) {
            const std::uint8_t number = parser_.client().link_mess()->channel_type;
            const auto type = channel_from_number(number);
            if (!type) {
                events.stopped = stop("the client's link message names channel type " + std::to_string(number) +
                                      ", which is not a SPICE channel");
                break;
            }
            channel_ = SpiceChannelKey{*type, parser_.client().link_mess()->channel_id};
        }
        if (!channel_ || !parser_.header_mode()) continue;
        auto accepted = sink_.channel_opened(*channel_, *parser_.header_mode());
        if (!accepted) {
            events.stopped = stop(accepted.error());
            break;
        }
        state_ = State::reporting;
        events.opened = true;
        for (const auto& [held, when] : held_) report(held, when);
        held_.clear();
    }
    if (result.error && state_ != State::stopped) events.stopped = stop(result.error->message);
    return events;
}

bool SpiceChannelFollower::in_link_stage(Direction direction) const noexcept {
    if (state_ == State::stopped) return false;
    const SpiceStreamParser& p = direction == Direction::client_to_server ? parser_.client() : parser_.server();
    return !p.in_data_stage() && !p.failure();
}

std::optional<std::string> SpiceChannelFollower::lose_bytes(Direction direction, std::uint64_t bytes) {
    if (state_ == State::stopped) return std::nullopt;
    const char* which = direction == Direction::client_to_server ? "client->server" : "server->client";
    return stop(std::to_string(bytes) + " bytes of the " + which +
                " stream are missing from the capture; the rest of the connection cannot be cut into messages");
}

void SpiceChannelFollower::finish() {
    if (state_ == State::reporting) sink_.channel_closed(*channel_);
    state_ = State::stopped;
    held_.clear();
}

void SpiceChannelFollower::report(const SpiceWireMessage& message, std::uint64_t timestamp_ns) {
    sink_.message(*channel_, message.direction, message.bytes, timestamp_ns);
    FollowCounters& c = counters_[static_cast<std::size_t>(message.direction)];
    ++c.messages;
    c.bytes += message.bytes.size();
}

std::string SpiceChannelFollower::stop(std::string reason) {
    if (state_ == State::reporting) sink_.channel_closed(*channel_);
    state_ = State::stopped;
    held_.clear();
    stop_reason_ = reason;
    return reason;
}

}  // namespace spicecap
