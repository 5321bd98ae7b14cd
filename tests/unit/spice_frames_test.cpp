// SpiceFrameEncoder: records of a subscription -> synthesized TCP frames (streams per session and channel,
// link stage made up when missing, drop gaps, FIN on close).
#include <doctest/doctest.h>

#include "pcap/spice_frames.hpp"
#include "spice/spice_link_stage.hpp"

#include <vector>

using namespace spicecap;

namespace {

struct Frames {
    std::vector<std::vector<std::uint8_t>> all;
    FrameSink sink() {
        return [this](const FrameMeta&, std::span<const std::uint8_t> f) { all.emplace_back(f.begin(), f.end()); };
    }
};

std::uint16_t client_port(const std::vector<std::uint8_t>& f) {
    // Client -> server frames carry the client port as source, server -> client as destination.
    const std::uint16_t src = static_cast<std::uint16_t>((f[34] << 8) | f[35]);
    const std::uint16_t dst = static_cast<std::uint16_t>((f[36] << 8) | f[37]);
    return src == 5930 ? dst : src;
}
std::uint32_t seq(const std::vector<std::uint8_t>& f) {
    return (std::uint32_t{f[38]} << 24) | (std::uint32_t{f[39]} << 16) | (std::uint32_t{f[40]} << 8) | f[41];
}
std::vector<std::uint8_t> payload(const std::vector<std::uint8_t>& f) {
    return {f.begin() + static_cast<std::ptrdiff_t>(kFrameHeaderBytes), f.end()};
}

Record make_record(std::uint32_t session, std::uint8_t type, Direction dir, const std::vector<std::uint8_t>& bytes,
                   std::uint32_t flags = 0) {
    Record r;
    r.header.kind = StreamKind::spice;
    r.header.direction = dir;
    r.header.channel_type = type;
    r.header.session = session;
    r.header.timestamp_ns = 1000;
    r.header.flags = flags;
    r.payload = bytes;
    return r;
}

/// The frame counts below are of data segments only.
constexpr SpiceFrameOptions kNoHandshake{.server_port = kDefaultSpiceServerPort, .handshake = false};

}  // namespace

TEST_CASE("a channel whose records start with the link stage is passed through unchanged") {
    SpiceFrameEncoder capture(kNoHandshake);
    Frames out;
    const auto link = synthetic_link_stage(ChannelType::display, 0, HeaderMode::mini, 7);
    for (const auto& m : link) {
        capture.encode(make_record(7, 2, m.direction, m.bytes), out.sink());
    }
    REQUIRE(out.all.size() == link.size());
    for (std::size_t i = 0; i < link.size(); ++i) CHECK(payload(out.all[i]) == link[i].bytes);
    CHECK(capture.stats().synthesized_link_stages == 0);
    CHECK(capture.stats().records == link.size());
}

TEST_CASE("a channel that starts mid-session gets a synthesized link stage first") {
    SpiceFrameEncoder capture(kNoHandshake);
    Frames out;
    const std::vector<std::uint8_t> data{0x04, 0x00, 0x05, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5};
    capture.encode(make_record(3, 3, Direction::client_to_server, data), out.sink());
    REQUIRE(out.all.size() == 6);
    CHECK(payload(out.all[0])[0] == 'R');  // "REDQ": the client's link message
    CHECK(payload(out.all[5]) == data);
    CHECK(capture.stats().synthesized_link_stages == 1);
    for (const auto& f : out.all) CHECK(client_port(f) == 10003);

    // The full-header flag changes the synthesized link message (no mini-header capability).
    SpiceFrameEncoder full(kNoHandshake);
    Frames out_full;
    full.encode(make_record(3, 3, Direction::client_to_server, data, kRecordFlagFullHeader), out_full.sink());
    REQUIRE(out_full.all.size() == 6);
    CHECK(payload(out_full.all[0]) != payload(out.all[0]));
}

TEST_CASE("sessions get addresses in order of appearance and channels their ports") {
    SpiceFrameEncoder capture(kNoHandshake);
    Frames out;
    const std::vector<std::uint8_t> data{'R', 'E', 'D', 'Q', 0};
    capture.encode(make_record(42, 1, Direction::client_to_server, data), out.sink());
    capture.encode(make_record(9, 1, Direction::client_to_server, data), out.sink());
    capture.encode(make_record(42, 4, Direction::client_to_server, data), out.sink());
    REQUIRE(out.all.size() == 3);
    CHECK(out.all[0][28] == 0);  // 10.0.0.1: the first session seen
    CHECK(out.all[1][28] == 1);  // 10.0.1.1: the second
    CHECK(client_port(out.all[2]) == 10004);
    CHECK(capture.session_index(42) == 0);
    CHECK(capture.session_index(9) == 1);
}

TEST_CASE("a drop notice leaves a sequence gap of exactly the dropped bytes") {
    SpiceFrameEncoder capture(kNoHandshake);
    Frames out;
    const std::vector<std::uint8_t> link{'R', 'E', 'D', 'Q', 1, 2, 3, 4};
    const std::vector<std::uint8_t> data(100, 0x11);
    capture.encode(make_record(1, 2, Direction::client_to_server, link), out.sink());
    capture.encode(make_record(1, 2, Direction::server_to_client, data), out.sink());
    DropNotice notice;
    notice.where.kind = StreamKind::spice;
    notice.where.session = 1;
    notice.where.channel_type = 2;
    notice.where.direction = Direction::server_to_client;
    notice.records = 3;
    notice.bytes = 12345;
    capture.drop(notice);
    capture.encode(make_record(1, 2, Direction::server_to_client, data), out.sink());
    REQUIRE(out.all.size() == 3);
    CHECK(seq(out.all[2]) == seq(out.all[1]) + 100 + 12345);
    CHECK(capture.stats().dropped_records == 3);
}

TEST_CASE("closing a channel sends FIN with the handshake option and the reopened channel starts afresh") {
    SpiceFrameEncoder capture(SpiceFrameOptions{.server_port = 5930, .handshake = true});
    Frames out;
    const std::vector<std::uint8_t> link{'R', 'E', 'D', 'Q', 1, 2, 3, 4};
    capture.encode(make_record(1, 1, Direction::client_to_server, link), out.sink());
    REQUIRE(out.all.size() == 4);  // SYN, SYN/ACK, ACK, data
    CHECK(capture.open_streams() == std::vector<SpiceStreamKey>{{1, 1, 0}});
    capture.channel_closed({1, 1, 0}, 2000, out.sink());
    REQUIRE(out.all.size() == 7);  // FIN, FIN, ACK
    CHECK(capture.open_streams().empty());
    CHECK((out.all[4][47] & 0x01) == 0x01);
    const std::vector<std::uint8_t> data{0x04, 0x00, 0x00, 0x00, 0x00, 0x00};
    capture.encode(make_record(1, 1, Direction::server_to_client, data), out.sink());
    // A new connection: handshake, then a synthesized link stage because this one began without it.
    CHECK(out.all[7][47] == 0x02);
    CHECK(capture.stats().synthesized_link_stages == 1);
}
