// RecordHeader, Record and DropNotice: exact bytes (the same as docs/protocol.md's worked examples),
// round trips through the frame codec, and every rejection.
#include <doctest/doctest.h>

#include "wire/frame.hpp"
#include "wire/record.hpp"

#include <vector>

using namespace spicecap;

namespace {

using Bytes = std::vector<std::uint8_t>;

// docs/protocol.md §4 example: SPICE main channel 0, client -> server, session 7,
// timestamp 1700000000123456789 ns, FULL_HEADER.
const Bytes kExampleHeader = {0x01, 0x00, 0x01, 0x00, 0x07, 0x00, 0x00, 0x00, 0x15, 0xcd,
                              0x85, 0x3d, 0xfe, 0x9c, 0x97, 0x17, 0x01, 0x00, 0x00, 0x00};

RecordHeader example_header() {
    RecordHeader h;
    h.kind = StreamKind::spice;
    h.direction = Direction::client_to_server;
    h.channel_type = static_cast<std::uint8_t>(ChannelType::main);
    h.channel_id = 0;
    h.session = 7;
    h.timestamp_ns = 1700000000123456789ull;
    h.flags = kRecordFlagFullHeader;
    return h;
}

Bytes encode(const RecordHeader& h) {
    Bytes out(RecordHeader::kSize);
    h.encode_to(out.data());
    return out;
}

Bytes with_byte(Bytes bytes, std::size_t at, std::uint8_t value) {
    bytes[at] = value;
    return bytes;
}

}  // namespace

TEST_CASE("record: header encodes to the documented bytes") {
    CHECK(encode(example_header()) == kExampleHeader);
    auto parsed = RecordHeader::parse(kExampleHeader);
    REQUIRE(parsed);
    CHECK(*parsed == example_header());
}

TEST_CASE("record: frame round trip through the frame decoder") {
    Bytes stream;
    const Bytes payload = {'R', 'E', 'D', 'Q', 2, 0, 0, 0};
    append_record_frame(stream, example_header(), payload);
    REQUIRE(stream.size() == 5 + 20 + payload.size());
    CHECK(Bytes(stream.begin(), stream.begin() + 5) == Bytes{29, 0, 0, 0, 0x03});
    CHECK(Bytes(stream.begin() + 5, stream.begin() + 25) == kExampleHeader);

    FrameDecoder decoder;
    decoder.feed(stream);
    auto frame = decoder.next();
    REQUIRE(frame);
    REQUIRE(frame.value());
    CHECK((*frame)->type == FrameType::record);
    auto record = Record::parse((*frame)->body);
    REQUIRE(record);
    CHECK(record->header == example_header());
    CHECK(Bytes(record->payload.begin(), record->payload.end()) == payload);
}

TEST_CASE("record: empty payload and vsock records") {
    RecordHeader h;
    h.kind = StreamKind::usb_vsock;
    h.direction = Direction::device_to_host;
    h.channel_type = 0;
    h.channel_id = 3;
    Bytes stream;
    append_record_frame(stream, h, {});
    auto record = Record::parse(std::span{stream}.subspan(kFramePrefixBytes));
    REQUIRE(record);
    CHECK(record->header == h);
    CHECK(record->payload.empty());
    CHECK(static_cast<int>(Direction::device_to_host) == 1);
    CHECK(static_cast<int>(Direction::host_to_device) == 0);
}

TEST_CASE("record: every rejection") {
    auto short_body = RecordHeader::parse(std::span{kExampleHeader}.first(19));
    REQUIRE_FALSE(short_body);
    CHECK(short_body.error().kind == RecordErrorKind::too_short);

    for (std::uint8_t kind : {0, 3, 255}) {
        auto r = RecordHeader::parse(with_byte(kExampleHeader, 0, kind));
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == RecordErrorKind::bad_kind);
    }
    auto dir = RecordHeader::parse(with_byte(kExampleHeader, 1, 2));
    REQUIRE_FALSE(dir);
    CHECK(dir.error().kind == RecordErrorKind::bad_direction);

    for (std::uint8_t type : {0, 12, 200}) {
        auto r = RecordHeader::parse(with_byte(kExampleHeader, 2, type));
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == RecordErrorKind::bad_channel_type);
    }
    for (std::uint8_t type = 1; type <= 11; ++type) CHECK(RecordHeader::parse(with_byte(kExampleHeader, 2, type)));

    auto flags = RecordHeader::parse(with_byte(kExampleHeader, 16, 0x03));
    REQUIRE_FALSE(flags);
    CHECK(flags.error().kind == RecordErrorKind::bad_flags);
    auto high_flag = RecordHeader::parse(with_byte(kExampleHeader, 19, 0x80));
    REQUIRE_FALSE(high_flag);
    CHECK(high_flag.error().kind == RecordErrorKind::bad_flags);

    // USB vsock: channel type 0 and no flags.
    Bytes vsock = with_byte(with_byte(with_byte(kExampleHeader, 0, 2), 2, 0), 16, 0);
    CHECK(RecordHeader::parse(vsock));
    auto vsock_type = RecordHeader::parse(with_byte(vsock, 2, 1));
    REQUIRE_FALSE(vsock_type);
    CHECK(vsock_type.error().kind == RecordErrorKind::bad_channel_type);
    auto vsock_flags = RecordHeader::parse(with_byte(vsock, 16, 1));
    REQUIRE_FALSE(vsock_flags);
    CHECK(vsock_flags.error().kind == RecordErrorKind::bad_flags);

    auto record = Record::parse(std::span{kExampleHeader}.first(3));
    REQUIRE_FALSE(record);
    CHECK(record.error().kind == RecordErrorKind::too_short);
}

