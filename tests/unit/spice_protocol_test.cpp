// SPICE wire types, message builders, synthetic link stage and stream parser: byte-exact encodings,
// round trips, one-byte-at-a-time parsing, and errors on garbage, oversize and truncation.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>
#include <vector>

#include "spice/spice_link_stage.hpp"
#include "spice/spice_messages.hpp"
#include "spice/spice_protocol.hpp"
#include "spice/spice_stream_parser.hpp"

using namespace spicecap;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes hex(const std::string& text) {
    Bytes out;
    std::string digits;
    for (char c : text)
        if (std::isxdigit(static_cast<unsigned char>(c))) digits += c;
    for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
    return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

/// The messages of one whole synthetic session on one channel, in wire order.
struct Session {
    std::vector<SpiceWireMessage> messages;
};

Session display_session(HeaderMode mode) {
    Session s;
    s.messages = synthetic_link_stage(ChannelType::display, 0, mode, 0x1234);
    SpiceMessageFramer server(mode), client(mode);
    auto add = [&](Direction d, Bytes bytes) {
        SpiceWireMessage m;
        m.direction = d;
        m.kind = SpiceMessageKind::data;
        m.bytes = std::move(bytes);
        s.messages.push_back(std::move(m));
    };
    add(Direction::server_to_client, server.frame(spice::DisplaySurfaceCreate{.width = 1024, .height = 768}));
    add(Direction::server_to_client, server.frame(spice::Ping{.id = 1, .timestamp = 99}));
    add(Direction::client_to_server, client.frame(spice::Pong{.id = 1, .timestamp = 99}));
    add(Direction::server_to_client, server.frame(spice::DisplayDrawCopy::with_image_bytes(5000)));
    return s;
}

}  // namespace

// --- channel names ---------------------------------------------------------------------------------------

TEST_CASE("spice channel types have the design's names and numbers both ways") {
    const std::pair<const char*, int> expected[] = {
        {"main", 1},     {"display", 2},   {"inputs", 3},   {"cursor", 4}, {"playback", 5}, {"record", 6},
        {"tunnel", 7},   {"smartcard", 8}, {"usbredir", 9}, {"port", 10},  {"webdav", 11},
    };
    for (auto [name, number] : expected) {
        CAPTURE(name);
        REQUIRE(channel_from_name(name).has_value());
        CHECK(static_cast<int>(*channel_from_name(name)) == number);
        CHECK(channel_name(static_cast<ChannelType>(number)) == name);
        CHECK(channel_from_number(static_cast<std::uint8_t>(number)) == static_cast<ChannelType>(number));
    }
    CHECK_FALSE(channel_from_name("Main").has_value());
    CHECK_FALSE(channel_from_number(0).has_value());
    CHECK_FALSE(channel_from_number(12).has_value());
    CHECK(channel_name(static_cast<ChannelType>(12)) == "unknown");
}

TEST_CASE("spice capability words set and test bits across words") {
    const auto caps = caps_with({common_cap::protocol_auth_selection, common_cap::mini_header, 33});
    REQUIRE(caps.size() == 2);
    CHECK(caps[0] == 0x9);
    CHECK(caps[1] == 0x2);
    CHECK(has_cap(caps, common_cap::mini_header));
    CHECK_FALSE(has_cap(caps, common_cap::auth_sasl));
    CHECK(has_cap(caps, 33));
    CHECK_FALSE(has_cap(caps, 64));  // beyond the last word: not set
}

// --- link stage encodings --------------------------------------------------------------------------------

TEST_CASE("spice link message encodes byte for byte as a real client sends it") {
    SpiceLinkMess mess;
    mess.connection_id = 0x11223344;
    mess.channel_type = 2;
    mess.channel_id = 1;
    mess.common_caps = {0x0b};
    mess.channel_caps = {0x80000001};
    const Bytes expected = hex(
        "52 45 44 51  02 00 00 00  02 00 00 00  1a 00 00 00"  // REDQ, 2.2, size 18 + 8
        "44 33 22 11  02 01"                                  // connection id, display #1
        "01 00 00 00  01 00 00 00  12 00 00 00"               // 1 common, 1 channel cap, caps at 18
        "0b 00 00 00  01 00 00 80");
    CHECK(mess.encode() == expected);

    auto parsed = SpiceLinkMess::parse(expected);
    REQUIRE(parsed.has_value());
    CHECK(parsed->connection_id == 0x11223344);
    CHECK(parsed->channel_type == 2);
    CHECK(parsed->channel_id == 1);
    CHECK(parsed->common_caps == std::vector<std::uint32_t>{0x0b});
    CHECK(parsed->channel_caps == std::vector<std::uint32_t>{0x80000001});
}

