// SPICE wire types (spice-protocol's spice/protocol.h and spice/enums.h): channel types, the link stage
// (SpiceLinkHeader + SpiceLinkMess / SpiceLinkReply, auth mechanism, ticket, link result) and the two data
// headers (mini and full). Everything is little-endian and packed on the wire.
//
// What Wireshark 4.0's SPICE dissector needs from these bytes is written down in docs/formats.md (## SPICE).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/direction.hpp"
#include "base/expected.hpp"
#include "spicecap/header_mode.hpp"
#include "spice/spice_channel.hpp"

namespace spicecap {

// ---------------------------------------------------------------------------------------------------------
// Capabilities

/// Bit numbers in the first common capability word (SPICE_COMMON_CAP_*).
namespace common_cap {
/// The peer supports choosing the auth mechanism (the client then sends a SpiceLinkAuthMechanism).
inline constexpr unsigned protocol_auth_selection = 0;
/// Ticket (RSA-encrypted password) authentication.
inline constexpr unsigned auth_spice = 1;
/// SASL authentication.
inline constexpr unsigned auth_sasl = 2;
/// The 6-byte SpiceMiniDataHeader (used only when both sides announce it).
inline constexpr unsigned mini_header = 3;
}  // namespace common_cap

/// Whether capability bit `bit` is set in a capability word list (a missing word means "not set").
bool has_cap(std::span<const std::uint32_t> caps, unsigned bit) noexcept;
/// A capability word list with the given bits set, as long as the highest bit needs.
std::vector<std::uint32_t> caps_with(std::initializer_list<unsigned> bits);

/// Auth mechanisms a client selects with SpiceLinkAuthMechanism (the same numbers as the common caps).
namespace auth_mechanism {
inline constexpr std::uint32_t spice = common_cap::auth_spice;
inline constexpr std::uint32_t sasl = common_cap::auth_sasl;
}  // namespace auth_mechanism

/// SpiceLinkErr: the error field of a SpiceLinkReply and the value of the link result.
namespace link_err {
inline constexpr std::uint32_t ok = 0;
inline constexpr std::uint32_t error = 1;
inline constexpr std::uint32_t permission_denied = 7;
}  // namespace link_err

// ---------------------------------------------------------------------------------------------------------
// Errors

/// Why SPICE bytes could not be parsed.
enum class SpiceErrorCode : std::uint8_t {
    truncated,            ///< fewer bytes than the structure (or its declared size) needs
    trailing_bytes,       ///< more bytes than the structure declares
    bad_magic,            ///< a link message that does not start with "REDQ"
    bad_link_size,        ///< a link header size too small for its message, or caps outside it
    too_large,            ///< a message above the configured maximum
    unsupported_auth,     ///< SASL or an unknown auth mechanism: the rest of the stream is not plain SPICE
    after_close,          ///< bytes after the link stage failed (the peer must have closed)
};

/// A parse failure: what kind, and a sentence saying exactly what was wrong.
struct SpiceError {
    /// The kind of failure, for code that reacts to it.
    SpiceErrorCode code;
    /// A human-readable explanation with the offending values.
    std::string message;
};

// ---------------------------------------------------------------------------------------------------------
// Link stage

/// "REDQ" read as a little-endian u32 (SPICE_MAGIC).
inline constexpr std::uint32_t kSpiceMagic = 0x51444552;
/// The protocol version every current SPICE client and server sends (SPICE_VERSION_MAJOR/MINOR).
inline constexpr std::uint32_t kSpiceVersionMajor = 2;
inline constexpr std::uint32_t kSpiceVersionMinor = 2;
/// Bytes of the server's RSA public key in a SpiceLinkReply (SPICE_TICKET_PUBKEY_BYTES, X.509 SPKI DER).
inline constexpr std::size_t kSpicePubkeyBytes = 162;
/// Bytes of the client's RSA-encrypted ticket (SPICE_TICKET_KEY_PAIR_LENGTH / 8).
inline constexpr std::size_t kSpiceTicketBytes = 128;

/// kSpiceMagic as it is on the wire.
inline constexpr std::array<std::uint8_t, 4> kSpiceMagicBytes = {'R', 'E', 'D', 'Q'};

/// True while `bytes` agree with "REDQ" as far as they go (no bytes agree): the first bytes of every SPICE
/// channel connection, in both directions, are a link message or reply starting with the magic.
constexpr bool agrees_with_spice_magic(std::span<const std::uint8_t> bytes) noexcept {
    for (std::size_t i = 0; i < bytes.size() && i < kSpiceMagicBytes.size(); ++i) {
        if (bytes[i] != kSpiceMagicBytes[i]) return false;
    }
    return true;
}

/// True if `bytes` begin with the whole magic "REDQ": a client's first message, SpiceLinkMess, does.
constexpr bool starts_with_spice_magic(std::span<const std::uint8_t> bytes) noexcept {
    return bytes.size() >= kSpiceMagicBytes.size() && agrees_with_spice_magic(bytes);
}

/// The 16 bytes in front of a SpiceLinkMess or SpiceLinkReply (SpiceLinkHeader).
struct SpiceLinkHeader {
    static constexpr std::size_t kSize = 16;

