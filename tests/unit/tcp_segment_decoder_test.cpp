// decode_tcp_segment: link layer -> IP -> TCP for the link types tcpdump and tshark write.
#include <doctest/doctest.h>

#include <pcap/dlt.h>

#include "captured_frames.hpp"
#include "pcap/tcp_synth.hpp"
#include "replay/tcp_segment_decoder.hpp"

using namespace spicecap;

namespace {
const std::vector<std::uint8_t> kPayload{'R', 'E', 'D', 'Q', 1, 2, 3};
}

TEST_CASE("a frame synthesized by spicecap decodes to its segment") {
    TcpStreamSynthesizer synth(spice_endpoints(0, 2, 0), TcpSynthOptions{.handshake = true});
    std::vector<std::vector<std::uint8_t>> frames;
    synth.message(Direction::client_to_server, kPayload, FrameMeta{.timestamp_ns = 1},
                  [&](const FrameMeta&, std::span<const std::uint8_t> f) { frames.emplace_back(f.begin(), f.end()); });
    REQUIRE(frames.size() == 4);  // SYN, SYN/ACK, ACK, data
    const auto syn = decode_tcp_segment(DLT_EN10MB, frames[0]);
    REQUIRE(syn);
    CHECK(syn->has(tcp_flag::syn));
    CHECK_FALSE(syn->has(tcp_flag::ack));
    const auto data = decode_tcp_segment(DLT_EN10MB, frames[3]);
    REQUIRE(data);
    CHECK(data->source.to_string() == "10.0.0.1:10002");
    CHECK(data->destination.to_string() == "10.0.0.2:5930");
    CHECK(data->seq == syn->seq + 1);
    CHECK(std::vector<std::uint8_t>(data->payload.begin(), data->payload.end()) == kPayload);
}

TEST_CASE("Ethernet with a VLAN tag and Linux cooked v2 with IPv6 decode") {
    const auto a = test::ipv4_address(127, 0, 0, 1, 40000);
    const auto b = test::ipv4_address(127, 0, 0, 1, 5930);
    const auto vlan = test::ethernet_frame(a, b, 77, tcp_flag::ack, kPayload, true);
    const auto s = decode_tcp_segment(DLT_EN10MB, vlan);
    REQUIRE(s);
    CHECK(s->seq == 77);
    CHECK(s->payload.size() == kPayload.size());

    const auto cooked = test::sll2_frame(test::ipv6_loopback(40000), test::ipv6_loopback(5930), 5, tcp_flag::ack, kPayload);
    const auto v6 = decode_tcp_segment(DLT_LINUX_SLL2, cooked);
    REQUIRE(v6);
    CHECK(v6->source.to_string() == "[::1]:40000");
    CHECK(v6->destination.port == 5930);
    CHECK(v6->payload.size() == kPayload.size());
}

TEST_CASE("raw IP and loopback link types decode") {
    const auto a = test::ipv4_address(10, 1, 2, 3, 1234);
    const auto b = test::ipv4_address(10, 1, 2, 4, 5900);
    const auto packet = test::ip_tcp_packet(a, b, 9, tcp_flag::ack, kPayload);
    CHECK(decode_tcp_segment(DLT_RAW, packet));
    CHECK(decode_tcp_segment(101, packet));  // LINKTYPE_RAW as some files carry it
    std::vector<std::uint8_t> loop{2, 0, 0, 0};
    loop.insert(loop.end(), packet.begin(), packet.end());
    CHECK(decode_tcp_segment(DLT_NULL, loop));
}

TEST_CASE("frames without a usable TCP segment say why") {
    const auto a = test::ipv4_address(127, 0, 0, 1, 40000);
    const auto b = test::ipv4_address(127, 0, 0, 1, 5930);
    auto frame = test::ethernet_frame(a, b, 1, tcp_flag::ack, kPayload);

    SUBCASE("cut by the snap length") {
        const auto cut = std::span(frame).first(frame.size() - 3);
        REQUIRE_FALSE(decode_tcp_segment(DLT_EN10MB, cut));
        CHECK(decode_tcp_segment(DLT_EN10MB, cut).error() == SegmentSkip::truncated);
        CHECK(decode_tcp_segment(DLT_EN10MB, std::span(frame).first(20)).error() == SegmentSkip::truncated);
    }
    SUBCASE("UDP") {
        frame[14 + 9] = 17;
        CHECK(decode_tcp_segment(DLT_EN10MB, frame).error() == SegmentSkip::not_tcp);
    }
    SUBCASE("an IP fragment") {
        frame[14 + 6] = 0x20;  // more fragments
        CHECK(decode_tcp_segment(DLT_EN10MB, frame).error() == SegmentSkip::ip_fragment);
    }
    SUBCASE("ARP") {
        frame[12] = 0x08;
        frame[13] = 0x06;
        CHECK(decode_tcp_segment(DLT_EN10MB, frame).error() == SegmentSkip::not_ip);
    }
    SUBCASE("an IPv4 header length below 20") {
        frame[14] = 0x44;
        CHECK(decode_tcp_segment(DLT_EN10MB, frame).error() == SegmentSkip::malformed);
    }
    SUBCASE("a TCP data offset below 20 bytes") {
        frame[14 + 20 + 12] = 0x40;
        CHECK(decode_tcp_segment(DLT_EN10MB, frame).error() == SegmentSkip::malformed);
    }
    SUBCASE("an unsupported link type") {
        CHECK(decode_tcp_segment(DLT_IEEE802_11, frame).error() == SegmentSkip::unsupported_link_type);
        CHECK_FALSE(supported_link_type(DLT_IEEE802_11));
    }
}

TEST_CASE("Ethernet padding after a short IPv4 packet is not payload") {
    const auto a = test::ipv4_address(127, 0, 0, 1, 40000);
    const auto b = test::ipv4_address(127, 0, 0, 1, 5930);
    auto frame = test::ethernet_frame(a, b, 1, tcp_flag::ack, {});
    frame.resize(60, 0);  // minimum Ethernet frame
    const auto s = decode_tcp_segment(DLT_EN10MB, frame);
    REQUIRE(s);
    CHECK(s->payload.empty());
}
