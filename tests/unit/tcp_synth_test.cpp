// SPICE -> TCP synthesis: header fields byte by byte, checksums by an independent computation,
// sequence continuity, segmentation of large messages, handshake, FIN and drop gaps.
#include <doctest/doctest.h>

#include "pcap/tcp_synth.hpp"

#include <cstdint>
#include <numeric>
#include <vector>

using namespace spicecap;

namespace {

struct Captured {
    std::uint64_t ts;
    std::vector<std::uint8_t> bytes;
};

struct Collector {
    std::vector<Captured> frames;
    FrameSink sink() {
        return [this](const FrameMeta& meta, std::span<const std::uint8_t> f) {
            frames.push_back({meta.timestamp_ns, {f.begin(), f.end()}});
        };
    }
};

std::uint16_t be16(const std::vector<std::uint8_t>& b, std::size_t off) {
    return static_cast<std::uint16_t>((b[off] << 8) | b[off + 1]);
}
std::uint32_t be32(const std::vector<std::uint8_t>& b, std::size_t off) {
    return (std::uint32_t{b[off]} << 24) | (std::uint32_t{b[off + 1]} << 16) | (std::uint32_t{b[off + 2]} << 8) |
           b[off + 3];
}

// RFC 1071 the slow, obvious way: big-endian 16-bit words, 32-bit sum, fold, complement.
std::uint16_t reference_checksum(const std::vector<std::uint8_t>& data) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < data.size(); i += 2) {
        std::uint32_t word = std::uint32_t{data[i]} << 8;
        if (i + 1 < data.size()) word |= data[i + 1];
        sum += word;
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

// A checksum verified over data that includes its own checksum field sums to zero.
bool ip_checksum_ok(const std::vector<std::uint8_t>& f) {
    return reference_checksum({f.begin() + 14, f.begin() + 34}) == 0;
}
bool tcp_checksum_ok(const std::vector<std::uint8_t>& f) {
    std::vector<std::uint8_t> pseudo(f.begin() + 26, f.begin() + 34);  // src, dst
    const std::size_t tcp_len = f.size() - 34;
    pseudo.push_back(0);
    pseudo.push_back(6);
    pseudo.push_back(static_cast<std::uint8_t>(tcp_len >> 8));
    pseudo.push_back(static_cast<std::uint8_t>(tcp_len));
    pseudo.insert(pseudo.end(), f.begin() + 34, f.end());
    return reference_checksum(pseudo) == 0;
}

std::span<const std::uint8_t> payload_of(const std::vector<std::uint8_t>& f) {
    return {f.data() + kFrameHeaderBytes, f.size() - kFrameHeaderBytes};
}

}  // namespace

TEST_CASE("address table: first session and channel id 0 use the original design's addresses") {
    const auto main = spice_endpoints(0, 1, 0);
    CHECK(main.client.ipv4 == std::array<std::uint8_t, 4>{10, 0, 0, 1});
    CHECK(main.server.ipv4 == std::array<std::uint8_t, 4>{10, 0, 0, 2});
    CHECK(main.client.port == 10001);
    CHECK(main.server.port == 5930);
    CHECK(spice_endpoints(0, 2, 0).client.port == 10002);
    CHECK(spice_endpoints(0, 3, 0).client.port == 10003);
    CHECK(spice_endpoints(0, 4, 0).client.port == 10004);
    CHECK(spice_endpoints(0, 5, 0).client.port == 10005);
    CHECK(main.client.mac[0] == 0x02);  // locally administered, unicast
    CHECK(main.client.mac != main.server.mac);
    CHECK(spice_endpoints(0, 1, 0, 6000).server.port == 6000);
}

