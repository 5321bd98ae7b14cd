// CaptureReplay: SPICE connections found in captured frames, reassembled, reported with the capture's
// timestamps. Frames are built as tcpdump stores them (captured_frames.hpp); no sockets involved.
#include <doctest/doctest.h>

#include <pcap/dlt.h>

#include <algorithm>
#include <random>

#include "captured_frames.hpp"
#include "recording_channel_sink.hpp"
#include "pcap/spice_frames.hpp"
#include "replay/capture_replay.hpp"
#include "spice_conversation.hpp"

using namespace spicecap;
using spicecap::test::FrameAddress;
using spicecap::test::RecordingChannelSink;
using Kind = RecordingChannelSink::Event::Kind;

namespace {

constexpr auto c2s = Direction::client_to_server;
constexpr auto s2c = Direction::server_to_client;
constexpr std::size_t kMss = 1448;

struct CapturedFrame {
    std::vector<std::uint8_t> bytes;
    /// Where the frame's payload ends in its direction's stream (to find which frame completes a message).
    std::size_t stream_end = 0;
    Direction direction = c2s;
};

/// One TCP connection as a capture shows it: optional handshake, the conversation's bytes in segments of
/// at most kMss (consecutive messages of one direction share segments, as TCP does), FIN exchange.
std::vector<CapturedFrame> capture_connection(const FrameAddress& client, const FrameAddress& server,
                                              const test::SpiceConversation& conversation, bool handshake,
                                              std::uint32_t client_isn = 1000, std::uint32_t server_isn = 90000) {
    std::vector<CapturedFrame> frames;
    std::uint32_t seq[2] = {client_isn + 1, server_isn + 1};
    std::size_t sent[2] = {0, 0};
    const auto add = [&](Direction d, std::uint8_t flags, std::span<const std::uint8_t> payload, std::uint32_t s) {
        const auto i = static_cast<std::size_t>(d);
        frames.push_back({d == c2s ? test::ethernet_frame(client, server, s, flags, payload)
                                   : test::ethernet_frame(server, client, s, flags, payload),
                          sent[i], d});
    };
    if (handshake) {
        add(c2s, tcp_flag::syn, {}, client_isn);
        add(s2c, tcp_flag::syn | tcp_flag::ack, {}, server_isn);
        add(c2s, tcp_flag::ack, {}, seq[0]);
    }
    for (std::size_t m = 0; m < conversation.messages.size();) {
        const Direction d = conversation.messages[m].direction;
        std::vector<std::uint8_t> flight;
        for (; m < conversation.messages.size() && conversation.messages[m].direction == d; ++m)
            flight.insert(flight.end(), conversation.messages[m].bytes.begin(), conversation.messages[m].bytes.end());
        const auto i = static_cast<std::size_t>(d);
        for (std::size_t at = 0; at < flight.size(); at += kMss) {
            const auto piece = std::span(flight).subspan(at, std::min(kMss, flight.size() - at));
            sent[i] += piece.size();
            add(d, tcp_flag::ack, piece, seq[i]);
            seq[i] += static_cast<std::uint32_t>(piece.size());
        }
    }
    add(c2s, tcp_flag::fin | tcp_flag::ack, {}, seq[0]);
    add(s2c, tcp_flag::fin | tcp_flag::ack, {}, seq[1]);
    return frames;
}

struct Replayed {
    RecordingChannelSink sink;
    std::vector<std::string> notes;
    ReplaySummary summary;
};

void replay_frames(Replayed& out, const std::vector<CapturedFrame>& frames, std::uint64_t first_timestamp = 1'000'000) {
    CaptureReplay replay(out.sink, [&](LogLevel level, const std::string& note) {
        if (level != LogLevel::message) out.notes.push_back(note);
    });
    std::uint64_t t = first_timestamp;
    for (const auto& f : frames) replay.frame(DLT_EN10MB, t++, f.bytes);
    replay.finish();
    out.summary = replay.summary();
}

const SpiceChannelKey display0{ChannelType::display, 0};
const SpiceChannelKey display1{ChannelType::display, 1};

}  // namespace

