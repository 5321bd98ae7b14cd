// LiveViewPacer and SpiceCapture's frame roles: link stages come out as one piece with every link
// result last, then output pauses; data with no link stage in flight passes straight through
// (docs/wireshark-live-redissection.md says why).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "spicecap/live_view_pacer.hpp"
#include "spicecap/spice_capture.hpp"
#include "spicecap/spice_link_stage.hpp"

using namespace spicecap;
using namespace std::chrono_literals;

namespace {

using Clock = LiveViewPacer::Clock;

// Frames are one byte naming them, so the order they come out in reads as a string.
struct Out {
    std::string order;
    FrameSink sink() {
        return [this](std::uint64_t, std::span<const std::uint8_t> f) { order.push_back(static_cast<char>(f[0])); };
    }
};

void submit(LiveViewPacer& pacer, char name, FrameRole::Kind kind, std::uint64_t stream, Clock::time_point now,
            Out& out) {
    const std::uint8_t byte = static_cast<std::uint8_t>(name);
    pacer.submit(0, std::span<const std::uint8_t>(&byte, 1), FrameRole{kind, stream}, now, out.sink());
}

}  // namespace

TEST_CASE("data with no link stage in flight passes straight through") {
    LiveViewPacer pacer;
    Out out;
    const auto t0 = Clock::now();
    submit(pacer, 'a', FrameRole::data, 1, t0, out);
    submit(pacer, 'b', FrameRole::data, 2, t0, out);
    CHECK(out.order == "ab");
    CHECK(pacer.held_frames() == 0);
    CHECK_FALSE(pacer.next_deadline());
}

TEST_CASE("link stages that come together are written as one piece with every link result last") {
    LiveViewPacer pacer(LiveViewPacerOptions{.settle = 1000ms});
    Out out;
    const auto t0 = Clock::now();
    // Channel 1: link frames A B, result R; channel 2: link frames C D, result S (a preamble).
    submit(pacer, 'A', FrameRole::link, 1, t0, out);
    submit(pacer, 'B', FrameRole::link, 1, t0, out);
    submit(pacer, 'R', FrameRole::link_end, 1, t0, out);
    submit(pacer, 'C', FrameRole::link, 2, t0, out);
    submit(pacer, 'D', FrameRole::link, 2, t0, out);
    submit(pacer, 'S', FrameRole::link_end, 2, t0, out);
    CHECK(out.order.empty());  // the burst may go on
    // The first data frame ends the piece; it is held for the pause.
    submit(pacer, 'x', FrameRole::data, 1, t0, out);
    CHECK(out.order == "ABCDRS");
    CHECK(pacer.link_stage_pieces() == 1);
    submit(pacer, 'y', FrameRole::data, 2, t0 + 10ms, out);
    CHECK(out.order == "ABCDRS");
    REQUIRE(pacer.next_deadline());
    CHECK(*pacer.next_deadline() == t0 + 1000ms);
    pacer.poll(t0 + 999ms, out.sink());
    CHECK(out.order == "ABCDRS");
    pacer.poll(t0 + 1000ms, out.sink());
    CHECK(out.order == "ABCDRSxy");
    // Paused no more: data passes through again.
    submit(pacer, 'z', FrameRole::data, 1, t0 + 1001ms, out);
    CHECK(out.order == "ABCDRSxyz");
}

TEST_CASE("a link stage completed during the pause waits for the pause's end: two pieces never share a batch") {
    LiveViewPacer pacer(LiveViewPacerOptions{.settle = 1000ms});
    Out out;
    const auto t0 = Clock::now();
    submit(pacer, 'A', FrameRole::link, 1, t0, out);
    submit(pacer, 'R', FrameRole::link_end, 1, t0, out);
    submit(pacer, 'x', FrameRole::data, 1, t0, out);  // piece 1 written, pause until t0 + 1 s
    CHECK(out.order == "AR");
    submit(pacer, 'B', FrameRole::link, 2, t0 + 10ms, out);
    submit(pacer, 'S', FrameRole::link_end, 2, t0 + 10ms, out);
    submit(pacer, 'y', FrameRole::data, 2, t0 + 20ms, out);
    pacer.end_of_burst(t0 + 30ms, out.sink());
    CHECK(out.order == "AR");  // piece 2 is complete but the pause goes on
    pacer.poll(t0 + 1000ms, out.sink());
    // The held data first, piece 2's result last; y, channel 2's data after its result, waits for the
    // next batch.
    CHECK(out.order == "ARxBS");
    submit(pacer, 'z', FrameRole::data, 1, t0 + 1001ms, out);
    CHECK(out.order == "ARxBS");
    pacer.poll(t0 + 2000ms, out.sink());
    CHECK(out.order == "ARxBSyz");
}

TEST_CASE("a channel's own data never comes before its link result") {
    LiveViewPacer pacer(LiveViewPacerOptions{.settle = 1000ms});
    Out out;
    const auto t0 = Clock::now();
    submit(pacer, 'A', FrameRole::link, 2, t0, out);   // display links
    submit(pacer, 'R', FrameRole::link_end, 2, t0, out);
    submit(pacer, 'B', FrameRole::link, 3, t0, out);   // inputs links
    submit(pacer, 'd', FrameRole::data, 2, t0, out);   // display data: after R
    submit(pacer, 'm', FrameRole::data, 1, t0, out);   // main data: anywhere before the results
    submit(pacer, 'S', FrameRole::link_end, 3, t0, out);
    submit(pacer, 'i', FrameRole::data, 3, t0, out);   // completes the piece
    CHECK(out.order == "ABmRS");
    pacer.poll(t0 + 1000ms, out.sink());
    CHECK(out.order == "ABmRSdi");
}