TEST_CASE("spice link message parse honours caps_offset and rejects lies") {
    // caps_offset 22: four padding bytes between the fixed part and the caps.
    const Bytes padded = hex(
        "52 45 44 51 02 00 00 00 02 00 00 00 1a 00 00 00"
        "00 00 00 00 01 00"
        "01 00 00 00 00 00 00 00 16 00 00 00"
        "ee ee ee ee 08 00 00 00");
    auto parsed = SpiceLinkMess::parse(padded);
    REQUIRE(parsed.has_value());
    CHECK(parsed->common_caps == std::vector<std::uint32_t>{8});

    SUBCASE("bad magic") {
        Bytes b = padded;
        b[0] = 'X';
        auto r = SpiceLinkMess::parse(b);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == SpiceErrorCode::bad_magic);
        CHECK(r.error().message.find("58454451") != std::string::npos);
    }
    SUBCASE("caps beyond the declared size") {
        Bytes b = padded;
        b[16 + 6] = 2;  // two common caps: 22 + 8 > 26
        auto r = SpiceLinkMess::parse(b);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == SpiceErrorCode::bad_link_size);
    }
    SUBCASE("huge cap count does not overflow") {
        Bytes b = padded;
        b[16 + 6] = 0xff; b[16 + 7] = 0xff; b[16 + 8] = 0xff; b[16 + 9] = 0xff;
        auto r = SpiceLinkMess::parse(b);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == SpiceErrorCode::bad_link_size);
    }
    SUBCASE("caps offset inside the fixed part") {
        Bytes b = padded;
        b[16 + 14] = 4;
        auto r = SpiceLinkMess::parse(b);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == SpiceErrorCode::bad_link_size);
    }
    SUBCASE("size smaller than the fixed part") {
        Bytes b = padded;
        b[12] = 10;
        b.resize(16 + 10);
        auto r = SpiceLinkMess::parse(b);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == SpiceErrorCode::bad_link_size);
    }
    SUBCASE("truncated") {
        for (std::size_t n : {0, 3, 15, 16, 41}) {
            CAPTURE(n);
            auto r = SpiceLinkMess::parse(std::span(padded).first(n));
            REQUIRE_FALSE(r.has_value());
            CHECK(r.error().code == SpiceErrorCode::truncated);
        }
    }
    SUBCASE("trailing bytes") {
        Bytes b = padded;
        b.push_back(0);
        auto r = SpiceLinkMess::parse(b);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == SpiceErrorCode::trailing_bytes);
    }
}

TEST_CASE("spice link reply encodes byte for byte and round-trips") {
    SpiceLinkReply reply;
    reply.error = link_err::ok;
    for (std::size_t i = 0; i < reply.pub_key.size(); ++i) reply.pub_key[i] = static_cast<std::uint8_t>(i);
    reply.common_caps = {0x0b};
    reply.channel_caps = {0x5, 0x6};
    const Bytes bytes = reply.encode();
    REQUIRE(bytes.size() == 16 + 178 + 12);
    CHECK(Bytes(bytes.begin(), bytes.begin() + 16) == hex("52454451 02000000 02000000 be000000"));  // 178 + 12
    CHECK(Bytes(bytes.begin() + 16, bytes.begin() + 20) == hex("00000000"));
    CHECK(bytes[20] == 0);
    CHECK(bytes[20 + 161] == 161);
    CHECK(Bytes(bytes.begin() + 182, bytes.begin() + 194) == hex("01000000 02000000 b2000000"));  // caps at 178
    CHECK(Bytes(bytes.begin() + 194, bytes.end()) == hex("0b000000 05000000 06000000"));

    auto parsed = SpiceLinkReply::parse(bytes);
    REQUIRE(parsed.has_value());
    CHECK(parsed->error == link_err::ok);
    CHECK(parsed->pub_key == reply.pub_key);
    CHECK(parsed->common_caps == reply.common_caps);
    CHECK(parsed->channel_caps == reply.channel_caps);
}

TEST_CASE("spice fixed-size link messages encode and parse and reject wrong sizes") {
    CHECK(SpiceLinkAuthMechanism{auth_mechanism::spice}.encode() == hex("01000000"));
    CHECK(SpiceLinkResult{link_err::permission_denied}.encode() == hex("07000000"));
    CHECK(SpiceLinkAuthMechanism::parse(hex("02000000"))->mechanism == auth_mechanism::sasl);
    CHECK(SpiceLinkResult::parse(hex("00000000"))->error == link_err::ok);
    CHECK(SpiceLinkAuthMechanism::parse(hex("020000")).error().code == SpiceErrorCode::truncated);
    CHECK(SpiceLinkResult::parse(hex("0000000000")).error().code == SpiceErrorCode::trailing_bytes);

    SpiceLinkTicket ticket;
    ticket.encrypted[0] = 0xaa;
    ticket.encrypted[127] = 0xbb;
    const Bytes t = ticket.encode();
    REQUIRE(t.size() == 128);
    CHECK(SpiceLinkTicket::parse(t)->encrypted == ticket.encrypted);
    CHECK(SpiceLinkTicket::parse(std::span(t).first(127)).error().code == SpiceErrorCode::truncated);
}