TEST_CASE("replay finds a SPICE connection on any port and reports its messages with capture timestamps") {
    const auto conversation = test::display_conversation(HeaderMode::mini);
    const auto frames = capture_connection(test::ipv4_address(127, 0, 0, 1, 40000),
                                           test::ipv4_address(127, 0, 0, 1, 5931), conversation, true);
    Replayed r;
    replay_frames(r, frames);
    CHECK(r.notes.empty());
    CHECK(r.summary.spice_connections == 1);
    CHECK(r.summary.tcp_connections == 1);
    CHECK(r.sink.messages(display0, c2s) == conversation.of(c2s));
    CHECK(r.sink.messages(display0, s2c) == conversation.of(s2c));
    const auto events = r.sink.events();
    REQUIRE(events.size() == conversation.messages.size() + 2);
    CHECK(events.front().kind == Kind::opened);
    CHECK(events.front().mode == HeaderMode::mini);
    CHECK(events.back().kind == Kind::closed);

    // Each message carries the timestamp of the frame that completed it.
    std::size_t done[2] = {0, 0};
    for (std::size_t e = 1; e + 1 < events.size(); ++e) {
        const auto i = static_cast<std::size_t>(events[e].direction);
        done[i] += events[e].bytes.size();
        const auto completing = std::find_if(frames.begin(), frames.end(), [&](const CapturedFrame& f) {
            return f.direction == events[e].direction && f.bytes.size() > 54 && f.stream_end >= done[i];
        });
        REQUIRE(completing != frames.end());
        CHECK(events[e].timestamp_ns == 1'000'000 + static_cast<std::uint64_t>(completing - frames.begin()));
    }
    const auto& counters = r.summary.channels.at(display0);
    CHECK(counters.first.messages == conversation.of(c2s).size());
    CHECK(counters.second.bytes == conversation.bytes(s2c).size());
}

