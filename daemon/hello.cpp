// Typed parsing of HELLO, EVENT and REQUEST bodies (see hello.hpp).
#include "hello.hpp"

namespace spicecap::daemon {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxNameBytes = 128;
constexpr std::size_t kMaxLabelBytes = 256;

Unexpected<std::string> bad(std::string message) { return Unexpected{std::move(message)}; }

// The unsigned integer field `key` of `j` within [0, max]; nullopt if absent, error if mistyped.
Expected<std::optional<std::uint64_t>, std::string> optional_uint(const json& j, const char* key, std::uint64_t max) {
    auto it = j.find(key);
    if (it == j.end()) return std::optional<std::uint64_t>{};
    if (!it->is_number_integer() || (it->is_number_integer() && !it->is_number_unsigned() && it->get<std::int64_t>() < 0)) {
        return bad(std::string("\"") + key + "\" must be an integer >= 0");
    }
    const auto value = it->get<std::uint64_t>();
    if (value > max) return bad(std::string("\"") + key + "\" must be at most " + std::to_string(max));
    return std::optional<std::uint64_t>{value};
}

Expected<std::uint64_t, std::string> required_uint(const json& j, const char* key, std::uint64_t max) {
    auto v = optional_uint(j, key, max);
    if (!v) return Unexpected{v.error()};
    if (!v.value()) return bad(std::string("missing \"") + key + "\"");
    return **v;
}

Expected<std::optional<std::string>, std::string> optional_string(const json& j, const char* key, std::size_t max_bytes) {
    auto it = j.find(key);
    if (it == j.end()) return std::optional<std::string>{};
    if (!it->is_string()) return bad(std::string("\"") + key + "\" must be a string");
    auto s = it->get<std::string>();
    if (s.size() > max_bytes) return bad(std::string("\"") + key + "\" is longer than " + std::to_string(max_bytes) + " bytes");
    return std::optional<std::string>{std::move(s)};
}

Expected<Hello, std::string> parse_subscriber(const json& j) {
    SubscriberHello hello;
    auto kind_it = j.find("kind");
    if (kind_it == j.end() || !kind_it->is_string()) return bad("subscriber HELLO needs \"kind\": \"spice\" or \"usbvsock\"");
    auto kind = stream_kind_from_name(kind_it->get<std::string>());
    if (!kind) return bad("unknown kind \"" + kind_it->get<std::string>() + "\" (use \"spice\" or \"usbvsock\")");
    hello.kind = *kind;

    hello.channel_mask = 0;
    if (auto it = j.find("channels"); it != j.end()) {
        if (!it->is_array()) return bad("\"channels\" must be an array of channel names");
        if (!it->empty() && hello.kind != StreamKind::spice) return bad("\"channels\" applies to kind \"spice\" only");
        for (const auto& name : *it) {
            if (!name.is_string()) return bad("\"channels\" must be an array of channel names");
            auto type = spice_channel_type_from_name(name.get<std::string>());
            if (!type) return bad("unknown SPICE channel \"" + name.get<std::string>() + "\"");
            hello.channel_mask |= 1u << *type;
            hello.channel_names.push_back(name.get<std::string>());
        }
    }
    if (hello.channel_mask == 0) hello.channel_mask = ~0u;

    if (auto it = j.find("sessions"); it != j.end()) {
        if (!it->is_array()) return bad("\"sessions\" must be an array of session ids");
        std::vector<std::uint32_t> ids;
        for (const auto& id : *it) {
            if (!id.is_number_unsigned() || id.get<std::uint64_t>() > 0xFFFFFFFFu) {
                return bad("\"sessions\" must be an array of session ids (integers)");
            }
            ids.push_back(id.get<std::uint32_t>());
        }
        hello.sessions = std::move(ids);
    }
    if (auto it = j.find("history_seconds"); it != j.end()) {
        if (!it->is_number() || it->get<double>() < 0) return bad("\"history_seconds\" must be a number >= 0");
        hello.history_seconds = it->get<double>();
    }
    return Hello{std::move(hello)};
}

Expected<Hello, std::string> parse_producer(const json& j) {
    ProducerHello hello;
    auto name = optional_string(j, "name", kMaxNameBytes);
    if (!name) return Unexpected{name.error()};
    if (!name.value()) return bad("producer HELLO needs \"name\"");
    hello.name = std::move(**name);
    auto pid = optional_uint(j, "pid", 0x7FFFFFFF);
    if (!pid) return Unexpected{pid.error()};
    hello.pid = static_cast<std::int64_t>(pid.value().value_or(0));
    auto label = optional_string(j, "session", kMaxLabelBytes);
    if (!label) return Unexpected{label.error()};
    hello.label = label.value().value_or("");
    return Hello{std::move(hello)};
}

}  // namespace