// --- data headers ----------------------------------------------------------------------------------------

TEST_CASE("spice data headers encode byte for byte and round-trip") {
    Bytes mini;
    SpiceMiniDataHeader{server_msg::main_init, 32}.encode(mini);
    CHECK(mini == hex("6700 20000000"));
    auto m = SpiceMiniDataHeader::parse(mini);
    REQUIRE(m.has_value());
    CHECK(m->type == 103);
    CHECK(m->size == 32);
    CHECK(SpiceMiniDataHeader::parse(std::span(mini).first(5)).error().code == SpiceErrorCode::truncated);

    Bytes full;
    SpiceDataHeader{0x0102030405060708, server_msg::display_draw_copy, 0x00030000, 0}.encode(full);
    CHECK(full == hex("0807060504030201 3001 00000300 00000000"));
    auto f = SpiceDataHeader::parse(full);
    REQUIRE(f.has_value());
    CHECK(f->serial == 0x0102030405060708);
    CHECK(f->type == 304);
    CHECK(f->size == 0x30000);
    CHECK(f->sub_list == 0);
    CHECK(SpiceDataHeader::parse(std::span(full).first(17)).error().code == SpiceErrorCode::truncated);
}

TEST_CASE("spice framer puts the mode's header in front and numbers full-header serials") {
    const Bytes body = hex("01020304");
    SpiceMessageFramer mini(HeaderMode::mini);
    CHECK(mini.frame(7, body) == hex("0700 04000000 01020304"));
    CHECK(mini.frame(7, body) == hex("0700 04000000 01020304"));

    SpiceMessageFramer full(HeaderMode::full);
    CHECK(full.frame(7, body) == hex("0100000000000000 0700 04000000 00000000 01020304"));
    CHECK(full.frame(8, {}) == hex("0200000000000000 0800 00000000 00000000"));
    CHECK(full.next_serial() == 3);
}

// --- message bodies --------------------------------------------------------------------------------------

TEST_CASE("spice message bodies have spice.proto's layout") {
    CHECK(spice::Ping{.id = 5, .timestamp = 0x1122334455667788}.encode() ==
          hex("05000000 8877665544332211"));
    CHECK(spice::Ping{.id = 5, .timestamp = 0, .data = {9, 9}}.encode().size() == 14);
    CHECK(spice::Pong{.id = 5, .timestamp = 1}.encode() == hex("05000000 0100000000000000"));
    CHECK(spice::MainInit{.session_id = 0xdeadbeef}.encode() ==
          hex("efbeadde 01000000 03000000 02000000 00000000 0a000000 00000000 00000000"));
    CHECK(spice::MainChannelsList{.channels = {{1, 0}, {2, 0}, {2, 1}}}.encode() ==
          hex("03000000 0100 0200 0201"));
    CHECK(spice::DisplaySurfaceCreate{.surface_id = 0, .width = 1024, .height = 768}.encode() ==
          hex("00000000 00040000 00030000 20000000 01000000"));
    CHECK(spice::InputsKeyDown{.code = 0x1e}.encode() == hex("1e000000"));
    CHECK(spice::InputsKeyUp{.code = 0x9e}.encode() == hex("9e000000"));
    CHECK(spice::InputsMouseMotion{.dx = -1, .dy = 2, .buttons_state = 1}.encode() ==
          hex("ffffffff 02000000 0100"));
    CHECK(spice::CursorMove{.x = 10, .y = -1}.encode() == hex("0a00 ffff"));
    CHECK(spice::CursorSet{.x = 1, .y = 2, .visible = 1, .cursor = spice::Cursor::none()}.encode() ==
          hex("0100 0200 01 0100"));

    const auto cursor = spice::Cursor::alpha_arrow(4, 2, 0x77);
    CHECK(cursor.data.size() == 4 * 2 * 4);
    const Bytes init = spice::CursorInit{.x = 3, .y = 4, .cursor = cursor}.encode();
    CHECK(init.size() == 9 + 2 + 17 + 32);
    CHECK(Bytes(init.begin(), init.begin() + 9 + 2 + 17) ==
          hex("0300 0400 0000 0000 01  0200  7700000000000000 00 0400 0200 0000 0000"));

    const Bytes stream = spice::DisplayStreamCreate{.id = 7, .stream_width = 64, .stream_height = 48}.encode();
    CHECK(stream.size() == 51);
    const auto jpeg = spice::DisplayStreamData::tiny_jpeg();
    CHECK(jpeg.front() == 0xff);
    CHECK(jpeg[1] == 0xd8);
    CHECK(jpeg[jpeg.size() - 2] == 0xff);
    CHECK(jpeg.back() == 0xd9);
    const Bytes data = spice::DisplayStreamData{.id = 7, .multi_media_time = 9, .frame = jpeg}.encode();
    CHECK(data.size() == 12 + jpeg.size());
}

