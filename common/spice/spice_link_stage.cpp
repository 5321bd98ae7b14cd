// Synthetic SPICE link stage (see spicecap/spice_link_stage.hpp).
#include "spice/spice_link_stage.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace spicecap {

namespace {

/// Filler for the ticket and public key, so that someone reading the bytes in Wireshark sees that this
/// link stage was made up by spicecap rather than captured.
constexpr std::string_view kFiller = "spicecap synthetic link stage";

template <std::size_t N>
std::array<std::uint8_t, N> filler() {
    std::array<std::uint8_t, N> bytes{};
    std::copy_n(kFiller.begin(), std::min(N, kFiller.size()), bytes.begin());
    return bytes;
}

SpiceWireMessage link_message(Direction direction, SpiceMessageKind kind, std::vector<std::uint8_t> bytes) {
    SpiceWireMessage m;
    m.direction = direction;
    m.kind = kind;
    m.bytes = std::move(bytes);
    return m;
}

}  // namespace

std::vector<SpiceWireMessage> synthetic_link_stage(ChannelType channel_type, std::uint8_t channel_id,
                                                   HeaderMode mode, std::uint32_t connection_id) {
    const auto common_caps =
        mode == HeaderMode::mini
            ? caps_with({common_cap::protocol_auth_selection, common_cap::auth_spice, common_cap::mini_header})
            : caps_with({common_cap::protocol_auth_selection, common_cap::auth_spice});

    SpiceLinkMess mess;
    mess.connection_id = connection_id;
    mess.channel_type = static_cast<std::uint8_t>(channel_type);
    mess.channel_id = channel_id;
    mess.common_caps = common_caps;

    SpiceLinkReply reply;
    reply.error = link_err::ok;
    reply.pub_key = filler<kSpicePubkeyBytes>();
    reply.common_caps = common_caps;

    SpiceLinkTicket ticket;
    ticket.encrypted = filler<kSpiceTicketBytes>();

    constexpr auto c2s = Direction::client_to_server;
    constexpr auto s2c = Direction::server_to_client;
    std::vector<SpiceWireMessage> stage;
    stage.reserve(5);
    stage.push_back(link_message(c2s, SpiceMessageKind::link_mess, mess.encode()));
    stage.push_back(link_message(s2c, SpiceMessageKind::link_reply, reply.encode()));
    stage.push_back(link_message(c2s, SpiceMessageKind::auth_mechanism,
                                 SpiceLinkAuthMechanism{auth_mechanism::spice}.encode()));
    stage.push_back(link_message(c2s, SpiceMessageKind::ticket, ticket.encode()));
    stage.push_back(link_message(s2c, SpiceMessageKind::link_result, SpiceLinkResult{link_err::ok}.encode()));
    return stage;
}

}  // namespace spicecap
