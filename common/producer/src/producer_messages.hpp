// The JSON a producer exchanges with the daemon (docs/protocol.md §6): its HELLO, the daemon's REPLY, and
// the EVENT bodies for channel opened / closed and producer stats.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/expected.hpp"
#include "spicecap/producer.hpp"

namespace spicecap::producer_detail {

/// The longest producer name and session label the daemon accepts, in bytes.
inline constexpr std::size_t kMaxNameBytes = 128;
inline constexpr std::size_t kMaxSessionLabelBytes = 256;

/// `{"version":1,"role":"producer","name":...,"pid":...,"session":...}`. Invalid UTF-8 in name or label is
/// replaced by U+FFFD (the daemon would refuse it).
std::string producer_hello_json(std::string_view name, long pid, std::string_view session_label);

/// What the daemon answered to a producer's HELLO.
struct HelloAccepted {
    /// The session id the daemon gave this connection.
    std::uint32_t session = 0;
    /// The daemon's frame limit (default 16 MiB when the REPLY does not say).
    std::uint32_t max_frame_bytes = 0;
};

/// Reads a REPLY body: the accepted session, or the daemon's refusal / a malformed reply as a sentence.
Expected<HelloAccepted, std::string> parse_hello_reply(std::string_view json);

/// The "error" of a REPLY with "ok":false (std::nullopt for anything else), for a daemon that says why it
/// closes a connection.
std::optional<std::string> reply_error(std::string_view json);

/// `{"event":"channel_opened","kind":"spice","channel_type":T,"channel_id":I,"header":"mini"|"full"}`.
std::string channel_opened_json(SpiceChannel channel, HeaderMode header);
/// `{"event":"channel_closed","kind":"spice","channel_type":T,"channel_id":I}`.
std::string channel_closed_json(SpiceChannel channel);
/// `{"event":"producer_stats","dropped_records":N,"dropped_bytes":N}`.
std::string producer_stats_json(std::uint64_t dropped_records, std::uint64_t dropped_bytes);

}  // namespace spicecap::producer_detail