TEST_CASE("spice DRAW_COPY points at the bitmap right after its fixed part") {
    const auto copy = spice::DisplayDrawCopy::with_image_bytes(200 * 1024);
    CHECK(copy.image.width == 256);
    CHECK(copy.image.height == 200);
    CHECK(copy.image.pixels.size() == 200 * 1024);
    const Bytes body = copy.encode();
    REQUIRE(body.size() == 57 + 18 + 18 + 200 * 1024);
    CHECK(Bytes(body.begin() + 21, body.begin() + 25) == hex("39000000"));  // src_bitmap = 57
    CHECK(Bytes(body.begin() + 57, body.begin() + 57 + 36) ==
          hex("0100000000000000 00 00 00010000 c8000000"                 // descriptor: id 1, BITMAP, 256x200
              "08 04 00010000 c8000000 00040000 00000000"));             // 32BIT, TOP_DOWN, stride 1024, no palette
    CHECK(spice::DisplayDrawCopy::with_image_bytes(1).image.height == 1);

    auto bad = copy;
    bad.image.pixels.pop_back();
    CHECK_THROWS_AS((void)bad.encode(), std::invalid_argument);
}

// --- synthetic link stage --------------------------------------------------------------------------------

TEST_CASE("spice synthetic link stage is the five messages a real pair exchanges") {
    for (HeaderMode mode : {HeaderMode::mini, HeaderMode::full}) {
        CAPTURE(static_cast<int>(mode));
        const auto stage = synthetic_link_stage(ChannelType::cursor, 1, mode, 0xabcdef);
        REQUIRE(stage.size() == 5);
        const SpiceMessageKind kinds[] = {SpiceMessageKind::link_mess, SpiceMessageKind::link_reply,
                                          SpiceMessageKind::auth_mechanism, SpiceMessageKind::ticket,
                                          SpiceMessageKind::link_result};
        const Direction dirs[] = {Direction::client_to_server, Direction::server_to_client,
                                       Direction::client_to_server, Direction::client_to_server,
                                       Direction::server_to_client};
        for (int i = 0; i < 5; ++i) {
            CHECK(stage[i].kind == kinds[i]);
            CHECK(stage[i].direction == dirs[i]);
        }
        const auto mess = SpiceLinkMess::parse(stage[0].bytes);
        REQUIRE(mess.has_value());
        CHECK(mess->channel_type == 4);
        CHECK(mess->channel_id == 1);
        CHECK(mess->connection_id == 0xabcdef);
        CHECK(mess->channel_caps.empty());
        const auto reply = SpiceLinkReply::parse(stage[1].bytes);
        REQUIRE(reply.has_value());
        CHECK(reply->error == link_err::ok);
        for (const auto* caps : {&mess->common_caps, &reply->common_caps}) {
            CHECK(has_cap(*caps, common_cap::protocol_auth_selection));
            CHECK(has_cap(*caps, common_cap::auth_spice));
            CHECK_FALSE(has_cap(*caps, common_cap::auth_sasl));
            CHECK(has_cap(*caps, common_cap::mini_header) == (mode == HeaderMode::mini));
        }
        CHECK(stage[2].bytes == hex("01000000"));
        CHECK(stage[3].bytes.size() == 128);
        CHECK(stage[4].bytes == hex("00000000"));
    }
}

// --- stream parser ---------------------------------------------------------------------------------------

