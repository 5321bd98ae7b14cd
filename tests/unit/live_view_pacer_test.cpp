// LiveViewPacer and SpiceFrameEncoder's link-stage roles: link stages come out as one piece with every link
// result last, then output pauses; data with no link stage in flight passes straight through
// (docs/wireshark-live-redissection.md says why).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "capture/live_view_pacer.hpp"
#include "pcap/spice_frames.hpp"
#include "spice/spice_link_stage.hpp"

using namespace spicecap;
using namespace spicecap::capture;
using namespace std::chrono_literals;

namespace {

using Clock = LiveViewPacer::Clock;

// Frames are one byte naming them, so the order they come out in reads as a string.
struct Out {
    std::string order;
    LiveViewPacer::Out sink() {
        return [this](const FrameStream&, const FrameMeta&, std::span<const std::uint8_t> f) {
            order.push_back(static_cast<char>(f[0]));
        };
    }
};

// `stream` numbers a SPICE display channel by its session.
void submit(LiveViewPacer& pacer, char name, LinkStageRole role, std::uint32_t stream, Clock::time_point now,
            Out& out) {
    const std::uint8_t byte = static_cast<std::uint8_t>(name);
    pacer.submit(FrameStream{StreamKind::spice, stream, 2, 0}, FrameMeta{.link_stage = role},
                 std::span<const std::uint8_t>(&byte, 1), now, out.sink());
}

}  // namespace

TEST_CASE("data with no link stage in flight passes straight through") {
    LiveViewPacer pacer;
    Out out;
    const auto t0 = Clock::now();
    submit(pacer, 'a', LinkStageRole::none, 1, t0, out);
    submit(pacer, 'b', LinkStageRole::none, 2, t0, out);
    CHECK(out.order == "ab");
    CHECK(pacer.held_frames() == 0);
    CHECK_FALSE(pacer.next_deadline());
}

TEST_CASE("link stages that come together are written as one piece with every link result last") {
    LiveViewPacer pacer(LiveViewPacerOptions{.settle = 1000ms});
    Out out;
    const auto t0 = Clock::now();
    // Channel 1: link frames A B, result R; channel 2: link frames C D, result S (a preamble).
    submit(pacer, 'A', LinkStageRole::part, 1, t0, out);
    submit(pacer, 'B', LinkStageRole::part, 1, t0, out);
    submit(pacer, 'R', LinkStageRole::end, 1, t0, out);
    submit(pacer, 'C', LinkStageRole::part, 2, t0, out);
    submit(pacer, 'D', LinkStageRole::part, 2, t0, out);
    submit(pacer, 'S', LinkStageRole::end, 2, t0, out);
    CHECK(out.order.empty());  // the burst may go on
    // The first data frame ends the piece; it is held for the pause.
    submit(pacer, 'x', LinkStageRole::none, 1, t0, out);
    CHECK(out.order == "ABCDRS");
    CHECK(pacer.link_stage_pieces() == 1);
    submit(pacer, 'y', LinkStageRole::none, 2, t0 + 10ms, out);
    CHECK(out.order == "ABCDRS");
    REQUIRE(pacer.next_deadline());
    CHECK(*pacer.next_deadline() == t0 + 1000ms);
    pacer.poll(t0 + 999ms, out.sink());
    CHECK(out.order == "ABCDRS");
    pacer.poll(t0 + 1000ms, out.sink());
    CHECK(out.order == "ABCDRSxy");
    // Paused no more: data passes through again.
    submit(pacer, 'z', LinkStageRole::none, 1, t0 + 1001ms, out);
    CHECK(out.order == "ABCDRSxyz");
}