    /// Always kSpiceMagic ("REDQ" on the wire).
    std::uint32_t magic = kSpiceMagic;
    /// Protocol major version; 2 for every current client and server.
    std::uint32_t major_version = kSpiceVersionMajor;
    /// Protocol minor version; 2 for every current client and server.
    std::uint32_t minor_version = kSpiceVersionMinor;
    /// Bytes after this header: the SpiceLinkMess/SpiceLinkReply and its capability words.
    std::uint32_t size = 0;

    /// Appends the 16 header bytes to `out`.
    void encode(std::vector<std::uint8_t>& out) const;
    /// Reads a header from the start of `bytes` (which may hold more). Checks the magic, not the size.
    static Expected<SpiceLinkHeader, SpiceError> parse(std::span<const std::uint8_t> bytes);
};

/// The client's first message on a channel connection: SpiceLinkHeader + SpiceLinkMess + capability words.
struct SpiceLinkMess {
    /// Bytes of the fixed SpiceLinkMess part (after the link header, before the capability words).
    static constexpr std::size_t kFixedSize = 18;

    /// 0 on the main channel; on every other channel the session id the server sent in main INIT.
    std::uint32_t connection_id = 0;
    /// The SPICE channel type this connection carries (a ChannelType number).
    std::uint8_t channel_type = 0;
    /// Which channel of that type (0 for the first display, 1 for a second monitor's display...).
    std::uint8_t channel_id = 0;
    /// Common capability words (SPICE_COMMON_CAP_* bits in word 0).
    std::vector<std::uint32_t> common_caps;
    /// Channel-specific capability words (e.g. SPICE_DISPLAY_CAP_* on a display channel).
    std::vector<std::uint32_t> channel_caps;

    /// The whole message as sent: header (magic, version 2.2, size) + fields + caps, caps_offset = 18.
    std::vector<std::uint8_t> encode() const;
    /// Parses exactly one whole message (header included). Honors caps_offset; rejects caps outside the
    /// declared size, a size too small for the fixed part, and bytes beyond the declared size.
    static Expected<SpiceLinkMess, SpiceError> parse(std::span<const std::uint8_t> message);
};

/// The server's answer to a SpiceLinkMess: SpiceLinkHeader + SpiceLinkReply + capability words.
struct SpiceLinkReply {
    /// Bytes of the fixed SpiceLinkReply part (error + public key + 3 counts/offset).
    static constexpr std::size_t kFixedSize = 4 + kSpicePubkeyBytes + 12;

    /// link_err::ok, or why the server refuses the link (it then closes the connection).
    std::uint32_t error = link_err::ok;
    /// The server's RSA public key (X.509 SubjectPublicKeyInfo, DER) the client encrypts its ticket with.
    std::array<std::uint8_t, kSpicePubkeyBytes> pub_key{};
    /// Common capability words (SPICE_COMMON_CAP_* bits in word 0).
    std::vector<std::uint32_t> common_caps;
    /// Channel-specific capability words.
    std::vector<std::uint32_t> channel_caps;

    /// The whole message as sent: header + fields + caps, caps_offset = kFixedSize.
    std::vector<std::uint8_t> encode() const;
    /// Parses exactly one whole message (header included), with the same checks as SpiceLinkMess::parse.
    static Expected<SpiceLinkReply, SpiceError> parse(std::span<const std::uint8_t> message);
};

/// The client's choice of auth mechanism (SpiceLinkAuthMechanism), sent after the reply only when both
/// link messages announced common_cap::protocol_auth_selection.
struct SpiceLinkAuthMechanism {
    static constexpr std::size_t kSize = 4;