TEST_CASE("spice connection parser cuts a whole session fed one byte at a time") {
    for (HeaderMode mode : {HeaderMode::mini, HeaderMode::full}) {
        CAPTURE(static_cast<int>(mode));
        const Session session = display_session(mode);
        SpiceConnectionParser parser;
        std::vector<SpiceWireMessage> got;
        for (const auto& m : session.messages) {
            for (std::uint8_t byte : m.bytes) {
                auto r = parser.feed(m.direction, std::span(&byte, 1));
                REQUIRE_FALSE(r.error.has_value());
                for (auto& g : r.messages) got.push_back(std::move(g));
            }
        }
        REQUIRE(got.size() == session.messages.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
            CAPTURE(i);
            CHECK(got[i].bytes == session.messages[i].bytes);
            CHECK(got[i].direction == session.messages[i].direction);
            CHECK(got[i].kind == session.messages[i].kind);
        }
        CHECK(parser.channel_type() == ChannelType::display);
        CHECK(parser.channel_id() == 0);
        CHECK(parser.header_mode() == mode);
        CHECK(parser.client().in_data_stage());
        CHECK(parser.server().in_data_stage());

        const auto& draw = got.back();
        CHECK(draw.type == server_msg::display_draw_copy);
        CHECK(draw.header_mode == mode);
        CHECK(draw.body().size() == 57 + 36 + 5120);
        CHECK(draw.serial == (mode == HeaderMode::full ? 3u : 0u));  // SURFACE_CREATE, PING, DRAW_COPY
        CHECK(got[got.size() - 2].type == client_msg::pong);
    }
}

TEST_CASE("spice connection parser handles a whole session in one chunk per direction") {
    const Session session = display_session(HeaderMode::mini);
    Bytes client_bytes, server_bytes;
    for (const auto& m : session.messages)
        (m.direction == Direction::client_to_server ? client_bytes : server_bytes)
            .insert((m.direction == Direction::client_to_server ? client_bytes : server_bytes).end(),
                    m.bytes.begin(), m.bytes.end());

    SpiceConnectionParser parser;
    // The client's whole stream arrives first: only its link message can be cut until the server's reply
    // says whether an auth mechanism follows.
    auto first = parser.feed(Direction::client_to_server, client_bytes);
    REQUIRE(first.messages.size() == 1);
    CHECK(first.messages[0].kind == SpiceMessageKind::link_mess);
    CHECK(parser.client().buffered_bytes() == client_bytes.size() - first.messages[0].bytes.size());

    auto second = parser.feed(Direction::server_to_client, server_bytes);
    REQUIRE_FALSE(second.error.has_value());
    std::size_t client_count = 0, server_count = 0;
    for (const auto& m : second.messages)
        ++(m.direction == Direction::client_to_server ? client_count : server_count);
    CHECK(client_count == 3);  // auth mechanism, ticket, PONG
    CHECK(server_count == 5);  // reply, link result, SURFACE_CREATE, PING, DRAW_COPY
    CHECK(parser.client().buffered_bytes() == 0);
    CHECK(parser.server().buffered_bytes() == 0);
}

TEST_CASE("spice stream parser waits for the peer's caps before cutting past the link message") {
    const auto stage = synthetic_link_stage(ChannelType::inputs, 0, HeaderMode::mini, 1);
    SpiceStreamParser client(Direction::client_to_server);
    client.feed(concat({stage[0].bytes, stage[2].bytes, stage[3].bytes}));
    auto m = client.next();
    REQUIRE(m.has_value());
    REQUIRE(m->has_value());
    CHECK((*m)->kind == SpiceMessageKind::link_mess);
    REQUIRE(client.link_mess().has_value());
    CHECK(client.link_mess()->channel_type == 3);

    auto waiting = client.next();
    REQUIRE(waiting.has_value());
    CHECK_FALSE(waiting->has_value());
    CHECK_FALSE(client.header_mode().has_value());

    client.learn_peer_common_caps(SpiceLinkReply::parse(stage[1].bytes)->common_caps);
    CHECK(client.header_mode() == HeaderMode::mini);
    auto auth = client.next();
    REQUIRE(auth.has_value());
    REQUIRE(auth->has_value());
    CHECK((*auth)->kind == SpiceMessageKind::auth_mechanism);
    CHECK(client.selected_auth_mechanism() == auth_mechanism::spice);
    auto ticket = client.next();
    REQUIRE(ticket->has_value());
    CHECK((*ticket)->kind == SpiceMessageKind::ticket);
    CHECK(client.in_data_stage());
}

