#include "producer_messages.hpp"

#include <limits>

#include <nlohmann/json.hpp>

#include "wire/events.hpp"
#include "wire/frame.hpp"

namespace spicecap::producer_detail {

std::string producer_hello_json(std::string_view name, long pid, std::string_view session_label) {
    nlohmann::json hello = {
        {"version", 1}, {"role", "producer"}, {"name", name}, {"pid", pid}, {"session", session_label}};
    return hello.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Expected<HelloAccepted, std::string> parse_hello_reply(std::string_view json) {
    auto reply = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (!reply.is_object()) return Unexpected{std::string{"the daemon's reply is not a JSON object"}};
    auto ok = reply.find("ok");
    if (ok == reply.end() || !ok->is_boolean()) return Unexpected{std::string{"the daemon's reply has no \"ok\""}};
    if (!ok->get<bool>()) {
        auto error = reply.find("error");
        std::string reason = error != reply.end() && error->is_string() ? error->get<std::string>() : "no reason given";
        return Unexpected{"the daemon refused the connection: " + reason};
    }
    HelloAccepted accepted;
    accepted.max_frame_bytes = kDefaultMaxFrameBytes;
    if (auto session = reply.find("session"); session != reply.end() && session->is_number_unsigned() &&
                                              session->get<std::uint64_t>() <= std::numeric_limits<std::uint32_t>::max()) {
        accepted.session = session->get<std::uint32_t>();
    }
    if (auto limit = reply.find("max_frame_bytes"); limit != reply.end() && limit->is_number_unsigned()) {
        auto value = limit->get<std::uint64_t>();
        accepted.max_frame_bytes = value > std::numeric_limits<std::uint32_t>::max()
                                       ? std::numeric_limits<std::uint32_t>::max()
                                       : static_cast<std::uint32_t>(value);
    }
    return accepted;
}

std::optional<std::string> reply_error(std::string_view json) {
    auto reply = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (!reply.is_object()) return std::nullopt;
    auto ok = reply.find("ok");
    if (ok == reply.end() || !ok->is_boolean() || ok->get<bool>()) return std::nullopt;
    auto error = reply.find("error");
    return error != reply.end() && error->is_string() ? error->get<std::string>() : "no reason given";
}

std::string channel_opened_json(SpiceChannel channel, HeaderMode header) {
    return event_to_json(Event{ChannelOpened{StreamKind::spice, channel.type, channel.id, header}}).dump();
}

std::string channel_closed_json(SpiceChannel channel) {
    return event_to_json(Event{ChannelClosed{StreamKind::spice, channel.type, channel.id, {}}}).dump();
}

std::string producer_stats_json(std::uint64_t dropped_records, std::uint64_t dropped_bytes) {
    return event_to_json(Event{ProducerDrops{dropped_records, dropped_bytes}}).dump();
}

}  // namespace spicecap::producer_detail
