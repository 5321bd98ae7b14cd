// SPICE connections in a packet capture (see capture_replay.hpp).
#include "replay/capture_replay.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

namespace spicecap {

namespace {
}

struct CaptureReplay::Connection {
    Connection(SpiceChannelSink& sink, const ReplayOptions& options)
        : from_client(options.reassembly), from_server(options.reassembly),
          follower(std::make_unique<SpiceChannelFollower>(sink, options.parser)) {}

    /// The side that opened the connection, once known (SYN, SYN/ACK, or the first payload).
    std::optional<IpEndpoint> client;
    std::optional<IpEndpoint> server;
    /// The client's initial sequence number when its SYN was seen: a SYN with another one is a new
    /// connection on the same address pair.
    std::optional<std::uint32_t> client_isn;
    TcpReassembler from_client;
    TcpReassembler from_server;
    std::unique_ptr<SpiceChannelFollower> follower;
    /// The first (up to 4) bytes the client sent: "REDQ" makes it a SPICE connection.
    std::vector<std::uint8_t> client_prefix;
    bool fin_from_client = false;
    bool fin_from_server = false;
    bool closed = false;
    /// Reporting stopped (not SPICE, or not followable further): payloads are no longer reassembled.
    bool ignored = false;
    /// When the connection's last segment was captured.
    std::uint64_t last_timestamp_ns = 0;
    /// Scratch buffer for reassembled bytes.
    std::vector<std::uint8_t> bytes;