TEST_CASE("spice stream parser bounds what it holds while waiting for the peer's link information") {
    const auto stage = synthetic_link_stage(ChannelType::inputs, 0, HeaderMode::mini, 1);
    SpiceParserLimits limits;
    limits.max_bytes_waiting_for_peer = 1000;
    const std::vector<std::uint8_t> flood(600, 0x55);

    SUBCASE("fed in small pieces: refused before the limit is passed") {
        SpiceStreamParser client(Direction::client_to_server, limits);
        client.feed(stage[0].bytes);
        REQUIRE(client.next()->has_value());  // the link message; now waiting for the server's reply
        client.feed(flood);
        CHECK_FALSE(client.next()->has_value());
        CHECK(client.buffered_bytes() == 600);
        client.feed(flood);  // 1200 > 1000
        CHECK(client.buffered_bytes() == 0);
        const auto error = client.next();
        REQUIRE_FALSE(error.has_value());
        CHECK(error.error().code == SpiceErrorCode::too_large);
        CHECK(error.error().message.find("1200 bytes arrived while waiting") != std::string::npos);
    }
    SUBCASE("in one chunk with the link message") {
        SpiceStreamParser client(Direction::client_to_server, limits);
        client.feed(concat({stage[0].bytes, flood, flood}));
        REQUIRE(client.next()->has_value());
        const auto error = client.next();
        REQUIRE_FALSE(error.has_value());
        CHECK(error.error().code == SpiceErrorCode::too_large);
    }
    SUBCASE("at the limit nothing is lost once the peer's caps arrive") {
        SpiceStreamParser client(Direction::client_to_server, limits);
        client.feed(stage[0].bytes);
        REQUIRE(client.next()->has_value());
        std::vector<std::uint8_t> rest = concat({stage[2].bytes, stage[3].bytes});
        rest.resize(1000, 0);  // auth selection, ticket, then zero bytes up to exactly the limit
        client.feed(rest);
        CHECK_FALSE(client.next()->has_value());
        client.learn_peer_common_caps(SpiceLinkReply::parse(stage[1].bytes)->common_caps);
        CHECK((*client.next())->kind == SpiceMessageKind::auth_mechanism);
        CHECK((*client.next())->kind == SpiceMessageKind::ticket);
        CHECK(client.in_data_stage());
    }
}

TEST_CASE("spice stream parser without auth selection goes straight to the ticket") {
    SpiceLinkMess mess;
    mess.channel_type = 1;
    mess.common_caps = caps_with({common_cap::auth_spice, common_cap::mini_header});
    SpiceLinkReply reply;
    reply.common_caps = caps_with({common_cap::protocol_auth_selection, common_cap::auth_spice});

    SpiceConnectionParser parser;
    SpiceLinkTicket ticket;
    auto r1 = parser.feed(Direction::client_to_server, concat({mess.encode(), ticket.encode()}));
    auto r2 = parser.feed(Direction::server_to_client,
                          concat({reply.encode(), SpiceLinkResult{}.encode(),
                                  encode_data_message(HeaderMode::full, 1, server_msg::main_init,
                                                      spice::MainInit{}.encode())}));
    REQUIRE_FALSE(r2.error.has_value());
    REQUIRE(r1.messages.size() == 1);
    // Each direction in stream order: the server's three, then the client's ticket it unblocked.
    REQUIRE(r2.messages.size() == 4);
    CHECK(r2.messages[0].kind == SpiceMessageKind::link_reply);
    CHECK(r2.messages[1].kind == SpiceMessageKind::link_result);
    CHECK(r2.messages[2].kind == SpiceMessageKind::data);
    CHECK(r2.messages[2].header_mode == HeaderMode::full);  // only the client offered the mini header
    CHECK(r2.messages[2].type == server_msg::main_init);
    CHECK(r2.messages[2].serial == 1);
    CHECK(r2.messages[3].kind == SpiceMessageKind::ticket);
    CHECK(r2.messages[3].direction == Direction::client_to_server);
}

TEST_CASE("spice stream parser rejects garbage at once") {
    SpiceConnectionParser parser;
    const std::string http = "GET / HTTP/1.1\r\n";
    auto r = parser.feed(Direction::client_to_server,
                         std::span(reinterpret_cast<const std::uint8_t*>(http.data()), 1));
    REQUIRE(r.error.has_value());
    CHECK(r.error->code == SpiceErrorCode::bad_magic);
    CHECK(r.error->message.find("client->server") != std::string::npos);
    CHECK(r.messages.empty());

    // Reported once; later bytes are ignored, not buffered.
    auto again = parser.feed(Direction::client_to_server,
                             std::span(reinterpret_cast<const std::uint8_t*>(http.data()), http.size()));
    CHECK_FALSE(again.error.has_value());
    CHECK(parser.client().failure().has_value());
    CHECK(parser.client().buffered_bytes() == 0);

    SpiceStreamParser server(Direction::server_to_client);
    server.feed(hex("52 45 44 00"));
    auto s = server.next();
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error().code == SpiceErrorCode::bad_magic);
    CHECK(server.next().error().code == SpiceErrorCode::bad_magic);  // stays failed
}

