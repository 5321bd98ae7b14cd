// Typed parsing of HELLO, EVENT and REQUEST bodies (see hello.hpp).
#include "hello.hpp"

#include "wire/json_fields.hpp"

namespace spicecap::daemon {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxNameBytes = 128;
constexpr std::size_t kMaxLabelBytes = 256;

Unexpected<std::string> bad(std::string message) { return Unexpected{std::move(message)}; }

using json_fields::optional_string;
using json_fields::optional_uint;

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
    ProducerEvent parsed;
    parsed.json = json::parse(body, nullptr, false);
    auto event = event_from_json(parsed.json);
    if (!event) return Unexpected{event.error()};
    parsed.event = std::move(*event);
    return parsed;
}

Expected<std::string, std::string> parse_request(std::string_view body) {
    const json j = json::parse(body, nullptr, false);
    if (!j.is_object()) return bad("REQUEST body is not a JSON object");
    auto command = j.find("command");
    if (command == j.end() || !command->is_string()) return bad("REQUEST needs \"command\" (a string)");
    return command->get<std::string>();
}

}  // namespace spicecap::daemon