    bool began_in_capture() const noexcept { return client_isn.has_value(); }
    TcpReassembler& reassembler(Direction d) {
        return d == Direction::client_to_server ? from_client : from_server;
    }
    std::string name() const {
        std::string text = client->to_string() + " -> " + server->to_string();
        if (follower->channel()) text += " (" + follower->channel()->to_string() + ")";
        return text;
    }
};

FollowCounters ReplaySummary::total() const {
    FollowCounters t;
    for (const auto& [key, counters] : channels) {
        t.messages += counters.first.messages + counters.second.messages;
        t.bytes += counters.first.bytes + counters.second.bytes;
    }
    return t;
}

CaptureReplay::CaptureReplay(SpiceChannelSink& sink, std::function<void(LogLevel, const std::string&)> note,
                                       ReplayOptions options)
    : sink_(sink), note_(std::move(note)), options_(options) {}

CaptureReplay::~CaptureReplay() = default;

void CaptureReplay::frame(int dlt, std::uint64_t timestamp_ns, std::span<const std::uint8_t> bytes) {
    ++summary_.frames;
    const auto decoded = decode_tcp_segment(dlt, bytes);
    if (!decoded) {
        ++summary_.skipped_frames[decoded.error()];
        return;
    }
    segment(*decoded, timestamp_ns);
}

CaptureReplay::Connection& CaptureReplay::connection_for(const TcpSegment& s) {
    const Key key = s.source < s.destination ? Key{s.source, s.destination} : Key{s.destination, s.source};
    auto& slot = connections_[key];
    const bool opening_syn = s.has(tcp_flag::syn) && !s.has(tcp_flag::ack);
    if (slot && opening_syn && slot->client_isn != s.seq) {
        // The address pair is used again by a new connection (a retransmitted SYN has the same ISN).
        if (!slot->closed) close(*slot);
        slot.reset();
    }
    if (!slot) {
        slot = std::make_unique<Connection>(sink_, options_);
        ++summary_.tcp_connections;
    }
    return *slot;
}

void CaptureReplay::segment(const TcpSegment& s, std::uint64_t timestamp_ns) {
    Connection& c = connection_for(s);
    if (c.closed) return;  // late retransmissions and ACKs after the end
    c.last_timestamp_ns = timestamp_ns;

    if (!c.client) {
        // Who is the client: the SYN's sender, the SYN/ACK's receiver, else whoever speaks first.
        if (s.has(tcp_flag::syn) && s.has(tcp_flag::ack)) {
            c.client = s.destination;
        } else if (s.has(tcp_flag::syn) || !s.payload.empty()) {
            c.client = s.source;
        } else {
            return;  // a bare ACK before anything tells the roles
        }
        c.server = *c.client == s.source ? s.destination : s.source;
    }
    const Direction direction =
        s.source == *c.client ? Direction::client_to_server : Direction::server_to_client;
    TcpReassembler& reassembler = c.reassembler(direction);

    if (s.has(tcp_flag::syn)) {
        if (direction == Direction::client_to_server && !c.client_isn) c.client_isn = s.seq;
        reassembler.syn(s.seq);
    }
    if (!s.payload.empty() && !c.ignored) {
        c.bytes.clear();
        const TcpDelivery delivery = reassembler.segment(s.has(tcp_flag::syn) ? s.seq + 1 : s.seq, s.payload, c.bytes);
        deliver(c, direction, delivery, timestamp_ns);
    }
    if (s.has(tcp_flag::rst)) {
        close(c);
        return;
    }
    if (s.has(tcp_flag::fin)) {
        (direction == Direction::client_to_server ? c.fin_from_client : c.fin_from_server) = true;
        if (c.fin_from_client && c.fin_from_server) close(c);
    }
}

void CaptureReplay::deliver(Connection& c, Direction direction, const TcpDelivery& delivery,
                                 std::uint64_t timestamp_ns) {
    SpiceChannelFollower& follower = *c.follower;
    if (delivery.gap_bytes > 0 && follower.channel()) {
        if (auto why = follower.lose_bytes(direction, delivery.gap_bytes)) {
            ++summary_.stopped_connections;
            c.ignored = true;
            note_(LogLevel::warning, c.name() + ": " + *why);
        }
    }
    if (delivery.delivered_bytes == 0) return;
    if (direction == Direction::client_to_server && c.client_prefix.size() < kSpiceMagicBytes.size() &&
        delivery.gap_bytes == 0) {
        const std::size_t take = std::min(kSpiceMagicBytes.size() - c.client_prefix.size(), c.bytes.size());
        c.client_prefix.insert(c.client_prefix.end(), c.bytes.begin(), c.bytes.begin() + static_cast<std::ptrdiff_t>(take));
    }
    const bool had_channel = follower.channel().has_value();
    const FollowEvents events = follower.feed(direction, c.bytes, timestamp_ns);
    if (events.opened) {
        ++summary_.spice_connections;
        note_(LogLevel::message, c.name() + ": " + (*follower.header_mode() == HeaderMode::mini ? "mini" : "full") +
                                     " headers");
    }
    if (!events.stopped) return;
    c.ignored = true;
    const bool spice_magic = agrees_with_spice_magic(c.client_prefix);
    if (!had_channel && !follower.channel() && !spice_magic) {
        // Not a SPICE link stage: another protocol, or a SPICE connection that began before the capture.
        ++(c.began_in_capture() ? summary_.other_connections : summary_.mid_stream_connections);
        return;
    }
    ++summary_.stopped_connections;
    note_(LogLevel::warning, c.name() + ": not followed further: " + *events.stopped);
}

void CaptureReplay::close(Connection& c) {
    if (c.closed) return;
    c.closed = true;
    if (c.client) {
        for (Direction d : {Direction::client_to_server, Direction::server_to_client}) {
            TcpReassembler& r = c.reassembler(d);
            if (!c.ignored) {
                c.bytes.clear();
                const TcpDelivery delivery = r.flush_gaps(c.bytes);
                if (delivery.gap_bytes > 0 || delivery.delivered_bytes > 0) deliver(c, d, delivery, c.last_timestamp_ns);
            }
            summary_.duplicate_bytes += r.duplicate_bytes();
            summary_.gap_bytes += r.gap_bytes();
        }
    }
    const FollowCounters& sent = c.follower->reported(Direction::client_to_server);
    const FollowCounters& received = c.follower->reported(Direction::server_to_client);
    if (const auto channel = c.follower->channel(); channel && sent.messages + received.messages > 0) {
        auto& counters = summary_.channels[*channel];
        counters.first.messages += sent.messages;
        counters.first.bytes += sent.bytes;
        counters.second.messages += received.messages;
        counters.second.bytes += received.bytes;
    }
    c.follower->finish();
    c.from_client = TcpReassembler(options_.reassembly);
    c.from_server = TcpReassembler(options_.reassembly);
    c.bytes = {};
}

void CaptureReplay::finish() {
    for (auto& [key, c] : connections_)
        if (!c->closed) close(*c);
}

}  // namespace spicecap
