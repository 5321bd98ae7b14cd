// EVENT bodies (docs/protocol.md §6.3, §7.3) as types: what producers send about their channels and their
// own losses, and what the daemon forwards to subscribers with the session and arrival time added. The
// JSON spelling lives here only; everyone else handles Event values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "base/expected.hpp"
#include "spicecap/header_mode.hpp"
#include "wire/record.hpp"

namespace spicecap {

/// `channel_opened`: a producer opened a channel. Optional for producers (records on a channel never
/// opened are accepted), but it is how a producer declares a SPICE channel's header mode.
struct ChannelOpened {
    /// SPICE or USB vsock.
    StreamKind kind = StreamKind::spice;
    /// SPICE: 1..11 (ChannelType). USB vsock: 0.
    std::uint8_t channel_type = 0;
    /// SPICE: the channel id. USB vsock: the USB link.
    std::uint8_t channel_id = 0;
    /// SPICE: the data header of the channel ("header": "mini" or "full"; mini when absent).
    HeaderMode header = HeaderMode::mini;

    friend bool operator==(const ChannelOpened&, const ChannelOpened&) = default;
};

/// `channel_closed`: the channel's connection ended. The daemon sends one itself, with a reason, for every
/// channel still open when its producer disconnects.
struct ChannelClosed {
    /// SPICE or USB vsock.
    StreamKind kind = StreamKind::spice;
    /// As in ChannelOpened.
    std::uint8_t channel_type = 0;
    /// As in ChannelOpened.
    std::uint8_t channel_id = 0;
    /// Why, when the daemon closed it ("producer disconnected"); empty (and not sent) otherwise.
    std::string reason;

    friend bool operator==(const ChannelClosed&, const ChannelClosed&) = default;
};

/// `producer_stats`: what the producer dropped on its side since its previous producer_stats.
struct ProducerDrops {
    /// Records dropped (buffer full, too large, invalid).
    std::uint64_t dropped_records = 0;
    /// Their payload bytes.
    std::uint64_t dropped_bytes = 0;

    friend bool operator==(const ProducerDrops&, const ProducerDrops&) = default;
};

/// An event name this version does not know. The protocol says to ignore it (it is not an error).
struct UnknownEvent {
    /// The "event" value.
    std::string name;

    friend bool operator==(const UnknownEvent&, const UnknownEvent&) = default;
};

/// One EVENT body.
struct Event {
    /// What happened.
    std::variant<ChannelOpened, ChannelClosed, ProducerDrops, UnknownEvent> what;
    /// The producer's session, added by the daemon when it forwards the event (0 from a producer).
    std::uint32_t session = 0;
    /// When the daemon received it, ns since the Unix epoch, added when forwarding (0 from a producer).
    std::uint64_t timestamp_ns = 0;

    friend bool operator==(const Event&, const Event&) = default;
};

/// The "event" name of each kind: "channel_opened", "channel_closed", "producer_stats".
std::string_view event_name(const Event& event);

/// Reads an EVENT body already parsed as JSON. A known event with a missing or mistyped field is an error
/// (one sentence naming the event and the field); an unknown "event" name gives UnknownEvent; unknown
/// fields are ignored.
Expected<Event, std::string> event_from_json(const nlohmann::json& body);
/// Parses and reads an EVENT body.
Expected<Event, std::string> parse_event(std::string_view body);

/// The JSON body of `event`, with "session" and "timestamp_ns" only when they are set. An UnknownEvent
/// has nothing to say but its name.
nlohmann::json event_to_json(const Event& event);

}  // namespace spicecap
