// FrameAnnotations: what a pcapng capture says about its frames - the producer and stream on each
// connection's first frame, spicecap's own frames marked, drop counts on the next frame of the stream and
// direction that lost records.
#include <doctest/doctest.h>

#include <string>

#include "capture/frame_annotations.hpp"

using namespace spicecap;
using namespace spicecap::capture;

namespace {

// No daemon answers at this socket: sessions are named by their id.
FrameAnnotations annotations() { return FrameAnnotations(SessionDirectory("/nonexistent/spicecapd.sock")); }

const FrameStream kDisplay{StreamKind::spice, 7, 2, 0};
const FrameStream kCursor{StreamKind::spice, 7, 4, 1};

FrameMeta data(Direction direction) { return FrameMeta{.timestamp_ns = 1, .direction = direction}; }

DropNotice drop(const FrameStream& stream, Direction direction, std::uint64_t records) {
    DropNotice notice;
    notice.where.kind = stream.kind;
    notice.where.session = stream.session;
    notice.where.channel_type = stream.channel_type;
    notice.where.channel_id = stream.channel_id;
    notice.where.direction = direction;
    notice.records = records;
    return notice;
}

}  // namespace

TEST_CASE("the first frame of each channel's connection names its producer and stream") {
    auto a = annotations();
    a.opened(7, ChannelOpened{StreamKind::spice, 2, 0, HeaderMode::mini});
    CHECK(std::string(a.annotate(kDisplay, data(Direction::server_to_client)).comment) ==
          "session #7 \u00b7 display:0 \u00b7 mini headers");
    CHECK(a.annotate(kDisplay, data(Direction::client_to_server)).comment.empty());
    // A channel that never said its header mode: no guess.
    CHECK(std::string(a.annotate(kCursor, data(Direction::server_to_client)).comment) == "session #7 \u00b7 cursor:1");
    // After channel_closed, the next connection is announced again.
    a.closed(7, ChannelClosed{StreamKind::spice, 2, 0, ""});
    CHECK_FALSE(a.annotate(kDisplay, data(Direction::client_to_server)).comment.empty());
}

TEST_CASE("frames spicecap made up say so and how") {
    auto a = annotations();
    (void)a.annotate(kDisplay, data(Direction::client_to_server));
    const auto syn = a.annotate(kDisplay, FrameMeta{.origin = FrameOrigin::tcp_handshake});
    CHECK(std::string(syn.comment).find("synthesized by spicecap: TCP handshake") == 0);
    const auto link = a.annotate(kDisplay, FrameMeta{.origin = FrameOrigin::link_stage});
    CHECK(std::string(link.comment).find("synthesized by spicecap: SPICE link stage") == 0);
    const auto fin = a.annotate(kDisplay, FrameMeta{.origin = FrameOrigin::tcp_close});
    CHECK(std::string(fin.comment).find("synthesized by spicecap: TCP FIN") == 0);
    // The first frame of a connection that spicecap made up carries both sentences.
    const auto first = a.annotate(kCursor, FrameMeta{.origin = FrameOrigin::tcp_handshake});
    CHECK(std::string(first.comment) == "session #7 \u00b7 cursor:1 \u00b7 synthesized by spicecap: TCP handshake "
                                        "opening the channel's connection");
}

TEST_CASE("a drop is counted on the next frame a producer sent in that stream and direction") {
    auto a = annotations();
    (void)a.annotate(kDisplay, data(Direction::server_to_client));
    a.dropped(drop(kDisplay, Direction::server_to_client, 5));
    a.dropped(drop(kDisplay, Direction::server_to_client, 2));
    CHECK(a.annotate(kDisplay, data(Direction::client_to_server)).drops_before == 0);  // other direction
    CHECK(a.annotate(kCursor, data(Direction::server_to_client)).drops_before == 0);   // other stream
    CHECK(a.annotate(kDisplay, FrameMeta{.origin = FrameOrigin::tcp_close, .direction = Direction::server_to_client})
              .drops_before == 0);  // spicecap's own frame follows no loss
    CHECK(a.annotate(kDisplay, data(Direction::server_to_client)).drops_before == 7);
    CHECK(a.annotate(kDisplay, data(Direction::server_to_client)).drops_before == 0);  // counted once
    CHECK(a.drops_counted() == 7);
}