TEST_CASE("replay follows reordered and retransmitted segments") {
    const auto conversation = test::display_conversation(HeaderMode::full, 500'000);
    auto frames = capture_connection(test::ipv4_address(10, 0, 0, 1, 40001), test::ipv4_address(10, 0, 0, 2, 5900),
                                     conversation, true);
    std::mt19937 random(3);
    // Duplicate every 10th data frame and swap neighbours here and there (after the handshake).
    std::vector<CapturedFrame> mangled(frames.begin(), frames.begin() + 3);
    for (std::size_t i = 3; i < frames.size(); ++i) {
        mangled.push_back(frames[i]);
        if (i % 10 == 0) mangled.push_back(frames[i]);
    }
    for (std::size_t i = 4; i + 2 < mangled.size(); i += 3)
        if (random() % 2 == 0) std::swap(mangled[i], mangled[i + 1]);
    Replayed r;
    replay_frames(r, mangled);
    CHECK(r.notes.empty());
    CHECK(r.sink.messages(display0, c2s) == conversation.of(c2s));
    CHECK(r.sink.messages(display0, s2c) == conversation.of(s2c));
    CHECK(r.summary.duplicate_bytes > 0);
    CHECK(r.summary.gap_bytes == 0);
}

TEST_CASE("replay tells SPICE from other TCP and from connections that began before the capture") {
    const auto display = test::display_conversation(HeaderMode::mini, 20'000);
    const auto second_monitor = test::display_conversation(HeaderMode::mini, 30'000, 1);
    // Display 0 with its handshake; display 1 whose SYN is not in the capture but whose link stage is.
    auto a = capture_connection(test::ipv4_address(127, 0, 0, 1, 40000), test::ipv4_address(127, 0, 0, 1, 5931),
                                display, true);
    auto b = capture_connection(test::ipv4_address(127, 0, 0, 1, 40002), test::ipv4_address(127, 0, 0, 1, 5931),
                                second_monitor, false);
    // A SPICE connection captured from its middle: its first captured bytes are data, not a link message.
    test::SpiceConversation middle;
    middle.messages.assign(second_monitor.messages.begin() + 5, second_monitor.messages.end());
    auto c = capture_connection(test::ipv4_address(127, 0, 0, 1, 40004), test::ipv4_address(127, 0, 0, 1, 5931),
                                middle, false);
    // An HTTP connection.
    test::SpiceConversation http;
    http.messages.push_back({c2s, SpiceMessageKind::data, HeaderMode::mini, 0, 0, {'G', 'E', 'T', ' ', '/'}});
    auto d = capture_connection(test::ipv4_address(127, 0, 0, 1, 40006), test::ipv4_address(127, 0, 0, 1, 80), http, true);

    // Interleave the four as a capture of concurrent connections would.
    std::vector<CapturedFrame> frames;
    for (std::size_t i = 0; i < std::max({a.size(), b.size(), c.size(), d.size()}); ++i)
        for (auto* list : {&a, &b, &c, &d})
            if (i < list->size()) frames.push_back((*list)[i]);
    const auto udp_source = test::ipv4_address(127, 0, 0, 1, 53);
    auto udp = test::ethernet_frame(udp_source, udp_source, 0, 0, {});
    udp[14 + 9] = 17;
    frames.push_back({udp, 0, c2s});

    Replayed r;
    replay_frames(r, frames);
    CHECK(r.notes.empty());
    CHECK(r.summary.tcp_connections == 4);
    CHECK(r.summary.spice_connections == 2);
    CHECK(r.summary.mid_stream_connections == 1);
    CHECK(r.summary.other_connections == 1);
    CHECK(r.summary.skipped_frames.at(SegmentSkip::not_tcp) == 1);
    CHECK(r.sink.messages(display0, s2c) == display.of(s2c));
    CHECK(r.sink.messages(display1, s2c) == second_monitor.of(s2c));
    CHECK(r.sink.messages(display1, c2s) == second_monitor.of(c2s));
}

TEST_CASE("a reused address pair is a new connection after a new SYN") {
    const auto first = test::display_conversation(HeaderMode::mini, 10'000);
    const auto second = test::display_conversation(HeaderMode::full, 12'000);
    const auto client = test::ipv4_address(127, 0, 0, 1, 40000);
    const auto server = test::ipv4_address(127, 0, 0, 1, 5931);
    auto frames = capture_connection(client, server, first, true, 1000);
    frames.pop_back();  // the server's FIN is lost: the connection is still open when the pair is reused
    const auto again = capture_connection(client, server, second, true, 7'000'000);
    frames.insert(frames.end(), again.begin(), again.end());
    Replayed r;
    replay_frames(r, frames);
    CHECK(r.summary.tcp_connections == 2);
    CHECK(r.summary.spice_connections == 2);
    CHECK(r.sink.count(Kind::opened) == 2);
    CHECK(r.sink.count(Kind::closed) == 2);
    const auto all = r.sink.messages(display0, s2c);
    auto expected = first.of(s2c);
    const auto more = second.of(s2c);
    expected.insert(expected.end(), more.begin(), more.end());
    CHECK(all == expected);
}

TEST_CASE("a segment missing from the capture stops that connection and says so") {
    const auto conversation = test::display_conversation(HeaderMode::mini, 100'000);
    auto frames = capture_connection(test::ipv4_address(127, 0, 0, 1, 40000), test::ipv4_address(127, 0, 0, 1, 5931),
                                     conversation, true);
    // Drop one server data frame in the middle of the DRAW_COPY.
    const auto lost = std::find_if(frames.begin() + 20, frames.end(),
                                   [](const CapturedFrame& f) { return f.direction == s2c && f.bytes.size() > 1000; });
    REQUIRE(lost != frames.end());
    frames.erase(lost);
    Replayed r;
    replay_frames(r, frames);
    REQUIRE(r.notes.size() == 1);
    CHECK(r.notes[0].find("(display:0)") != std::string::npos);
    CHECK(r.notes[0].find("1448 bytes of the server->client stream are missing") != std::string::npos);
    CHECK(r.summary.stopped_connections == 1);
    CHECK(r.summary.gap_bytes == 1448);
    CHECK(r.sink.count(Kind::closed) == 1);
    // The client's messages before the gap were reported; the DRAW_COPY was not.
    CHECK(r.sink.messages(display0, s2c).size() < conversation.of(s2c).size());
}

TEST_CASE("a capture spicecap wrote replays into the messages it was made of") {
    // What the extcap writes (synthesized handshake, segments above 64 KiB split, FIN) is a capture like
    // any other: replaying it must give back every message, in order, on its channel.
    for (HeaderMode mode : {HeaderMode::mini, HeaderMode::full}) {
        CAPTURE(static_cast<int>(mode));
        const auto conversation = test::display_conversation(mode, 70'000);
        SpiceFrameEncoder encoder(SpiceFrameOptions{.server_port = 5930, .handshake = true});
        RecordingChannelSink sink;
        CaptureReplay replay(sink, [](LogLevel, const std::string&) {});
        const FrameSink into_replay = [&](const FrameMeta& meta, std::span<const std::uint8_t> frame) {
            replay.frame(DLT_EN10MB, meta.timestamp_ns, frame);
        };
        std::uint64_t timestamp = 1'000;
        for (const auto& m : conversation.messages) {
            Record record;
            record.header.kind = StreamKind::spice;
            record.header.direction = m.direction;
            record.header.channel_type = static_cast<std::uint8_t>(ChannelType::display);
            record.header.session = 1;
            record.header.timestamp_ns = timestamp += 1'000;
            record.payload = m.bytes;
            encoder.encode(record, into_replay);
        }
        encoder.channel_closed({1, static_cast<std::uint8_t>(ChannelType::display), 0}, timestamp + 1'000, into_replay);
        replay.finish();
        const SpiceChannelKey display0{ChannelType::display, 0};
        CHECK(sink.messages(display0, c2s) == conversation.of(c2s));
        CHECK(sink.messages(display0, s2c) == conversation.of(s2c));
        CHECK(sink.count(Kind::closed) == 1);
    }
}
