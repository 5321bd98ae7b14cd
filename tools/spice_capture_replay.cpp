// SPICE connections in a packet capture (see spice_capture_replay.hpp).
#include "spice_capture_replay.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

namespace spicecap {

namespace {
constexpr std::array<std::uint8_t, 4> kLinkMagic = {'R', 'E', 'D', 'Q'};
}

struct SpiceCaptureReplay::Connection {
    Connection(SpiceChannelSink& sink, const ReplayOptions& options)
        : from_client(options.reassembly), from_server(options.reassembly),
          tap(std::make_unique<SpiceChannelTap>(sink, options.parser)) {}

    /// The side that opened the connection, once known (SYN, SYN/ACK, or the first payload).
    std::optional<IpEndpoint> client;
    std::optional<IpEndpoint> server;
    /// The client's initial sequence number when its SYN was seen: a SYN with another one is a new
    /// connection on the same address pair.
    std::optional<std::uint32_t> client_isn;
    TcpReassembler from_client;
    TcpReassembler from_server;
    std::unique_ptr<SpiceChannelTap> tap;
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
    TcpReassembler& reassembler(SpiceDirection d) {
        return d == SpiceDirection::client_to_server ? from_client : from_server;
    }
    std::string name() const {
        std::string text = client->to_string() + " -> " + server->to_string();
        if (tap->channel()) text += " (" + tap->channel()->to_string() + ")";
        return text;
    }
};

TapCounters ReplaySummary::total() const {
    TapCounters t;
    for (const auto& [key, counters] : channels) {
        t.messages += counters.first.messages + counters.second.messages;
        t.bytes += counters.first.bytes + counters.second.bytes;
    }
    return t;
}

SpiceCaptureReplay::SpiceCaptureReplay(SpiceChannelSink& sink, std::function<void(LogLevel, const std::string&)> note,
                                       ReplayOptions options)
    : sink_(sink), note_(std::move(note)), options_(options) {}

SpiceCaptureReplay::~SpiceCaptureReplay() = default;

void SpiceCaptureReplay::frame(int dlt, std::uint64_t timestamp_ns, std::span<const std::uint8_t> bytes) {
    ++summary_.frames;
    const auto decoded = decode_tcp_segment(dlt, bytes);
    if (!decoded) {
        ++summary_.skipped_frames[decoded.error()];
        return;
    }
    segment(*decoded, timestamp_ns);
}

SpiceCaptureReplay::Connection& SpiceCaptureReplay::connection_for(const TcpSegment& s) {
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

void SpiceCaptureReplay::segment(const TcpSegment& s, std::uint64_t timestamp_ns) {
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
    const SpiceDirection direction =
        s.source == *c.client ? SpiceDirection::client_to_server : SpiceDirection::server_to_client;
    TcpReassembler& reassembler = c.reassembler(direction);

    if (s.has(tcp_flag::syn)) {
        if (direction == SpiceDirection::client_to_server && !c.client_isn) c.client_isn = s.seq;
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
        (direction == SpiceDirection::client_to_server ? c.fin_from_client : c.fin_from_server) = true;
        if (c.fin_from_client && c.fin_from_server) close(c);
    }
}

void SpiceCaptureReplay::deliver(Connection& c, SpiceDirection direction, const TcpDelivery& delivery,
                                 std::uint64_t timestamp_ns) {
    SpiceChannelTap& tap = *c.tap;
    if (delivery.gap_bytes > 0 && tap.channel()) {
        if (auto why = tap.lose_bytes(direction, delivery.gap_bytes)) {
            ++summary_.stopped_connections;
            c.ignored = true;
            note_(LogLevel::warning, c.name() + ": " + *why);
        }
    }
    if (delivery.delivered_bytes == 0) return;
    if (direction == SpiceDirection::client_to_server && c.client_prefix.size() < kLinkMagic.size() &&
        delivery.gap_bytes == 0) {
        const std::size_t take = std::min(kLinkMagic.size() - c.client_prefix.size(), c.bytes.size());
        c.client_prefix.insert(c.client_prefix.end(), c.bytes.begin(), c.bytes.begin() + static_cast<std::ptrdiff_t>(take));
    }
    const bool had_channel = tap.channel().has_value();
    const TapEvents events = tap.feed(direction, c.bytes, timestamp_ns);
    if (events.opened) {
        ++summary_.spice_connections;
        note_(LogLevel::message, c.name() + ": " + (*tap.header_mode() == HeaderMode::mini ? "mini" : "full") +
                                     " headers");
    }
    if (!events.stopped) return;
    c.ignored = true;
    const bool spice_magic = std::equal(c.client_prefix.begin(), c.client_prefix.end(), kLinkMagic.begin());
    if (!had_channel && !tap.channel() && !spice_magic) {
        // Not a SPICE link stage: another protocol, or a SPICE connection that began before the capture.
        ++(c.began_in_capture() ? summary_.other_connections : summary_.mid_stream_connections);
        return;
    }
    ++summary_.stopped_connections;
    note_(LogLevel::warning, c.name() + ": not followed further: " + *events.stopped);
}

void SpiceCaptureReplay::close(Connection& c) {
    if (c.closed) return;
    c.closed = true;
    if (c.client) {
        for (SpiceDirection d : {SpiceDirection::client_to_server, SpiceDirection::server_to_client}) {
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
    const TapCounters& sent = c.tap->reported(SpiceDirection::client_to_server);
    const TapCounters& received = c.tap->reported(SpiceDirection::server_to_client);
    if (const auto channel = c.tap->channel(); channel && sent.messages + received.messages > 0) {
        auto& counters = summary_.channels[*channel];
        counters.first.messages += sent.messages;
        counters.first.bytes += sent.bytes;
        counters.second.messages += received.messages;
        counters.second.bytes += received.bytes;
    }
    c.tap->finish();
    c.from_client = TcpReassembler(options_.reassembly);
    c.from_server = TcpReassembler(options_.reassembly);
    c.bytes = {};
}

void SpiceCaptureReplay::finish() {
    for (auto& [key, c] : connections_)
        if (!c->closed) close(*c);
}

}  // namespace spicecap
