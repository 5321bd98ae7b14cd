// Cutting SPICE byte streams into messages (see spicecap/spice_stream_parser.hpp).
#include "spice/spice_stream_parser.hpp"

#include <algorithm>
#include <array>

namespace spicecap {

namespace {

/// Consumed bytes are dropped from the front of the buffer once there are this many and they are at
/// least half of it, so a long stream costs amortized O(1) per byte and bounded memory.
constexpr std::size_t kCompactThreshold = 64 * 1024;


std::string hex_prefix(std::span<const std::uint8_t> bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string s;
    for (std::uint8_t b : bytes.first(std::min<std::size_t>(bytes.size(), 4))) {
        s += hex[b >> 4];
        s += hex[b & 15];
    }
    return s;
}

const char* direction_name(Direction d) {
    return d == Direction::client_to_server ? "client->server" : "server->client";
}

}  // namespace

SpiceStreamParser::SpiceStreamParser(Direction direction, SpiceParserLimits limits)
    : direction_(direction), limits_(limits) {}

void SpiceStreamParser::feed(std::span<const std::uint8_t> bytes) {
    if (state_ == State::failed || bytes.empty()) return;
    if (waiting_for_peer_) {
        advance_after_link();  // the peer's information may have been learnt since the last next()
        if (state_ == State::failed) return;
        if (waiting_for_peer_ && buffered_bytes() + bytes.size() > limits_.max_bytes_waiting_for_peer) {
            fail_waiting_too_long(buffered_bytes() + bytes.size());
            return;
        }
    }
    if (start_ == buffer_.size()) {
        buffer_.clear();
        start_ = 0;
    } else if (start_ >= kCompactThreshold && start_ >= buffer_.size() / 2) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
        start_ = 0;
    }
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

void SpiceStreamParser::learn_peer_common_caps(std::span<const std::uint32_t> caps) {
    peer_caps_.emplace(caps.begin(), caps.end());
}

void SpiceStreamParser::learn_peer_auth_mechanism(std::uint32_t mechanism) { peer_auth_ = mechanism; }

std::optional<HeaderMode> SpiceStreamParser::header_mode() const noexcept {
    if (!own_caps_ || !peer_caps_) return std::nullopt;
    const bool mini = has_cap(*own_caps_, common_cap::mini_header) && has_cap(*peer_caps_, common_cap::mini_header);
    return mini ? HeaderMode::mini : HeaderMode::full;
}

std::span<const std::uint8_t> SpiceStreamParser::available() const noexcept {
    return std::span<const std::uint8_t>(buffer_).subspan(start_);
}

SpiceWireMessage SpiceStreamParser::take(SpiceMessageKind kind, std::size_t size) {
    SpiceWireMessage m;
    m.direction = direction_;
    m.kind = kind;
    const auto from = buffer_.begin() + static_cast<std::ptrdiff_t>(start_);
    m.bytes.assign(from, from + static_cast<std::ptrdiff_t>(size));
    start_ += size;
    return m;
}

Unexpected<SpiceError> SpiceStreamParser::fail(SpiceErrorCode code, std::string message) {
    failure_ = SpiceError{code, std::string(direction_name(direction_)) + ": " + std::move(message)};
    state_ = State::failed;
    buffer_.clear();
    buffer_.shrink_to_fit();
    start_ = 0;
    return Unexpected{*failure_};
}

Unexpected<SpiceError> SpiceStreamParser::fail_waiting_too_long(std::size_t bytes) {
    return fail(SpiceErrorCode::too_large,
                std::to_string(bytes) + " bytes arrived while waiting for the other direction's link information "
                "(limit " + std::to_string(limits_.max_bytes_waiting_for_peer) +
                    "); a SPICE peer waits for the other side's reply, so this is not a SPICE conversation");
}

Expected<std::optional<SpiceWireMessage>, SpiceError> SpiceStreamParser::next() {
    if (state_ == State::failed) return Unexpected{*failure_};
    if (waiting_for_peer_) {
        advance_after_link();
        if (state_ == State::failed) return Unexpected{*failure_};
        if (waiting_for_peer_) {
            // One chunk may have held the link message and much more after it.
            if (buffered_bytes() > limits_.max_bytes_waiting_for_peer) return fail_waiting_too_long(buffered_bytes());
            return std::optional<SpiceWireMessage>{};
        }
    }
    switch (state_) {
    case State::link:
        return next_link();
    case State::auth_mechanism: {
        auto m = next_fixed(SpiceMessageKind::auth_mechanism, SpiceLinkAuthMechanism::kSize);
        if (m && *m) {
            own_auth_ = SpiceLinkAuthMechanism::parse((*m)->bytes)->mechanism;
            if (*own_auth_ == auth_mechanism::spice) {
                state_ = State::ticket;
            } else {
                // The message itself is valid and returned; the stream after it is not SPICE framing.
                auto message = std::move(**m);
                fail(SpiceErrorCode::unsupported_auth,
                     "the client selected auth mechanism " + std::to_string(*own_auth_) +
                         (*own_auth_ == auth_mechanism::sasl ? " (SASL)" : "") +
                         "; only SPICE ticket auth can be followed");
                return std::optional<SpiceWireMessage>(std::move(message));
            }
        }
        return m;
    }
    case State::ticket: {
        auto m = next_fixed(SpiceMessageKind::ticket, SpiceLinkTicket::kSize);
        if (m && *m) state_ = State::data;
        return m;
    }
    case State::link_result: {
        auto m = next_fixed(SpiceMessageKind::link_result, SpiceLinkResult::kSize);
        if (m && *m) state_ = SpiceLinkResult::parse((*m)->bytes)->error == link_err::ok ? State::data : State::closed;
        return m;
    }
    case State::data:
        return next_data();
    case State::closed:
        if (!available().empty())
            return fail(SpiceErrorCode::after_close,
                        std::to_string(available().size()) + " bytes after the server refused the link");
        return std::optional<SpiceWireMessage>{};
    case State::failed:
        break;
    }
    return Unexpected{*failure_};
}

Expected<std::optional<SpiceWireMessage>, SpiceError> SpiceStreamParser::next_link() {
    const auto bytes = available();
    if (!agrees_with_spice_magic(bytes))
        return fail(SpiceErrorCode::bad_magic,
                    "stream starts with 0x" + hex_prefix(bytes) + ", not a SPICE link message (\"REDQ\")");
    if (bytes.size() < SpiceLinkHeader::kSize) return std::optional<SpiceWireMessage>{};

    const auto header = SpiceLinkHeader::parse(bytes);
    if (!header) return fail(header.error().code, header.error().message);
    const std::uint64_t total = SpiceLinkHeader::kSize + std::uint64_t{header->size};
    if (total > limits_.max_link_bytes)
        return fail(SpiceErrorCode::too_large, "link message declares " + std::to_string(total) +
                                                   " bytes, above the limit of " +
                                                   std::to_string(limits_.max_link_bytes));
    if (bytes.size() < total) return std::optional<SpiceWireMessage>{};

    const auto message = bytes.first(static_cast<std::size_t>(total));
    if (direction_ == Direction::client_to_server) {
        auto mess = SpiceLinkMess::parse(message);
        if (!mess) return fail(mess.error().code, mess.error().message);
        own_caps_ = mess->common_caps;
        link_mess_ = std::move(*mess);
        waiting_for_peer_ = true;
        return std::optional<SpiceWireMessage>(take(SpiceMessageKind::link_mess, message.size()));
    }
    auto reply = SpiceLinkReply::parse(message);
    if (!reply) return fail(reply.error().code, reply.error().message);
    own_caps_ = reply->common_caps;
    if (reply->error == link_err::ok)
        waiting_for_peer_ = true;
    else
        state_ = State::closed;
    return std::optional<SpiceWireMessage>(take(SpiceMessageKind::link_reply, message.size()));
}

void SpiceStreamParser::advance_after_link() {
    if (!peer_caps_) return;
    const bool auth_selection = has_cap(*own_caps_, common_cap::protocol_auth_selection) &&
                                has_cap(*peer_caps_, common_cap::protocol_auth_selection);
    if (direction_ == Direction::client_to_server) {
        state_ = auth_selection ? State::auth_mechanism : State::ticket;
        waiting_for_peer_ = false;
        return;
    }
    if (!auth_selection) {
        state_ = State::link_result;
        waiting_for_peer_ = false;
        return;
    }
    if (!peer_auth_) return;
    waiting_for_peer_ = false;
    if (*peer_auth_ == auth_mechanism::spice) {
        state_ = State::link_result;
        return;
    }
    fail(SpiceErrorCode::unsupported_auth, "the client selected auth mechanism " + std::to_string(*peer_auth_) +
                                               (*peer_auth_ == auth_mechanism::sasl ? " (SASL)" : "") +
                                               "; only SPICE ticket auth can be followed");
}

Expected<std::optional<SpiceWireMessage>, SpiceError> SpiceStreamParser::next_fixed(SpiceMessageKind kind,
                                                                                     std::size_t size) {
    if (available().size() < size) return std::optional<SpiceWireMessage>{};
    return std::optional<SpiceWireMessage>(take(kind, size));
}

Expected<std::optional<SpiceWireMessage>, SpiceError> SpiceStreamParser::next_data() {
    const HeaderMode mode = *header_mode();  // known: the data stage starts only after both link messages
    const auto bytes = available();
    const std::size_t header_size = data_header_size(mode);
    if (bytes.size() < header_size) return std::optional<SpiceWireMessage>{};

    std::uint16_t type = 0;
    std::uint64_t serial = 0;
    std::uint32_t body_size = 0;
    if (mode == HeaderMode::mini) {
        const auto h = SpiceMiniDataHeader::parse(bytes);
        type = h->type;
        body_size = h->size;
    } else {
        const auto h = SpiceDataHeader::parse(bytes);
        type = h->type;
        body_size = h->size;
        serial = h->serial;
    }
    const std::uint64_t total = header_size + std::uint64_t{body_size};
    if (total > limits_.max_message_bytes)
        return fail(SpiceErrorCode::too_large, "data message type " + std::to_string(type) + " declares " +
                                                   std::to_string(total) + " bytes, above the limit of " +
                                                   std::to_string(limits_.max_message_bytes));
    if (bytes.size() < total) return std::optional<SpiceWireMessage>{};

    auto m = take(SpiceMessageKind::data, static_cast<std::size_t>(total));
    m.header_mode = mode;
    m.type = type;
    m.serial = serial;
    return std::optional<SpiceWireMessage>(std::move(m));
}

// ---------------------------------------------------------------------------------------------------------

SpiceConnectionParser::SpiceConnectionParser(SpiceParserLimits limits)
    : client_(Direction::client_to_server, limits), server_(Direction::server_to_client, limits) {}

std::optional<ChannelType> SpiceConnectionParser::channel_type() const noexcept {
    if (!client_.link_mess()) return std::nullopt;
    return channel_from_number(client_.link_mess()->channel_type);
}

std::optional<std::uint8_t> SpiceConnectionParser::channel_id() const noexcept {
    if (!client_.link_mess()) return std::nullopt;
    return client_.link_mess()->channel_id;
}

void SpiceConnectionParser::share_link_information() {
    if (client_.own_common_caps()) server_.learn_peer_common_caps(*client_.own_common_caps());
    if (server_.own_common_caps()) client_.learn_peer_common_caps(*server_.own_common_caps());
    if (client_.selected_auth_mechanism()) server_.learn_peer_auth_mechanism(*client_.selected_auth_mechanism());
}

SpiceConnectionParser::Result SpiceConnectionParser::feed(Direction direction,
                                                          std::span<const std::uint8_t> bytes) {
    Result result;
    const Direction other = direction == Direction::client_to_server ? Direction::server_to_client
                                                                               : Direction::client_to_server;
    const bool failed_before[2] = {parser(direction).failure().has_value(), parser(other).failure().has_value()};
    parser(direction).feed(bytes);

    // A message in one direction can unblock the other (the server's reply tells the client parser
    // whether an auth mechanism follows), so drain both until neither makes progress.
    for (bool progress = true; progress;) {
        progress = false;
        for (Direction d : {direction, other}) {
            SpiceStreamParser& p = parser(d);
            while (!p.failure()) {
                auto m = p.next();
                if (!m || !*m) break;
                result.messages.push_back(std::move(**m));
                share_link_information();
                progress = true;
            }
        }
    }
    if (!failed_before[0] && parser(direction).failure())
        result.error = parser(direction).failure();
    else if (!failed_before[1] && parser(other).failure())
        result.error = parser(other).failure();
    return result;
}

}  // namespace spicecap