TEST_CASE("a link stage completed during the pause waits for the pause's end: two pieces never share a batch") {
    LiveViewPacer pacer(LiveViewPacerOptions{.settle = 1000ms});
    Out out;
    const auto t0 = Clock::now();
    submit(pacer, 'A', LinkStageRole::part, 1, t0, out);
    submit(pacer, 'R', LinkStageRole::end, 1, t0, out);
    submit(pacer, 'x', LinkStageRole::none, 1, t0, out);  // piece 1 written, pause until t0 + 1 s
    CHECK(out.order == "AR");
    submit(pacer, 'B', LinkStageRole::part, 2, t0 + 10ms, out);
    submit(pacer, 'S', LinkStageRole::end, 2, t0 + 10ms, out);
    submit(pacer, 'y', LinkStageRole::none, 2, t0 + 20ms, out);
    pacer.end_of_burst(t0 + 30ms, out.sink());
    CHECK(out.order == "AR");  // piece 2 is complete but the pause goes on
    pacer.poll(t0 + 1000ms, out.sink());
    // The held data first, piece 2's result last; y, channel 2's data after its result, waits for the
    // next batch.
    CHECK(out.order == "ARxBS");
    submit(pacer, 'z', LinkStageRole::none, 1, t0 + 1001ms, out);
    CHECK(out.order == "ARxBS");
    pacer.poll(t0 + 2000ms, out.sink());
    CHECK(out.order == "ARxBSyz");
}

TEST_CASE("a channel's own data never comes before its link result") {
    LiveViewPacer pacer(LiveViewPacerOptions{.settle = 1000ms});
    Out out;
    const auto t0 = Clock::now();
    submit(pacer, 'A', LinkStageRole::part, 2, t0, out);   // display links
    submit(pacer, 'R', LinkStageRole::end, 2, t0, out);
    submit(pacer, 'B', LinkStageRole::part, 3, t0, out);   // inputs links
    submit(pacer, 'd', LinkStageRole::none, 2, t0, out);   // display data: after R
    submit(pacer, 'm', LinkStageRole::none, 1, t0, out);   // main data: anywhere before the results
    submit(pacer, 'S', LinkStageRole::end, 3, t0, out);
    submit(pacer, 'i', LinkStageRole::none, 3, t0, out);   // completes the piece
    CHECK(out.order == "ABmRS");
    pacer.poll(t0 + 1000ms, out.sink());
    CHECK(out.order == "ABmRSdi");
}

TEST_CASE("other channels' data during a link stage stays in order before the results") {
    LiveViewPacer pacer(LiveViewPacerOptions{.settle = 500ms});
    Out out;
    const auto t0 = Clock::now();
    submit(pacer, 'A', LinkStageRole::part, 2, t0, out);
    submit(pacer, 'm', LinkStageRole::none, 1, t0, out);  // main channel data while display links
    submit(pacer, 'B', LinkStageRole::part, 2, t0, out);
    submit(pacer, 'R', LinkStageRole::end, 2, t0, out);
    pacer.end_of_burst(t0 + 1ms, out.sink());  // nothing more queued: the piece is complete
    CHECK(out.order == "AmBR");
    submit(pacer, 'n', LinkStageRole::none, 1, t0 + 2ms, out);
    CHECK(out.order == "AmBR");
    pacer.poll(t0 + 501ms, out.sink());
    CHECK(out.order == "AmBRn");
}

TEST_CASE("a link stage that never ends stops holding frames after max_link_stage_wait") {
    LiveViewPacer pacer(LiveViewPacerOptions{.settle = 1000ms, .max_link_stage_wait = 2000ms});
    Out out;
    const auto t0 = Clock::now();
    submit(pacer, 'A', LinkStageRole::part, 1, t0, out);
    submit(pacer, 'x', LinkStageRole::none, 2, t0, out);
    CHECK(out.order.empty());
    REQUIRE(pacer.next_deadline());
    CHECK(*pacer.next_deadline() == t0 + 2000ms);
    pacer.poll(t0 + 2000ms, out.sink());
    CHECK(out.order == "Ax");
    submit(pacer, 'y', LinkStageRole::none, 2, t0 + 2001ms, out);
    CHECK(out.order == "Axy");
}