    /// auth_mechanism::spice (ticket follows) or auth_mechanism::sasl (SASL exchange follows).
    std::uint32_t mechanism = auth_mechanism::spice;

    std::vector<std::uint8_t> encode() const;
    /// Parses exactly 4 bytes.
    static Expected<SpiceLinkAuthMechanism, SpiceError> parse(std::span<const std::uint8_t> message);
};

/// The client's password, RSA-OAEP encrypted with the server's public key (SpiceLinkEncryptedTicket).
struct SpiceLinkTicket {
    static constexpr std::size_t kSize = kSpiceTicketBytes;

    /// The encrypted ticket; opaque to everyone but the server.
    std::array<std::uint8_t, kSpiceTicketBytes> encrypted{};

    std::vector<std::uint8_t> encode() const;
    /// Parses exactly 128 bytes.
    static Expected<SpiceLinkTicket, SpiceError> parse(std::span<const std::uint8_t> message);
};

/// The server's verdict on the ticket, the last link-stage message (a bare u32 SpiceLinkErr).
struct SpiceLinkResult {
    static constexpr std::size_t kSize = 4;

    /// link_err::ok, after which data messages follow; anything else and the server closes.
    std::uint32_t error = link_err::ok;

    std::vector<std::uint8_t> encode() const;
    /// Parses exactly 4 bytes.
    static Expected<SpiceLinkResult, SpiceError> parse(std::span<const std::uint8_t> message);
};

// ---------------------------------------------------------------------------------------------------------
// Data headers

/// The 6-byte data header (SpiceMiniDataHeader) used when both sides announced common_cap::mini_header.
struct SpiceMiniDataHeader {
    static constexpr std::size_t kSize = 6;

    /// Message type (e.g. server_msg::ping); its meaning depends on the channel type and direction.
    std::uint16_t type = 0;
    /// Bytes of the message body that follows the header.
    std::uint32_t size = 0;

    /// Appends the 6 header bytes to `out`.
    void encode(std::vector<std::uint8_t>& out) const;
    /// Reads a header from the start of `bytes` (which may hold more).
    static Expected<SpiceMiniDataHeader, SpiceError> parse(std::span<const std::uint8_t> bytes);
};

/// The 18-byte data header (SpiceDataHeader) of peers without mini-header support.
struct SpiceDataHeader {
    static constexpr std::size_t kSize = 18;

    /// Per-direction message counter; a sender numbers its messages 1, 2, 3...
    std::uint64_t serial = 0;
    /// Message type, as in the mini header.
    std::uint16_t type = 0;
    /// Bytes of the message body that follows the header (sub-message list included).
    std::uint32_t size = 0;
    /// Offset of a SpiceSubMessageList in the body, 0 for none (no current peer sends sub-messages).
    std::uint32_t sub_list = 0;

    /// Appends the 18 header bytes to `out`.
    void encode(std::vector<std::uint8_t>& out) const;
    /// Reads a header from the start of `bytes` (which may hold more).
    static Expected<SpiceDataHeader, SpiceError> parse(std::span<const std::uint8_t> bytes);
};

/// Bytes of the data header in `mode`.
constexpr std::size_t data_header_size(HeaderMode mode) noexcept {
    return mode == HeaderMode::mini ? SpiceMiniDataHeader::kSize : SpiceDataHeader::kSize;
}

/// A whole data message: the header for `mode` (full: with `serial`, sub_list 0) followed by `body`.
std::vector<std::uint8_t> encode_data_message(HeaderMode mode, std::uint64_t serial, std::uint16_t type,
                                              std::span<const std::uint8_t> body);

// ---------------------------------------------------------------------------------------------------------
// Messages as cut from (or written to) a stream

/// What a SPICE message on a channel connection is.
enum class SpiceMessageKind : std::uint8_t {
    link_mess,       ///< client: SpiceLinkHeader + SpiceLinkMess + caps
    link_reply,      ///< server: SpiceLinkHeader + SpiceLinkReply + caps
    auth_mechanism,  ///< client: SpiceLinkAuthMechanism (only with auth selection on both sides)
    ticket,          ///< client: 128-byte encrypted ticket
    link_result,     ///< server: u32 SpiceLinkErr
    data,            ///< either side: data header + body
};

/// One whole message as it was on the wire.
struct SpiceWireMessage {
    /// Which way it travelled.
    Direction direction = Direction::client_to_server;
    /// Link-stage message or data message.
    SpiceMessageKind kind = SpiceMessageKind::data;
    /// Data messages: the header they carry. Link-stage messages: unused (full).
    HeaderMode header_mode = HeaderMode::full;
    /// Data messages: the message type from the header. Link-stage messages: 0.
    std::uint16_t type = 0;
    /// Data messages with a full header: the serial. Otherwise 0.
    std::uint64_t serial = 0;
    /// The whole message, header included, byte for byte.
    std::vector<std::uint8_t> bytes;