TEST_CASE("record: drop notice encodes to the documented bytes") {
    // docs/protocol.md §5 example: session 3, SPICE display channel 1, server -> client,
    // noticed at 1700000000000000000 ns, 5 records of 320 payload bytes in total.
    const Bytes expected = {0x01, 0x01, 0x02, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x36,
                            0xfe, 0x9c, 0x97, 0x17, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
                            0x00, 0x00, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    DropNotice notice;
    notice.where.kind = StreamKind::spice;
    notice.where.direction = Direction::server_to_client;
    notice.where.channel_type = static_cast<std::uint8_t>(ChannelType::display);
    notice.where.channel_id = 1;
    notice.where.session = 3;
    notice.where.timestamp_ns = 1700000000000000000ull;
    notice.records = 5;
    notice.bytes = 320;

    Bytes frame;
    append_drop_frame(frame, notice);
    REQUIRE(frame.size() == 5 + DropNotice::kSize);
    CHECK(Bytes(frame.begin(), frame.begin() + 5) == Bytes{37, 0, 0, 0, 0x05});
    const Bytes body(frame.begin() + 5, frame.end());
    CHECK(body == expected);

    auto parsed = DropNotice::parse(body);
    REQUIRE(parsed);
    CHECK(*parsed == notice);
}

TEST_CASE("record: drop notice rejections") {
    DropNotice notice;
    notice.where.channel_type = 1;
    Bytes body(DropNotice::kSize);
    notice.encode_to(body.data());
    REQUIRE(DropNotice::parse(body));

    auto too_short = DropNotice::parse(std::span{body}.first(DropNotice::kSize - 1));
    REQUIRE_FALSE(too_short);
    CHECK(too_short.error().kind == RecordErrorKind::too_short);

    Bytes longer = body;
    longer.push_back(0);
    auto trailing = DropNotice::parse(longer);
    REQUIRE_FALSE(trailing);
    CHECK(trailing.error().kind == RecordErrorKind::trailing_bytes);

    auto flagged = DropNotice::parse(with_byte(body, 16, 1));
    REQUIRE_FALSE(flagged);
    CHECK(flagged.error().kind == RecordErrorKind::bad_flags);

    auto bad_kind = DropNotice::parse(with_byte(body, 0, 9));
    REQUIRE_FALSE(bad_kind);
    CHECK(bad_kind.error().kind == RecordErrorKind::bad_kind);
}

TEST_CASE("record: channel and kind names") {
    CHECK(spice_channel_name(1) == "main");
    CHECK(spice_channel_name(2) == "display");
    CHECK(spice_channel_name(9) == "usbredir");
    CHECK(spice_channel_name(11) == "webdav");
    CHECK_FALSE(spice_channel_name(0));
    CHECK_FALSE(spice_channel_name(12));
    for (std::uint8_t t = 1; t <= kMaxSpiceChannelType; ++t) CHECK(spice_channel_type_from_name(*spice_channel_name(t)) == t);
    CHECK_FALSE(spice_channel_type_from_name(""));
    CHECK_FALSE(spice_channel_type_from_name("Display"));
    CHECK(stream_kind_name(StreamKind::spice) == "spice");
    CHECK(stream_kind_name(StreamKind::usb_vsock) == "usbvsock");
    CHECK(stream_kind_from_name("usbvsock") == StreamKind::usb_vsock);
    CHECK_FALSE(stream_kind_from_name("vsock"));
}