TEST_CASE("address table: second monitor and second session are distinct streams") {
    const auto display0 = spice_endpoints(0, 2, 0);
    const auto display1 = spice_endpoints(0, 2, 1);
    CHECK(display1.client.port != display0.client.port);
    CHECK(display1.client.port == 10102);
    const auto other_session = spice_endpoints(1, 2, 0);
    CHECK(other_session.client.ipv4 == std::array<std::uint8_t, 4>{10, 0, 1, 1});
    CHECK(other_session.server.ipv4 == std::array<std::uint8_t, 4>{10, 0, 1, 2});
    CHECK(spice_endpoints(300, 2, 0).client.ipv4 == std::array<std::uint8_t, 4>{10, 1, 44, 1});
}

TEST_CASE("one message is one Ethernet/IPv4/TCP frame with exact header fields") {
    TcpStreamSynthesizer synth(spice_endpoints(0, 2, 0));
    Collector out;
    const std::vector<std::uint8_t> payload{'R', 'E', 'D', 'Q', 1, 2, 3};
    synth.message(Direction::client_to_server, payload, FrameMeta{.timestamp_ns = 1'700'000'000'123'456'789ull}, out.sink());
    REQUIRE(out.frames.size() == 1);
    const auto& f = out.frames[0].bytes;
    CHECK(out.frames[0].ts == 1'700'000'000'123'456'789ull);
    REQUIRE(f.size() == kFrameHeaderBytes + payload.size());
    // Ethernet: dst = server MAC, src = client MAC, IPv4.
    CHECK(std::vector<std::uint8_t>(f.begin(), f.begin() + 6) == std::vector<std::uint8_t>{2, 0, 10, 0, 0, 2});
    CHECK(std::vector<std::uint8_t>(f.begin() + 6, f.begin() + 12) == std::vector<std::uint8_t>{2, 0, 10, 0, 0, 1});
    CHECK(be16(f, 12) == 0x0800);
    // IPv4.
    CHECK(f[14] == 0x45);
    CHECK(be16(f, 16) == 20 + 20 + payload.size());
    CHECK(be16(f, 20) == 0x4000);  // DF, no fragment offset
    CHECK(f[22] == 64);            // TTL
    CHECK(f[23] == 6);             // TCP
    CHECK(std::vector<std::uint8_t>(f.begin() + 26, f.begin() + 34) ==
          std::vector<std::uint8_t>{10, 0, 0, 1, 10, 0, 0, 2});
    CHECK(ip_checksum_ok(f));
    // TCP.
    CHECK(be16(f, 34) == 10002);
    CHECK(be16(f, 36) == 5930);
    CHECK(be32(f, 38) == synth.next_sequence(Direction::client_to_server) - payload.size());
    CHECK(be32(f, 42) == synth.next_sequence(Direction::server_to_client));
    CHECK(f[46] == 0x50);         // data offset 5 words
    CHECK(f[47] == (0x10 | 0x08));  // ACK | PSH
    CHECK(be16(f, 48) == 65535);
    CHECK(tcp_checksum_ok(f));
    CHECK(std::equal(payload.begin(), payload.end(), payload_of(f).begin()));
}

TEST_CASE("checksums are right for odd lengths and every payload size up to 2 KiB") {
    TcpStreamSynthesizer synth(spice_endpoints(7, 4, 3));
    Collector out;
    std::vector<std::uint8_t> payload;
    for (std::size_t n = 1; n <= 2048; ++n) {
        payload.push_back(static_cast<std::uint8_t>(n * 37 + 11));
        synth.message(n % 2 ? Direction::client_to_server : Direction::server_to_client, payload, FrameMeta{.timestamp_ns = n},
                      out.sink());
    }
    REQUIRE(out.frames.size() == 2048);
    std::size_t bad = 0;
    for (const auto& f : out.frames) bad += !ip_checksum_ok(f.bytes) || !tcp_checksum_ok(f.bytes);
    CHECK(bad == 0);
}

