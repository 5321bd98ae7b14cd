// SpiceChannelFollower: the framing logic of `spicecap proxy` and `spicecap replay`, without sockets.
#include <doctest/doctest.h>

#include <random>

#include "recording_channel_sink.hpp"
#include "follow/spice_channel_follower.hpp"
#include "spice_conversation.hpp"

using namespace spicecap;
using spicecap::test::RecordingChannelSink;
using Kind = RecordingChannelSink::Event::Kind;

namespace {

constexpr auto c2s = Direction::client_to_server;
constexpr auto s2c = Direction::server_to_client;
const SpiceChannelKey display0{ChannelType::display, 0};

/// Feeds every message of `conversation` in wire order, each cut into random chunks of 1..max_chunk bytes.
void feed_in_chunks(SpiceChannelFollower& follower, const test::SpiceConversation& conversation, std::size_t max_chunk,
                    unsigned seed) {
    std::mt19937 random(seed);
    std::uint64_t time = 1000;
    for (const auto& m : conversation.messages) {
        std::span<const std::uint8_t> rest(m.bytes);
        while (!rest.empty()) {
            const std::size_t n = std::min<std::size_t>(rest.size(), 1 + random() % max_chunk);
            follower.feed(m.direction, rest.first(n), ++time);
            rest = rest.subspan(n);
        }
    }
}

}  // namespace

TEST_CASE("the follower reports every message of a channel fed in arbitrary chunks") {
    for (const HeaderMode mode : {HeaderMode::mini, HeaderMode::full}) {
        for (const std::size_t max_chunk : {std::size_t{1}, std::size_t{7}, std::size_t{1500}, std::size_t{1} << 20}) {
            const auto conversation = test::display_conversation(mode);
            RecordingChannelSink sink;
            {
                SpiceChannelFollower follower(sink);
                feed_in_chunks(follower, conversation, max_chunk, 42);
                CHECK(follower.reporting());
                CHECK(follower.channel() == display0);
                CHECK(follower.header_mode() == mode);
                CHECK(follower.reported(s2c).messages == conversation.of(s2c).size());
                CHECK(follower.reported(c2s).bytes == conversation.bytes(c2s).size());
                follower.finish();
            }
            const auto events = sink.events();
            REQUIRE(events.size() == conversation.messages.size() + 2);
            CHECK(events.front().kind == Kind::opened);
            CHECK(events.front().mode == mode);
            CHECK(events.back().kind == Kind::closed);
            CHECK(sink.messages(display0, c2s) == conversation.of(c2s));
            CHECK(sink.messages(display0, s2c) == conversation.of(s2c));
        }
    }
}

TEST_CASE("the client link message waits in the follower until the server reply gives the header mode") {
    const auto conversation = test::display_conversation(HeaderMode::mini);
    RecordingChannelSink sink;
    SpiceChannelFollower follower(sink);
    const FollowEvents first = follower.feed(c2s, conversation.messages[0].bytes, 111);
    CHECK_FALSE(first.opened);
    CHECK(sink.events().empty());
    CHECK(follower.channel() == display0);  // known from the link message alone

    const FollowEvents second = follower.feed(s2c, conversation.messages[1].bytes, 222);
    CHECK(second.opened);
    const auto events = sink.events();
    REQUIRE(events.size() == 3);
    CHECK(events[0].kind == Kind::opened);
    // The held link message keeps the time it passed, not the time the reply came.
    CHECK(events[1].bytes == conversation.messages[0].bytes);
    CHECK(events[1].timestamp_ns == 111);
    CHECK(events[2].bytes == conversation.messages[1].bytes);
    CHECK(events[2].timestamp_ns == 222);
}

TEST_CASE("the follower reports full headers when one side lacks the mini header capability") {
    SpiceLinkMess mess;
    mess.channel_type = 3;  // inputs
    mess.channel_id = 0;
    mess.common_caps = caps_with({common_cap::auth_spice, common_cap::mini_header});
    SpiceLinkReply reply;
    reply.common_caps = caps_with({common_cap::auth_spice});  // an old server: no mini header, no auth selection
    RecordingChannelSink sink;
    SpiceChannelFollower follower(sink);
    follower.feed(c2s, mess.encode(), 1);
    follower.feed(s2c, reply.encode(), 2);
    follower.feed(c2s, SpiceLinkTicket{}.encode(), 3);
    follower.feed(s2c, SpiceLinkResult{}.encode(), 4);
    SpiceMessageFramer server(HeaderMode::full);
    const auto init = server.frame(server_msg::inputs_init, std::vector<std::uint8_t>{0, 0});
    follower.feed(s2c, init, 5);
    const auto events = sink.events();
    REQUIRE(events.size() == 6);
    CHECK(events[0].mode == HeaderMode::full);
    CHECK(events[0].channel == SpiceChannelKey{ChannelType::inputs, 0});
    CHECK(events[5].bytes == init);
}

TEST_CASE("bytes that are not SPICE are not reported and the follower says why") {
    RecordingChannelSink sink;
    SpiceChannelFollower follower(sink);
    const std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    const FollowEvents events = follower.feed(c2s, std::span(reinterpret_cast<const std::uint8_t*>(http.data()), http.size()), 1);
    REQUIRE(events.stopped);
    CHECK(events.stopped->find("REDQ") != std::string::npos);
    CHECK_FALSE(follower.channel());
    // Later bytes change nothing and are not reported again.
    CHECK_FALSE(follower.feed(s2c, std::vector<std::uint8_t>{1, 2, 3}, 2).stopped);
    follower.finish();
    CHECK(sink.events().empty());
}