    /// Data messages: the bytes after the data header. Link-stage messages: all bytes.
    std::span<const std::uint8_t> body() const noexcept;
};

// ---------------------------------------------------------------------------------------------------------
// Message types (the numbers Wireshark's dissector names; see docs/formats.md for its labels)

/// Server -> client message types (SPICE_MSG_*). Below 101 they are common to every channel.
namespace server_msg {
inline constexpr std::uint16_t migrate = 1;
inline constexpr std::uint16_t set_ack = 3;
inline constexpr std::uint16_t ping = 4;
inline constexpr std::uint16_t notify = 7;
inline constexpr std::uint16_t main_init = 103;
inline constexpr std::uint16_t main_channels_list = 104;
inline constexpr std::uint16_t main_mouse_mode = 105;
inline constexpr std::uint16_t main_multi_media_time = 106;
inline constexpr std::uint16_t main_agent_data = 109;
inline constexpr std::uint16_t main_name = 113;
inline constexpr std::uint16_t main_uuid = 114;
inline constexpr std::uint16_t display_mode = 101;
inline constexpr std::uint16_t display_mark = 102;
inline constexpr std::uint16_t display_reset = 103;
inline constexpr std::uint16_t display_stream_create = 122;
inline constexpr std::uint16_t display_stream_data = 123;
inline constexpr std::uint16_t display_stream_destroy = 125;
inline constexpr std::uint16_t display_draw_fill = 302;
inline constexpr std::uint16_t display_draw_copy = 304;
inline constexpr std::uint16_t display_surface_create = 314;
inline constexpr std::uint16_t display_surface_destroy = 315;
inline constexpr std::uint16_t display_monitors_config = 317;
inline constexpr std::uint16_t inputs_init = 101;
inline constexpr std::uint16_t inputs_key_modifiers = 102;
inline constexpr std::uint16_t inputs_mouse_motion_ack = 111;
inline constexpr std::uint16_t cursor_init = 101;
inline constexpr std::uint16_t cursor_reset = 102;
inline constexpr std::uint16_t cursor_set = 103;
inline constexpr std::uint16_t cursor_move = 104;
inline constexpr std::uint16_t cursor_hide = 105;
inline constexpr std::uint16_t playback_data = 101;
inline constexpr std::uint16_t spicevmc_data = 101;  ///< usbredir, port and webdav data
}  // namespace server_msg

/// Client -> server message types (SPICE_MSGC_*). Below 101 they are common to every channel.
namespace client_msg {
inline constexpr std::uint16_t ack_sync = 1;
inline constexpr std::uint16_t ack = 2;
inline constexpr std::uint16_t pong = 3;
inline constexpr std::uint16_t disconnecting = 6;
inline constexpr std::uint16_t main_client_info = 101;
inline constexpr std::uint16_t main_attach_channels = 104;
inline constexpr std::uint16_t main_mouse_mode_request = 105;
inline constexpr std::uint16_t main_agent_start = 106;
inline constexpr std::uint16_t main_agent_data = 107;
inline constexpr std::uint16_t display_init = 101;
inline constexpr std::uint16_t inputs_key_down = 101;
inline constexpr std::uint16_t inputs_key_up = 102;
inline constexpr std::uint16_t inputs_key_modifiers = 103;
inline constexpr std::uint16_t inputs_mouse_motion = 111;
inline constexpr std::uint16_t inputs_mouse_position = 112;
inline constexpr std::uint16_t inputs_mouse_press = 113;
inline constexpr std::uint16_t inputs_mouse_release = 114;
inline constexpr std::uint16_t spicevmc_data = 101;  ///< usbredir, port and webdav data
}  // namespace client_msg

}  // namespace spicecap
