// The JSON bodies the daemon receives (docs/protocol.md §3, §6, §7, §9), parsed into typed values with a
// clear error for anything missing or mistyped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/expected.hpp"
#include "wire/events.hpp"
#include "wire/record.hpp"

namespace spicecap::daemon {

/// The protocol version this daemon speaks.
inline constexpr int kProtocolVersion = 1;

/// A producer's HELLO.
struct ProducerHello {
    /// Program name, e.g. "ryll".
    std::string name;
    /// Its process id as it says (0 if absent).
    std::int64_t pid = 0;
    /// The session label, e.g. the VM name ("" if absent).
    std::string label;
};

/// A subscriber's HELLO.
struct SubscriberHello {
    /// Which records it wants.
    StreamKind kind = StreamKind::spice;
    /// Bit N set = SPICE channel type N wanted; all bits set when "channels" is absent or empty.
    std::uint32_t channel_mask = 0;
    /// The channel names it asked for (empty = all), for status.
    std::vector<std::string> channel_names;
    /// Session ids it wants; nullopt = all.
    std::optional<std::vector<std::uint32_t>> sessions;
    /// Seconds of history to replay first.
    double history_seconds = 0;
};

/// A control client's HELLO (no fields of its own).
struct ControlHello {};

/// Any HELLO.
using Hello = std::variant<ProducerHello, SubscriberHello, ControlHello>;

/// Parses a HELLO body (already known to be a JSON object).
Expected<Hello, std::string> parse_hello(std::string_view body);

/// A producer's EVENT: what it says (wire/events.hpp) and its JSON, which subscribers get as the producer
/// wrote it, with "session" and "timestamp_ns" added (docs/protocol.md §7.3).
struct ProducerEvent {
    Event event;
    nlohmann::json json;
};

/// Parses an EVENT body from a producer.
Expected<ProducerEvent, std::string> parse_producer_event(std::string_view body);

/// Parses a REQUEST body: the command name.
Expected<std::string, std::string> parse_request(std::string_view body);

}  // namespace spicecap::daemon
