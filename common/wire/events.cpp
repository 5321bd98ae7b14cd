// EVENT bodies (see events.hpp).
#include "wire/events.hpp"

#include "spice/spice_channel.hpp"
#include "wire/json_fields.hpp"

namespace spicecap {
namespace {

using nlohmann::json;

constexpr std::string_view kChannelOpened = "channel_opened";
constexpr std::string_view kChannelClosed = "channel_closed";
constexpr std::string_view kProducerStats = "producer_stats";

Unexpected<std::string> bad(std::string_view event, const std::string& why) {
    return Unexpected{std::string(event) + ": " + why};
}

// kind, channel_type and channel_id, checked as docs/protocol.md §6.3 says.
template <typename ChannelEvent>
Expected<ChannelEvent, std::string> channel_fields(std::string_view name, const json& body) {
    ChannelEvent event;
    auto kind_field = json_fields::optional_string(body, "kind", 16);
    if (!kind_field) return bad(name, kind_field.error());
    if (!kind_field.value()) return bad(name, "missing \"kind\"");
    auto kind = stream_kind_from_name(**kind_field);
    if (!kind) return bad(name, "unknown kind \"" + **kind_field + "\"");
    event.kind = *kind;
    auto type = json_fields::required_uint(body, "channel_type", 255);
    if (!type) return bad(name, type.error());
    auto id = json_fields::required_uint(body, "channel_id", 255);
    if (!id) return bad(name, id.error());
    event.channel_type = static_cast<std::uint8_t>(*type);
    event.channel_id = static_cast<std::uint8_t>(*id);
    if (event.kind == StreamKind::spice && !spice_channel_name(event.channel_type)) {
        return bad(name, "SPICE channel_type " + std::to_string(*type) + " is outside 1.." +
                             std::to_string(kMaxSpiceChannelType));
    }
    if (event.kind == StreamKind::usb_vsock && event.channel_type != 0) {
        return bad(name, "usbvsock channel_type must be 0");
    }
    return event;
}

Expected<ChannelOpened, std::string> channel_opened(const json& body) {
    auto event = channel_fields<ChannelOpened>(kChannelOpened, body);
    if (!event || event->kind != StreamKind::spice) return event;
    auto header = json_fields::optional_string(body, "header", 8);
    if (!header) return bad(kChannelOpened, header.error());
    const std::string mode = header.value().value_or("mini");
    if (mode != "mini" && mode != "full") return bad(kChannelOpened, "\"header\" must be \"mini\" or \"full\"");
    event->header = mode == "full" ? HeaderMode::full : HeaderMode::mini;
    return event;
}

Expected<ChannelClosed, std::string> channel_closed(const json& body) {
    auto event = channel_fields<ChannelClosed>(kChannelClosed, body);
    if (!event) return event;
    auto reason = json_fields::optional_string(body, "reason", 1024);
    if (!reason) return bad(kChannelClosed, reason.error());
    event->reason = reason.value().value_or("");
    return event;
}

Expected<ProducerDrops, std::string> producer_drops(const json& body) {
    ProducerDrops event;
    auto records = json_fields::required_uint(body, "dropped_records", UINT64_MAX);
    if (!records) return bad(kProducerStats, records.error());
    auto bytes = json_fields::required_uint(body, "dropped_bytes", UINT64_MAX);
    if (!bytes) return bad(kProducerStats, bytes.error());
    event.dropped_records = *records;
    event.dropped_bytes = *bytes;
    return event;
}

// Stores a parsed part into the event, or passes its error on.
template <typename Part>
Expected<Event, std::string> with(Event event, Expected<Part, std::string> part) {
    if (!part) return Unexpected{part.error()};
    event.what = std::move(*part);
    return event;
}

void put_channel(json& body, StreamKind kind, std::uint8_t channel_type, std::uint8_t channel_id) {
    body["kind"] = stream_kind_name(kind);
    body["channel_type"] = channel_type;
    body["channel_id"] = channel_id;
}

}  // namespace

std::string_view event_name(const Event& event) {
    struct Name {
        std::string_view operator()(const ChannelOpened&) const { return kChannelOpened; }
        std::string_view operator()(const ChannelClosed&) const { return kChannelClosed; }
        std::string_view operator()(const ProducerDrops&) const { return kProducerStats; }
        std::string_view operator()(const UnknownEvent& e) const { return e.name; }
    };
    return std::visit(Name{}, event.what);
}

Expected<Event, std::string> event_from_json(const json& body) {
    if (!body.is_object()) return Unexpected{std::string("EVENT body is not a JSON object")};
    auto name_field = body.find("event");
    if (name_field == body.end() || !name_field->is_string()) {
        return Unexpected{std::string("EVENT needs \"event\" (a string)")};
    }
    Event event;
    // The stamps are the daemon's own (it overwrites whatever a producer put there), so they are taken when
    // they are well-formed and otherwise left 0, never a reason to refuse a producer's event.
    if (auto session = json_fields::optional_uint(body, "session", UINT32_MAX); session && session.value()) {
        event.session = static_cast<std::uint32_t>(**session);
    }
    if (auto timestamp = json_fields::optional_uint(body, "timestamp_ns", UINT64_MAX); timestamp && timestamp.value()) {
        event.timestamp_ns = **timestamp;
    }

    const auto& name = name_field->get_ref<const std::string&>();
    if (name == kChannelOpened) return with(std::move(event), channel_opened(body));
    if (name == kChannelClosed) return with(std::move(event), channel_closed(body));
    if (name == kProducerStats) return with(std::move(event), producer_drops(body));
    event.what = UnknownEvent{name};
    return event;
}

Expected<Event, std::string> parse_event(std::string_view body) {
    return event_from_json(json::parse(body, nullptr, /*allow_exceptions=*/false));
}

json event_to_json(const Event& event) {
    json body = {{"event", event_name(event)}};
    if (const auto* opened = std::get_if<ChannelOpened>(&event.what)) {
        put_channel(body, opened->kind, opened->channel_type, opened->channel_id);
        if (opened->kind == StreamKind::spice) body["header"] = opened->header == HeaderMode::full ? "full" : "mini";
    } else if (const auto* closed = std::get_if<ChannelClosed>(&event.what)) {
        put_channel(body, closed->kind, closed->channel_type, closed->channel_id);
        if (!closed->reason.empty()) body["reason"] = closed->reason;
    } else if (const auto* drops = std::get_if<ProducerDrops>(&event.what)) {
        body["dropped_records"] = drops->dropped_records;
        body["dropped_bytes"] = drops->dropped_bytes;
    }
    if (event.session != 0) body["session"] = event.session;
    if (event.timestamp_ns != 0) body["timestamp_ns"] = event.timestamp_ns;
    return body;
}

}  // namespace spicecap