Expected<Hello, std::string> parse_hello(std::string_view body) {
    const json j = json::parse(body, nullptr, false);
    if (!j.is_object()) return bad("HELLO body is not a JSON object");
    auto version = j.find("version");
    if (version == j.end()) return bad("HELLO has no \"version\"");
    if (!version->is_number_integer()) return bad("HELLO \"version\" must be an integer");
    if (version->get<std::int64_t>() != kProtocolVersion) {
        return bad("unsupported protocol version " + version->dump() + " (this daemon speaks " +
                   std::to_string(kProtocolVersion) + ")");
    }
    auto role = j.find("role");
    if (role == j.end() || !role->is_string()) return bad("HELLO needs \"role\": \"producer\", \"subscriber\" or \"control\"");
    const auto& r = role->get_ref<const std::string&>();
    if (r == "producer") return parse_producer(j);
    if (r == "subscriber") return parse_subscriber(j);
    if (r == "control") return Hello{ControlHello{}};
    return bad("unknown role \"" + r + "\" (use \"producer\", \"subscriber\" or \"control\")");
}

Expected<ProducerEvent, std::string> parse_producer_event(std::string_view body) {
    ProducerEvent event;
    event.json = json::parse(body, nullptr, false);
    if (!event.json.is_object()) return bad("EVENT body is not a JSON object");
    auto name_it = event.json.find("event");
    if (name_it == event.json.end() || !name_it->is_string()) return bad("EVENT needs \"event\" (a string)");
    const std::string name = name_it->get<std::string>();

    if (name == "channel_opened" || name == "channel_closed") {
        ChannelEvent ch;
        ch.opened = name == "channel_opened";
        auto kind_it = event.json.find("kind");
        if (kind_it == event.json.end() || !kind_it->is_string()) return bad(name + " needs \"kind\"");
        auto kind = stream_kind_from_name(kind_it->get<std::string>());
        if (!kind) return bad(name + ": unknown kind \"" + kind_it->get<std::string>() + "\"");
        ch.kind = *kind;
        auto type = required_uint(event.json, "channel_type", 255);
        if (!type) return bad(name + ": " + type.error());
        auto id = required_uint(event.json, "channel_id", 255);
        if (!id) return bad(name + ": " + id.error());
        ch.channel_type = static_cast<std::uint8_t>(*type);
        ch.channel_id = static_cast<std::uint8_t>(*id);
        if (ch.kind == StreamKind::spice && !spice_channel_name(ch.channel_type)) {
            return bad(name + ": SPICE channel_type " + std::to_string(*type) + " is outside 1..11");
        }
        if (ch.kind == StreamKind::usb_vsock && ch.channel_type != 0) return bad(name + ": usbvsock channel_type must be 0");
        if (ch.opened && ch.kind == StreamKind::spice) {
            auto header = optional_string(event.json, "header", 8);
            if (!header) return bad(name + ": " + header.error());
            ch.header = header.value().value_or("mini");
            if (ch.header != "mini" && ch.header != "full") return bad(name + ": \"header\" must be \"mini\" or \"full\"");
        }
        event.what = ch;
        return event;
    }
    if (name == "producer_stats") {
        ProducerStatsEvent stats;
        auto records = required_uint(event.json, "dropped_records", UINT64_MAX);
        if (!records) return bad(name + ": " + records.error());
        auto bytes = required_uint(event.json, "dropped_bytes", UINT64_MAX);
        if (!bytes) return bad(name + ": " + bytes.error());
        stats.dropped_records = *records;
        stats.dropped_bytes = *bytes;
        event.what = stats;
        return event;
    }
    event.what = UnknownEvent{name};
    return event;
}

Expected<std::string, std::string> parse_request(std::string_view body) {
    const json j = json::parse(body, nullptr, false);
    if (!j.is_object()) return bad("REQUEST body is not a JSON object");
    auto command = j.find("command");
    if (command == j.end() || !command->is_string()) return bad("REQUEST needs \"command\" (a string)");
    return command->get<std::string>();
}

}  // namespace spicecap::daemon