TEST_CASE("held bytes are bounded: past the limit everything held is written") {
    LiveViewPacer pacer(LiveViewPacerOptions{.settle = 1000ms, .max_held_bytes = 3});
    Out out;
    const auto t0 = Clock::now();
    submit(pacer, 'A', LinkStageRole::part, 1, t0, out);
    submit(pacer, 'R', LinkStageRole::end, 1, t0, out);
    submit(pacer, 'x', LinkStageRole::none, 1, t0, out);  // ends the piece, held
    submit(pacer, 'y', LinkStageRole::none, 1, t0, out);
    submit(pacer, 'z', LinkStageRole::none, 1, t0, out);
    submit(pacer, 'w', LinkStageRole::none, 1, t0, out);  // 4 bytes held > 3
    CHECK(out.order == "ARxyzw");
    CHECK(pacer.held_frames() == 0);
}

TEST_CASE("drain writes everything held in order") {
    LiveViewPacer pacer;
    Out out;
    const auto t0 = Clock::now();
    submit(pacer, 'A', LinkStageRole::part, 1, t0, out);
    submit(pacer, 'x', LinkStageRole::none, 2, t0, out);
    pacer.drain(out.sink());
    CHECK(out.order == "Ax");
}

TEST_CASE("SpiceFrameEncoder tags the link stage's frames and its result and the data after it") {
    SpiceFrameEncoder capture(SpiceFrameOptions{.handshake = true});
    std::vector<LinkStageRole> kinds;
    std::vector<bool> synthesized;
    const FrameSink sink = [&](const FrameMeta& meta, std::span<const std::uint8_t>) {
        kinds.push_back(meta.link_stage);
        synthesized.push_back(meta.synthesized());
    };
    Record r;
    r.header.kind = StreamKind::spice;
    r.header.channel_type = 3;
    r.header.session = 1;
    r.header.direction = Direction::client_to_server;
    const std::vector<std::uint8_t> data{0x04, 0x00, 0x05, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5};
    r.payload = data;  // a data message: the link stage is synthesized
    capture.encode(r, sink);
    // SYN, SYN/ACK, ACK and the client link message (link), reply, auth, ticket (link), result, the data.
    const std::vector<LinkStageRole> expected{LinkStageRole::part, LinkStageRole::part,     LinkStageRole::part,
                                                LinkStageRole::part, LinkStageRole::part,     LinkStageRole::part,
                                                LinkStageRole::part, LinkStageRole::end, LinkStageRole::none};
    CHECK(kinds == expected);
    kinds.clear();
    capture.encode(r, sink);
    CHECK(kinds == std::vector<LinkStageRole>{LinkStageRole::none});
}

TEST_CASE("a channel closed in the middle of its link stage ends the stage with or without a FIN") {
    for (const bool handshake : {true, false}) {
        SpiceFrameEncoder capture(SpiceFrameOptions{.handshake = handshake});
        std::vector<std::pair<LinkStageRole, std::size_t>> seen;
        const FrameSink sink = [&](const FrameMeta& meta, std::span<const std::uint8_t> f) {
            seen.emplace_back(meta.link_stage, f.size());
        };
        const auto link = synthetic_link_stage(ChannelType::display, 0, HeaderMode::mini, 1);
        Record r;
        r.header.kind = StreamKind::spice;
        r.header.channel_type = 2;
        r.header.session = 1;
        r.header.direction = Direction::client_to_server;
        r.payload = link[0].bytes;  // only the client's link message
        capture.encode(r, sink);
        seen.clear();
        capture.channel_closed({1, 2, 0}, 0, sink);
        REQUIRE_FALSE(seen.empty());
        CHECK(seen.back().first == LinkStageRole::end);
        if (!handshake) CHECK(seen.back().second == 0);  // nothing on the wire, but the end is told
    }
}