TEST_CASE("a message above the limit stops reporting and closes the channel at once") {
    const auto conversation = test::display_conversation(HeaderMode::mini, 200'000);
    RecordingChannelSink sink;
    SpiceChannelFollower follower(sink, SpiceParserLimits{.max_message_bytes = 100'000});
    std::optional<std::string> stopped;
    for (const auto& m : conversation.messages)
        if (auto e = follower.feed(m.direction, m.bytes, 1); e.stopped) stopped = e.stopped;
    REQUIRE(stopped);
    CHECK(stopped->find("above the limit") != std::string::npos);
    CHECK_FALSE(follower.reporting());
    CHECK(follower.stop_reason() == stopped);
    const auto events = sink.events();
    REQUIRE(!events.empty());
    CHECK(events.back().kind == Kind::closed);
    // Everything before the big DRAW_COPY was reported: link stage (5), SURFACE_CREATE, PING, PONG.
    CHECK(sink.count(Kind::message) == 8);
    follower.finish();
    CHECK(sink.count(Kind::closed) == 1);
}

TEST_CASE("a channel the sink refuses is not reported at all") {
    const auto conversation = test::display_conversation(HeaderMode::mini);
    RecordingChannelSink sink;
    sink.refuse.insert(display0);
    SpiceChannelFollower follower(sink);
    std::optional<std::string> stopped;
    for (const auto& m : conversation.messages)
        if (auto e = follower.feed(m.direction, m.bytes, 1); e.stopped) stopped = e.stopped;
    CHECK(stopped == "refused by the test");
    follower.finish();
    CHECK(sink.events().empty());
}

TEST_CASE("missing bytes stop reporting and close the channel") {
    const auto conversation = test::display_conversation(HeaderMode::mini);
    RecordingChannelSink sink;
    SpiceChannelFollower follower(sink);
    for (std::size_t i = 0; i < 6; ++i) follower.feed(conversation.messages[i].direction, conversation.messages[i].bytes, 1);
    const auto why = follower.lose_bytes(s2c, 1448);
    REQUIRE(why);
    CHECK(why->find("1448 bytes of the server->client stream are missing") != std::string::npos);
    CHECK_FALSE(follower.lose_bytes(s2c, 10));  // said once
    CHECK(sink.events().back().kind == Kind::closed);
}

TEST_CASE("a connection that ends before the server's link reply reports nothing") {
    const auto conversation = test::display_conversation(HeaderMode::mini);
    RecordingChannelSink sink;
    {
        SpiceChannelFollower follower(sink);
        follower.feed(c2s, conversation.messages[0].bytes, 1);
    }
    CHECK(sink.events().empty());
}

TEST_CASE("a SASL connection is reported up to the auth mechanism choice") {
    SpiceLinkMess mess;
    mess.channel_type = 1;
    mess.common_caps = caps_with({common_cap::protocol_auth_selection, common_cap::auth_sasl, common_cap::mini_header});
    SpiceLinkReply reply;
    reply.common_caps = mess.common_caps;
    RecordingChannelSink sink;
    SpiceChannelFollower follower(sink);
    follower.feed(c2s, mess.encode(), 1);
    follower.feed(s2c, reply.encode(), 2);
    const FollowEvents e = follower.feed(c2s, SpiceLinkAuthMechanism{.mechanism = auth_mechanism::sasl}.encode(), 3);
    REQUIRE(e.stopped);
    CHECK(e.stopped->find("SASL") != std::string::npos);
    CHECK(sink.count(Kind::message) == 3);
    CHECK(sink.count(Kind::closed) == 1);
}

TEST_CASE("the follower says where link-stage messages end within a read") {
    const auto conversation = test::display_conversation(HeaderMode::mini);
    const auto& m = conversation.messages;  // link, reply, auth mechanism, ticket, result, data...
    RecordingChannelSink sink;
    SpiceChannelFollower follower(sink);
    CHECK(follower.in_link_stage(c2s));
    CHECK(follower.feed(c2s, m[0].bytes, 1).link_stage_ends.empty());  // one whole message: no cut inside
    CHECK(follower.feed(s2c, m[1].bytes, 2).link_stage_ends.empty());

    // Auth mechanism and ticket arrive in one read, with the first byte of nothing after them.
    std::vector<std::uint8_t> both = m[2].bytes;
    both.insert(both.end(), m[3].bytes.begin(), m[3].bytes.end());
    CHECK(follower.feed(c2s, both, 3).link_stage_ends == std::vector<std::size_t>{4});
    CHECK_FALSE(follower.in_link_stage(c2s));  // the ticket ends the client's link stage

    // The link result and the first data messages in one read: cut after the result only.
    std::vector<std::uint8_t> server = m[4].bytes;
    server.insert(server.end(), m[5].bytes.begin(), m[5].bytes.end());
    server.insert(server.end(), m[6].bytes.begin(), m[6].bytes.end());
    CHECK(follower.in_link_stage(s2c));
    CHECK(follower.feed(s2c, server, 4).link_stage_ends == std::vector<std::size_t>{4});
    CHECK_FALSE(follower.in_link_stage(s2c));

    // A link message split over reads: the cut falls in the read that completes it.
    RecordingChannelSink sink2;
    SpiceChannelFollower split(sink2);
    const auto& link = m[0].bytes;
    std::vector<std::uint8_t> tail(link.begin() + 10, link.end());
    tail.push_back(0xee);  // a byte of something after it
    CHECK(split.feed(c2s, std::span(link).first(10), 1).link_stage_ends.empty());
    CHECK(split.feed(c2s, tail, 2).link_stage_ends == std::vector<std::size_t>{link.size() - 10});
}