TEST_CASE("seq and ack stay continuous across 1000 messages in both directions and IPv4 ids increment") {
    TcpStreamSynthesizer synth(spice_endpoints(0, 1, 0));
    Collector out;
    std::uint32_t expected_seq[2] = {0, 0};
    bool seen[2] = {false, false};
    for (int i = 0; i < 1000; ++i) {
        const auto dir = (i % 3 == 0) ? Direction::server_to_client : Direction::client_to_server;
        std::vector<std::uint8_t> payload(static_cast<std::size_t>(6 + (i * 13) % 300), static_cast<std::uint8_t>(i));
        synth.message(dir, payload, FrameMeta{.timestamp_ns = static_cast<std::uint64_t>(i)}, out.sink());
    }
    REQUIRE(out.frames.size() == 1000);
    std::uint16_t last_id[2] = {0, 0};
    for (const auto& cap : out.frames) {
        const auto& f = cap.bytes;
        const int d = be16(f, 34) == 5930 ? 1 : 0;  // source port 5930: server to client
        const std::uint32_t seq = be32(f, 38);
        if (seen[d]) {
            CHECK(seq == expected_seq[d]);
            CHECK(be16(f, 18) == static_cast<std::uint16_t>(last_id[d] + 1));
        }
        seen[d] = true;
        last_id[d] = be16(f, 18);
        expected_seq[d] = seq + static_cast<std::uint32_t>(f.size() - kFrameHeaderBytes);
        // The ack is the other direction's next sequence number at this point.
        if (seen[1 - d]) CHECK(be32(f, 42) == expected_seq[1 - d]);
    }
    CHECK(expected_seq[0] == synth.next_sequence(Direction::client_to_server));
    CHECK(expected_seq[1] == synth.next_sequence(Direction::server_to_client));
}

TEST_CASE("a 5 MiB message is split into segments that concatenate back to the original") {
    std::vector<std::uint8_t> message(5 * 1024 * 1024);
    std::uint32_t x = 12345;
    for (auto& b : message) b = static_cast<std::uint8_t>((x = x * 1103515245 + 12345) >> 16);
    TcpStreamSynthesizer synth(spice_endpoints(0, 2, 0));
    Collector out;
    const std::uint32_t first_seq = synth.next_sequence(Direction::server_to_client);
    synth.message(Direction::server_to_client, message, FrameMeta{.timestamp_ns = 42}, out.sink());
    const std::size_t expected_segments = (message.size() + kMaxSegmentPayload - 1) / kMaxSegmentPayload;
    REQUIRE(out.frames.size() == expected_segments);
    std::vector<std::uint8_t> joined;
    std::uint32_t seq = first_seq;
    for (std::size_t i = 0; i < out.frames.size(); ++i) {
        const auto& f = out.frames[i].bytes;
        CHECK(be32(f, 38) == seq);
        CHECK(be16(f, 16) <= 65535);
        CHECK(((f[47] & 0x08) != 0) == (i + 1 == out.frames.size()));  // PSH only on the last
        CHECK(tcp_checksum_ok(f));
        const auto p = payload_of(f);
        CHECK(p.size() <= kMaxSegmentPayload);
        joined.insert(joined.end(), p.begin(), p.end());
        seq += static_cast<std::uint32_t>(p.size());
    }
    CHECK(joined == message);
}