TEST_CASE("spice stream parser refuses messages above the limit without buffering them") {
    const auto stage = synthetic_link_stage(ChannelType::display, 0, HeaderMode::mini, 1);
    SpiceParserLimits limits;
    limits.max_message_bytes = 1000;
    SpiceConnectionParser parser(limits);
    for (const auto& m : stage) REQUIRE_FALSE(parser.feed(m.direction, m.bytes).error.has_value());

    auto ok = parser.feed(Direction::server_to_client,
                          encode_data_message(HeaderMode::mini, 0, 1, Bytes(994, 0)));
    REQUIRE_FALSE(ok.error.has_value());
    REQUIRE(ok.messages.size() == 1);  // exactly 1000 bytes: accepted

    Bytes header;
    SpiceMiniDataHeader{server_msg::display_draw_copy, 995}.encode(header);
    auto big = parser.feed(Direction::server_to_client, header);
    REQUIRE(big.error.has_value());
    CHECK(big.error->code == SpiceErrorCode::too_large);
    CHECK(big.error->message.find("1001") != std::string::npos);
    CHECK(big.error->message.find("1000") != std::string::npos);

    // The other direction is unaffected.
    auto pong = parser.feed(Direction::client_to_server,
                            encode_data_message(HeaderMode::mini, 0, client_msg::pong, spice::Pong{}.encode()));
    CHECK_FALSE(pong.error.has_value());
    CHECK(pong.messages.size() == 1);

    // A 4 GiB declared size in the default limits is an error too, not an allocation.
    SpiceConnectionParser fresh;
    for (const auto& m : stage) (void)fresh.feed(m.direction, m.bytes);
    Bytes huge;
    SpiceMiniDataHeader{1, 0xffffffff}.encode(huge);
    auto r = fresh.feed(Direction::server_to_client, huge);
    REQUIRE(r.error.has_value());
    CHECK(r.error->code == SpiceErrorCode::too_large);

    SpiceStreamParser link(Direction::client_to_server);
    link.feed(hex("52454451 02000000 02000000 00000100"));  // 64 KiB + 16 > default link limit
    CHECK(link.next().error().code == SpiceErrorCode::too_large);
}

TEST_CASE("spice stream parser keeps a truncated message until the rest arrives") {
    const auto stage = synthetic_link_stage(ChannelType::main, 0, HeaderMode::mini, 0);
    SpiceConnectionParser parser;
    for (const auto& m : stage) (void)parser.feed(m.direction, m.bytes);
    SpiceMessageFramer server(HeaderMode::mini);
    const Bytes init = server.frame(spice::MainInit{.session_id = 42});
    auto r = parser.feed(Direction::server_to_client, std::span(init).first(init.size() - 1));
    CHECK(r.messages.empty());
    CHECK_FALSE(r.error.has_value());
    CHECK(parser.server().buffered_bytes() == init.size() - 1);
    r = parser.feed(Direction::server_to_client, std::span(init).last(1));
    REQUIRE(r.messages.size() == 1);
    CHECK(r.messages[0].bytes == init);
}

TEST_CASE("spice stream parser stops at SASL but returns the auth selection itself") {
    auto stage = synthetic_link_stage(ChannelType::main, 0, HeaderMode::mini, 0);
    SpiceConnectionParser parser;
    (void)parser.feed(Direction::client_to_server, stage[0].bytes);
    (void)parser.feed(Direction::server_to_client, stage[1].bytes);
    auto r = parser.feed(Direction::client_to_server,
                         SpiceLinkAuthMechanism{auth_mechanism::sasl}.encode());
    REQUIRE(r.messages.size() == 1);
    CHECK(r.messages[0].kind == SpiceMessageKind::auth_mechanism);
    REQUIRE(r.error.has_value());
    CHECK(r.error->code == SpiceErrorCode::unsupported_auth);
    CHECK(r.error->message.find("SASL") != std::string::npos);
    CHECK(parser.client().failure().has_value());
    CHECK(parser.server().failure().has_value());  // the server's SASL framing is not SPICE data either
}

TEST_CASE("spice stream parser treats bytes after a refused link as an error") {
    SpiceLinkReply reply;
    reply.error = link_err::permission_denied;
    SpiceStreamParser server(Direction::server_to_client);
    server.feed(reply.encode());
    auto m = server.next();
    REQUIRE(m.has_value());
    REQUIRE(m->has_value());
    CHECK((*m)->kind == SpiceMessageKind::link_reply);
    CHECK_FALSE(server.next()->has_value());  // nothing more: the server closes
    server.feed(hex("00"));
    CHECK(server.next().error().code == SpiceErrorCode::after_close);
}

TEST_CASE("spice stream parser reports a bad link message from the peer") {
    SpiceStreamParser server(Direction::server_to_client);
    Bytes reply = SpiceLinkReply{}.encode();
    reply[16 + 4 + kSpicePubkeyBytes] = 9;  // 9 common caps in a reply that has room for none
    server.feed(reply);
    auto r = server.next();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == SpiceErrorCode::bad_link_size);
}

