// The link stage spicecap synthesizes when a producer reports only data messages (design §4, "No link
// stage from the producer?"): the five messages a real client and server exchange on a channel
// connection before any data message, with capabilities chosen so that Wireshark's SPICE dissector then
// decodes the data messages with the header mode the producer declared.
#pragma once

#include <cstdint>
#include <vector>

#include "spice/spice_protocol.hpp"

namespace spicecap {

/// The link stage of one channel connection, in wire order, each message with its direction:
///  1. client SpiceLinkMess (common caps: auth selection, SPICE auth, and mini header if `mode` is mini)
///  2. server SpiceLinkReply (error OK, the same common caps)
///  3. client SpiceLinkAuthMechanism (SPICE ticket auth)
///  4. client ticket (128 bytes)
///  5. server link result (OK)
/// No channel capability words are announced: spicecap does not know what the real peers negotiated, and
/// Wireshark 4.0 flags channel caps of channel types it has no table for. The ticket and public key are
/// recognisable filler, not secrets. Each message must become its own TCP segment (see docs/formats.md).
std::vector<SpiceWireMessage> synthetic_link_stage(ChannelType channel_type, std::uint8_t channel_id,
                                                   HeaderMode mode, std::uint32_t connection_id);

}  // namespace spicecap