TEST_CASE("handshake and FIN exchange frame a whole conversation and a reconnection gets new sequence numbers") {
    TcpStreamSynthesizer synth(spice_endpoints(0, 3, 0), TcpSynthOptions{.handshake = true});
    Collector out;
    const std::vector<std::uint8_t> hello{1, 2, 3, 4};
    synth.message(Direction::client_to_server, hello, FrameMeta{.timestamp_ns = 10}, out.sink());
    REQUIRE(out.frames.size() == 4);
    const auto flags = [&](std::size_t i) { return out.frames[i].bytes[47]; };
    CHECK(flags(0) == 0x02);  // SYN
    CHECK(flags(1) == 0x12);  // SYN/ACK
    CHECK(flags(2) == 0x10);  // ACK
    CHECK(flags(3) == 0x18);  // data
    const std::uint32_t client_isn = be32(out.frames[0].bytes, 38);
    const std::uint32_t server_isn = be32(out.frames[1].bytes, 38);
    CHECK(be32(out.frames[1].bytes, 42) == client_isn + 1);
    CHECK(be32(out.frames[2].bytes, 42) == server_isn + 1);
    CHECK(be32(out.frames[3].bytes, 38) == client_isn + 1);
    for (const auto& f : out.frames) CHECK(tcp_checksum_ok(f.bytes));

    synth.close(FrameMeta{.timestamp_ns = 20}, out.sink());
    REQUIRE(out.frames.size() == 7);
    CHECK(flags(4) == 0x11);  // FIN/ACK from client
    CHECK(flags(5) == 0x11);  // FIN/ACK from server
    CHECK(flags(6) == 0x10);  // final ACK
    CHECK(be32(out.frames[4].bytes, 38) == client_isn + 1 + hello.size());
    CHECK(be32(out.frames[5].bytes, 42) == client_isn + 1 + hello.size() + 1);
    CHECK(be32(out.frames[6].bytes, 42) == server_isn + 1 + 1);

    synth.message(Direction::client_to_server, hello, FrameMeta{.timestamp_ns = 30}, out.sink());
    REQUIRE(out.frames.size() == 11);
    CHECK(flags(7) == 0x02);
    CHECK(be32(out.frames[7].bytes, 38) != client_isn);
}

TEST_CASE("a drop gap advances the sequence number without emitting") {
    TcpStreamSynthesizer synth(spice_endpoints(0, 2, 0));
    Collector out;
    const std::vector<std::uint8_t> a(100, 0xaa);
    synth.message(Direction::server_to_client, a, FrameMeta{.timestamp_ns = 1}, out.sink());
    synth.skip(Direction::server_to_client, 5000);
    synth.message(Direction::server_to_client, a, FrameMeta{.timestamp_ns = 2}, out.sink());
    synth.message(Direction::client_to_server, a, FrameMeta{.timestamp_ns = 3}, out.sink());
    REQUIRE(out.frames.size() == 3);
    CHECK(be32(out.frames[1].bytes, 38) == be32(out.frames[0].bytes, 38) + 100 + 5000);
    CHECK(be32(out.frames[2].bytes, 42) == be32(out.frames[1].bytes, 38) + 100);
}

TEST_CASE("empty payloads emit nothing") {
    TcpStreamSynthesizer synth(spice_endpoints(0, 2, 0));
    Collector out;
    synth.message(Direction::client_to_server, {}, FrameMeta{.timestamp_ns = 1}, out.sink());
    CHECK(out.frames.empty());
}

TEST_CASE("handshake and FIN frames are marked synthesized and message frames keep the meta they were given") {
    TcpStreamSynthesizer synth(spice_endpoints(0, 3, 0), TcpSynthOptions{.handshake = true});
    std::vector<FrameMeta> metas;
    const FrameSink sink = [&](const FrameMeta& meta, std::span<const std::uint8_t>) { metas.push_back(meta); };
    const std::vector<std::uint8_t> payload(100, 1);
    synth.message(Direction::client_to_server, payload,
                  FrameMeta{.timestamp_ns = 5, .link_stage = LinkStageRole::part}, sink);
    REQUIRE(metas.size() == 4);  // SYN, SYN/ACK, ACK, the message
    for (int i = 0; i < 3; ++i) {
        CHECK(metas[i].origin == FrameOrigin::tcp_handshake);
        CHECK(metas[i].link_stage == LinkStageRole::part);  // the handshake belongs to what it opens
        CHECK(metas[i].timestamp_ns == 5);
    }
    CHECK(metas[3].origin == FrameOrigin::record);
    CHECK(metas[0].direction == Direction::client_to_server);
    CHECK(metas[1].direction == Direction::server_to_client);
    CHECK(synth.close(FrameMeta{.timestamp_ns = 9}, sink));
    REQUIRE(metas.size() == 7);
    for (int i = 4; i < 7; ++i) CHECK(metas[i].origin == FrameOrigin::tcp_close);
    CHECK_FALSE(synth.close(FrameMeta{.timestamp_ns = 10}, sink));  // nothing open, nothing emitted
}