TEST_CASE("spice connection parser returns every byte in order under random chunking") {
    std::uint64_t seed = 0x9e3779b97f4a7c15ull;
    auto rnd = [&seed](std::uint64_t n) {  // xorshift64*: deterministic, good enough for chunk sizes
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        return (seed * 0x2545f4914f6cdd1dull) % n;
    };
    for (int round = 0; round < 20; ++round) {
        CAPTURE(round);
        const HeaderMode mode = round % 2 ? HeaderMode::mini : HeaderMode::full;
        Bytes stream[2];
        std::size_t count[2] = {0, 0};
        for (const auto& m : synthetic_link_stage(ChannelType::display, 0, mode, 1)) {
            auto& s = stream[static_cast<int>(m.direction)];
            s.insert(s.end(), m.bytes.begin(), m.bytes.end());
            ++count[static_cast<int>(m.direction)];
        }
        SpiceMessageFramer framers[2] = {SpiceMessageFramer(mode), SpiceMessageFramer(mode)};
        for (int i = 0; i < 60; ++i) {
            const int d = static_cast<int>(rnd(2));
            const std::size_t size = rnd(10) == 0 ? 70000 + rnd(70000) : rnd(300);
            Bytes body(size);
            for (auto& b : body) b = static_cast<std::uint8_t>(rnd(256));
            const Bytes m = framers[d].frame(static_cast<std::uint16_t>(1 + rnd(400)), body);
            stream[d].insert(stream[d].end(), m.begin(), m.end());
            ++count[d];
        }

        SpiceConnectionParser parser;
        Bytes got[2];
        std::size_t got_count[2] = {0, 0};
        std::size_t fed[2] = {0, 0};
        while (fed[0] < stream[0].size() || fed[1] < stream[1].size()) {
            int d = static_cast<int>(rnd(2));
            if (fed[d] == stream[d].size()) d = 1 - d;
            const std::size_t n = std::min<std::size_t>(1 + rnd(rnd(4) == 0 ? 100000 : 50), stream[d].size() - fed[d]);
            auto r = parser.feed(static_cast<Direction>(d), std::span(stream[d]).subspan(fed[d], n));
            fed[d] += n;
            REQUIRE_FALSE(r.error.has_value());
            for (const auto& m : r.messages) {
                const int md = static_cast<int>(m.direction);
                got[md].insert(got[md].end(), m.bytes.begin(), m.bytes.end());
                ++got_count[md];
            }
        }
        for (int d = 0; d < 2; ++d) {
            CHECK(got[d] == stream[d]);
            CHECK(got_count[d] == count[d]);
        }
    }
}

TEST_CASE("spice stream parser on random bytes returns a prefix of them or an error and never crashes") {
    std::uint64_t seed = 12345;
    auto rnd = [&seed](std::uint64_t n) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        return (seed >> 33) % n;
    };
    for (int round = 0; round < 200; ++round) {
        CAPTURE(round);
        SpiceParserLimits limits;
        limits.max_message_bytes = 4096;
        SpiceConnectionParser parser(limits);
        for (const auto& m : synthetic_link_stage(ChannelType::main, 0, HeaderMode::mini, 0))
            (void)parser.feed(m.direction, m.bytes);
        // Random bytes in the data stage: every mini header is plausible, so only the size limit can stop it.
        Bytes garbage(rnd(20000));
        for (auto& b : garbage) b = static_cast<std::uint8_t>(rnd(256));
        const auto d = static_cast<Direction>(rnd(2));
        Bytes got;
        bool failed = false;
        for (std::size_t at = 0; at < garbage.size();) {
            const std::size_t n = std::min<std::size_t>(1 + rnd(700), garbage.size() - at);
            auto r = parser.feed(d, std::span(garbage).subspan(at, n));
            at += n;
            for (const auto& m : r.messages) got.insert(got.end(), m.bytes.begin(), m.bytes.end());
            if (r.error) {
                CHECK(r.error->code == SpiceErrorCode::too_large);
                failed = true;
            }
        }
        REQUIRE(got.size() <= garbage.size());
        CHECK(std::equal(got.begin(), got.end(), garbage.begin()));
        if (!failed) CHECK(got.size() + (d == Direction::client_to_server ? parser.client() : parser.server())
                                                .buffered_bytes() == garbage.size());

        // The same bytes where a link message is due: refused at once for their magic.
        if (!garbage.empty() && garbage[0] != 'R') {
            SpiceConnectionParser fresh;
            auto r = fresh.feed(Direction::client_to_server, garbage);
            REQUIRE(r.error.has_value());
            CHECK(r.error->code == SpiceErrorCode::bad_magic);
            CHECK(r.messages.empty());
        }
    }
}
