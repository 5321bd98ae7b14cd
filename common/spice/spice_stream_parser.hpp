// Cuts live SPICE TCP byte streams into whole messages: the link stage first (link message or reply,
// auth mechanism, ticket, link result), then data messages with the header mode both sides negotiated.
//
// A SpiceStreamParser handles ONE direction of one channel connection. It cannot always decide alone what
// comes next: the client sends an auth mechanism only if the server's reply announced auth selection, the
// mini header needs both sides' caps, and a SASL choice changes the server's framing. So each direction is
// told what the other one announced (learn_peer_*); SpiceConnectionParser does that wiring for both
// directions of a connection and is what a proxy normally uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/expected.hpp"
#include "spice/spice_protocol.hpp"

namespace spicecap {

/// Default largest SPICE message accepted: 16 MiB, the producer protocol's default frame limit, so that
/// anything the parser accepts can also be sent to the daemon as one record.
inline constexpr std::size_t kDefaultMaxSpiceMessageBytes = 16u * 1024 * 1024;
/// Default largest link message or reply: real ones are under 300 bytes.
inline constexpr std::size_t kDefaultMaxSpiceLinkBytes = 64u * 1024;

/// Limits that make hostile or corrupt length fields an error instead of an allocation.
struct SpiceParserLimits {
    /// Largest data message (header included); a larger declared size is SpiceErrorCode::too_large.
    std::size_t max_message_bytes = kDefaultMaxSpiceMessageBytes;
    /// Largest link message or reply (header included).
    std::size_t max_link_bytes = kDefaultMaxSpiceLinkBytes;
    /// Most bytes one direction may hold while it cannot be cut until the other direction's link message
    /// or reply (or auth selection) arrives; more is SpiceErrorCode::too_large. A real peer sends a few
    /// hundred bytes and then waits for the other side, so the default (a link message plus one whole
    /// message) is generous; it still accepts any interleaving of two real directions' captures.
    std::size_t max_bytes_waiting_for_peer = kDefaultMaxSpiceLinkBytes + kDefaultMaxSpiceMessageBytes;
};

/// One direction of one SPICE channel connection, fed arbitrary chunks, yielding whole messages.
class SpiceStreamParser {
public:
    explicit SpiceStreamParser(Direction direction, SpiceParserLimits limits = {});

    /// Appends bytes as they arrived, in any chunking. Ignored once the parser has failed (nothing is
    /// buffered for a stream that can no longer be cut). Fails the stream (too_large, reported by next())
    /// instead of buffering past SpiceParserLimits::max_bytes_waiting_for_peer.
    void feed(std::span<const std::uint8_t> bytes);

    /// The next whole message; nothing when more bytes are needed or the peer's link information is
    /// not known yet; or the error that stopped this stream. After an error every call returns it again.
    Expected<std::optional<SpiceWireMessage>, SpiceError> next();

    /// Tells this parser the common caps the other direction's link message (or reply) announced.
    void learn_peer_common_caps(std::span<const std::uint32_t> caps);
    /// Tells the server-direction parser which auth mechanism the client selected.
    void learn_peer_auth_mechanism(std::uint32_t mechanism);

    Direction direction() const noexcept { return direction_; }
    /// The common caps this direction's link message or reply announced, once parsed.
    const std::optional<std::vector<std::uint32_t>>& own_common_caps() const noexcept { return own_caps_; }
    /// The auth mechanism this (client) direction selected, once parsed.
    std::optional<std::uint32_t> selected_auth_mechanism() const noexcept { return own_auth_; }
    /// The client's link message (client direction only), once parsed: channel type and id, connection id.
    const std::optional<SpiceLinkMess>& link_mess() const noexcept { return link_mess_; }
    /// The header mode of data messages, once both sides' common caps are known.
    std::optional<HeaderMode> header_mode() const noexcept;
    /// True once the link stage is over and data messages flow.
    bool in_data_stage() const noexcept { return state_ == State::data; }
    /// The error that stopped this stream, if any.
    const std::optional<SpiceError>& failure() const noexcept { return failure_; }
    /// Bytes fed but not yet returned in a message.
    std::size_t buffered_bytes() const noexcept { return buffer_.size() - start_; }

private:
    enum class State : std::uint8_t { link, auth_mechanism, ticket, link_result, data, closed, failed };

    Expected<std::optional<SpiceWireMessage>, SpiceError> next_link();
    Expected<std::optional<SpiceWireMessage>, SpiceError> next_fixed(SpiceMessageKind kind, std::size_t size);
    Expected<std::optional<SpiceWireMessage>, SpiceError> next_data();
    /// Chooses what follows the link message or reply, if the peer's information allows it yet.
    void advance_after_link();
    std::span<const std::uint8_t> available() const noexcept;
    SpiceWireMessage take(SpiceMessageKind kind, std::size_t size);
    Unexpected<SpiceError> fail(SpiceErrorCode code, std::string message);
    Unexpected<SpiceError> fail_waiting_too_long(std::size_t bytes);

    Direction direction_;
    SpiceParserLimits limits_;
    State state_ = State::link;
    /// The link message/reply was parsed but what follows depends on the peer: waiting for learn_peer_*.
    bool waiting_for_peer_ = false;
    std::vector<std::uint8_t> buffer_;
    std::size_t start_ = 0;
    std::optional<std::vector<std::uint32_t>> own_caps_;
    std::optional<std::vector<std::uint32_t>> peer_caps_;
    std::optional<std::uint32_t> own_auth_;
    std::optional<std::uint32_t> peer_auth_;
    std::optional<SpiceLinkMess> link_mess_;
    std::optional<SpiceError> failure_;
};

/// Both directions of one SPICE channel connection, each told what the other announced.
class SpiceConnectionParser {
public:
    explicit SpiceConnectionParser(SpiceParserLimits limits = {});

    /// What one feed produced.
    struct Result {
        /// Every message completed by this feed, in either direction (a client auth selection may have
        /// been waiting for the server's reply), each direction in stream order.
        std::vector<SpiceWireMessage> messages;
        /// The error that stopped a direction during this feed, if one did. It is reported once; later
        /// bytes in that direction are ignored and failure() keeps it.
        std::optional<SpiceError> error;
    };

    /// Appends bytes seen in `direction` and returns what became complete.
    Result feed(Direction direction, std::span<const std::uint8_t> bytes);

    const SpiceStreamParser& client() const noexcept { return client_; }
    const SpiceStreamParser& server() const noexcept { return server_; }
    /// The channel from the client's link message, once seen.
    std::optional<ChannelType> channel_type() const noexcept;
    std::optional<std::uint8_t> channel_id() const noexcept;
    /// The negotiated data header mode, once both link messages were seen.
    std::optional<HeaderMode> header_mode() const noexcept { return client_.header_mode(); }

private:
    SpiceStreamParser& parser(Direction d) noexcept {
        return d == Direction::client_to_server ? client_ : server_;
    }
    void share_link_information();

    SpiceStreamParser client_;
    SpiceStreamParser server_;
};

}  // namespace spicecap