TEST_CASE("other channels' data during a link stage stays in order before the results") {
    LiveViewPacer pacer(LiveViewPacerOptions{.settle = 500ms});
    Out out;
    const auto t0 = Clock::now();
    submit(pacer, 'A', FrameRole::link, 2, t0, out);
    submit(pacer, 'm', FrameRole::data, 1, t0, out);  // main channel data while display links
    submit(pacer, 'B', FrameRole::link, 2, t0, out);
    submit(pacer, 'R', FrameRole::link_end, 2, t0, out);
    pacer.end_of_burst(t0 + 1ms, out.sink());  // nothing more queued: the piece is complete
    CHECK(out.order == "AmBR");
    submit(pacer, 'n', FrameRole::data, 1, t0 + 2ms, out);
    CHECK(out.order == "AmBR");
    pacer.poll(t0 + 501ms, out.sink());
    CHECK(out.order == "AmBRn");
}

TEST_CASE("a link stage that never ends stops holding frames after max_link_stage_wait") {
    LiveViewPacer pacer(LiveViewPacerOptions{.settle = 1000ms, .max_link_stage_wait = 2000ms});
    Out out;
    const auto t0 = Clock::now();
    submit(pacer, 'A', FrameRole::link, 1, t0, out);
    submit(pacer, 'x', FrameRole::data, 2, t0, out);
    CHECK(out.order.empty());
    REQUIRE(pacer.next_deadline());
    CHECK(*pacer.next_deadline() == t0 + 2000ms);
    pacer.poll(t0 + 2000ms, out.sink());
    CHECK(out.order == "Ax");
    submit(pacer, 'y', FrameRole::data, 2, t0 + 2001ms, out);
    CHECK(out.order == "Axy");
}

TEST_CASE("held bytes are bounded: past the limit everything held is written") {
    LiveViewPacer pacer(LiveViewPacerOptions{.settle = 1000ms, .max_held_bytes = 3});
    Out out;
    const auto t0 = Clock::now();
    submit(pacer, 'A', FrameRole::link, 1, t0, out);
    submit(pacer, 'R', FrameRole::link_end, 1, t0, out);
    submit(pacer, 'x', FrameRole::data, 1, t0, out);  // ends the piece, held
    submit(pacer, 'y', FrameRole::data, 1, t0, out);
    submit(pacer, 'z', FrameRole::data, 1, t0, out);
    submit(pacer, 'w', FrameRole::data, 1, t0, out);  // 4 bytes held > 3
    CHECK(out.order == "ARxyzw");
    CHECK(pacer.held_frames() == 0);
}

TEST_CASE("drain writes everything held, in order") {
    LiveViewPacer pacer;
    Out out;
    const auto t0 = Clock::now();
    submit(pacer, 'A', FrameRole::link, 1, t0, out);
    submit(pacer, 'x', FrameRole::data, 2, t0, out);
    pacer.drain(out.sink());
    CHECK(out.order == "Ax");
}

TEST_CASE("SpiceCapture tags the link stage's frames, its result and the data after it") {
    SpiceCapture capture(SpiceCaptureOptions{.handshake = true});
    std::vector<FrameRole::Kind> kinds;
    const RoledFrameSink sink = [&](std::uint64_t, std::span<const std::uint8_t>, FrameRole role) {
        kinds.push_back(role.kind);
    };
    Record r;
    r.header.kind = StreamKind::spice;
    r.header.channel_type = 3;
    r.header.session = 1;
    r.header.direction = Direction::client_to_server;
    const std::vector<std::uint8_t> data{0x04, 0x00, 0x05, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5};
    r.payload = data;  // a data message: the link stage is synthesized
    capture.record(r, sink);
    // SYN, SYN/ACK, ACK and the client link message (link), reply, auth, ticket (link), result, the data.
    const std::vector<FrameRole::Kind> expected{FrameRole::link, FrameRole::link,     FrameRole::link,
                                                FrameRole::link, FrameRole::link,     FrameRole::link,
                                                FrameRole::link, FrameRole::link_end, FrameRole::data};
    CHECK(kinds == expected);
    kinds.clear();
    capture.record(r, sink);
    CHECK(kinds == std::vector<FrameRole::Kind>{FrameRole::data});
}

TEST_CASE("a channel closed in the middle of its link stage ends the stage, with or without a FIN") {
    for (const bool handshake : {true, false}) {
        SpiceCapture capture(SpiceCaptureOptions{.handshake = handshake});
        std::vector<std::pair<FrameRole::Kind, std::size_t>> seen;
        const RoledFrameSink sink = [&](std::uint64_t, std::span<const std::uint8_t> f, FrameRole role) {
            seen.emplace_back(role.kind, f.size());
        };
        const auto link = synthetic_link_stage(ChannelType::display, 0, HeaderMode::mini, 1);
        Record r;
        r.header.kind = StreamKind::spice;
        r.header.channel_type = 2;
        r.header.session = 1;
        r.header.direction = Direction::client_to_server;
        r.payload = link[0].bytes;  // only the client's link message
        capture.record(r, sink);
        seen.clear();
        capture.channel_closed(1, 2, 0, 0, sink);
        REQUIRE_FALSE(seen.empty());
        CHECK(seen.back().first == FrameRole::link_end);
        if (!handshake) CHECK(seen.back().second == 0);  // nothing on the wire, but the end is told
    }
}
