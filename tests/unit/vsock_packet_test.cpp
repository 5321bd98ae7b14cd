// USB vsock packet parsing: round trips, the exact wire layout, and every way bytes can be wrong.
// The malformed-input cases parse from heap buffers of exactly the tested size, so an over-read
// shows up under AddressSanitizer (SPICECAP_SANITIZE=ON) as a crash, not a silent pass.
#include "vsock/vsock_packet.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace spicecap::vsock;

namespace {

using Bytes = std::vector<std::uint8_t>;

std::span<const std::uint8_t> as_bytes(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// A heap copy of bytes[0, n) with nothing after it: any read past n is an ASan error.
struct ExactBuffer {
    explicit ExactBuffer(std::span<const std::uint8_t> bytes)
        : size(bytes.size()), data(new std::uint8_t[bytes.size()]) {
        if (size) std::memcpy(data.get(), bytes.data(), size);
    }
    std::span<const std::uint8_t> span() const { return {data.get(), size}; }
    std::size_t size;
    std::unique_ptr<std::uint8_t[]> data;
};

struct Parsed {
    std::vector<Packet> packets;
    std::optional<PacketError> error;
    std::size_t consumed = 0;
};

Parsed parse_all(std::span<const std::uint8_t> transfer) {
    Parsed parsed;
    TransferPackets packets{transfer};
    for (const Packet& packet : packets) parsed.packets.push_back(packet);
    parsed.error = packets.error();
    parsed.consumed = packets.consumed();
    return parsed;
}

// One transfer holding every packet type, as a real session would send them (Sync last).
Bytes session_transfer() {
    const Address ssh{3, 2, 22, 5001};
    Bytes transfer;
    append_packet(transfer, PacketType::connect, ssh);
    append_packet(transfer, PacketType::accept, ssh);
    append_packet(transfer, PacketType::data, ssh, as_bytes("hello, world"));
    append_packet(transfer, PacketType::data, Address{}, as_bytes("control"));
    append_packet(transfer, PacketType::echo, Address{}, as_bytes("ping"));
    append_packet(transfer, PacketType::echo_reply, Address{}, as_bytes("ping"));
    append_packet(transfer, PacketType::pause, Address{}, pause_payload(true));
    append_packet(transfer, PacketType::finish, ssh);
    append_packet(transfer, PacketType::reset, ssh);
    append_packet(transfer, PacketType::sync, Address{}, as_bytes(sync_payload({1, std::nullopt})));
    return transfer;
}

}  // namespace

TEST_CASE("vsock packet: the header is 24 packed little-endian bytes in Fuchsia's field order") {
    Header header = Header::make(PacketType::data, Address{0x11223344, 0x55667788, 0x01020304, 0x0a0b0c0d});
    header.payload_len = 0xdeadbeef;
    const auto wire = encode_header(header);
    const Bytes expected{
        'f',  'f',  'x',  'D',                   // magic, type
        0x44, 0x33, 0x22, 0x11,                  // device_cid
        0x88, 0x77, 0x66, 0x55,                  // host_cid
        0x04, 0x03, 0x02, 0x01,                  // device_port
        0x0d, 0x0c, 0x0b, 0x0a,                  // host_port
        0xef, 0xbe, 0xad, 0xde,                  // payload_len
    };
    CHECK(Bytes(wire.begin(), wire.end()) == expected);
    const auto parsed = parse_header(wire);
    REQUIRE(parsed);
    CHECK(*parsed == header);
}

TEST_CASE("vsock packet: the worked example of docs/formats.md decodes as documented") {
    // Data from host 2:5001 to device 3:22 with the 12 bytes "hello, world".
    const Bytes wire{0x66, 0x66, 0x78, 0x44, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00,
                     0x89, 0x13, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 'h',  'e',  'l',  'l',  'o',  ',',  ' ',  'w',
                     'o',  'r',  'l',  'd'};
    const auto packet = parse_packet(wire);
    REQUIRE(packet);
    CHECK(packet->header.type == PacketType::data);
    CHECK(packet->header.address() == Address{3, 2, 22, 5001});
    CHECK(packet->header.payload_len == 12);
    CHECK(std::string(packet->payload.begin(), packet->payload.end()) == "hello, world");
    CHECK(packet->size() == wire.size());
}

TEST_CASE("vsock packet: every packet type round-trips with its letter and name") {
    struct Expect {
        PacketType type;
        char letter;
        std::string_view name;
    };
    const Expect expected[] = {
        {PacketType::sync, 'S', "Sync"},      {PacketType::connect, 'C', "Connect"},
        {PacketType::accept, 'A', "Accept"},  {PacketType::finish, 'F', "Finish"},
        {PacketType::reset, 'R', "Reset"},    {PacketType::data, 'D', "Data"},
        {PacketType::echo, 'E', "Echo"},      {PacketType::echo_reply, 'e', "EchoReply"},
        {PacketType::pause, 'X', "Pause"},
    };
    REQUIRE(std::size(expected) == all_packet_types.size());
    for (std::size_t i = 0; i < all_packet_types.size(); ++i) {
        const Expect& e = expected[i];
        CAPTURE(e.name);
        CHECK(all_packet_types[i] == e.type);
        CHECK(static_cast<char>(e.type) == e.letter);
        CHECK(packet_type_name(e.type) == e.name);
        CHECK(packet_type_from_byte(static_cast<std::uint8_t>(e.letter)) == e.type);

        const Address address{3 + static_cast<std::uint32_t>(i), 2, 1000 + static_cast<std::uint32_t>(i), 7};
        const std::string payload = std::string(e.name) + " payload";
        Bytes transfer;
        append_packet(transfer, e.type, address, as_bytes(payload));
        REQUIRE(transfer.size() == Header::size + payload.size());
        CHECK(transfer[3] == static_cast<std::uint8_t>(e.letter));

        const auto packet = parse_packet(transfer);
        REQUIRE(packet);
        CHECK(packet->header.magic == Header::expected_magic);
        CHECK(packet->header.type == e.type);
        CHECK(packet->header.address() == address);
        CHECK(packet->header.payload_len == payload.size());
        CHECK(std::string(packet->payload.begin(), packet->payload.end()) == payload);
        CHECK(encode_header(packet->header) == encode_header(Header{packet->header}));
    }
}

TEST_CASE("vsock packet: only the nine type letters are known") {
    int known = 0;
    for (int byte = 0; byte < 256; ++byte) {
        if (const auto type = packet_type_from_byte(static_cast<std::uint8_t>(byte))) {
            ++known;
            CHECK(static_cast<std::uint8_t>(*type) == byte);
        }
    }
    CHECK(known == 9);
}

TEST_CASE("vsock packet: several packets in one transfer come out in order") {
    const Bytes transfer = session_transfer();
    const Parsed parsed = parse_all(transfer);
    CHECK_FALSE(parsed.error);
    CHECK(parsed.consumed == transfer.size());
    REQUIRE(parsed.packets.size() == 10);
    const PacketType order[] = {PacketType::connect, PacketType::accept, PacketType::data,  PacketType::data,
                                PacketType::echo,    PacketType::echo_reply, PacketType::pause, PacketType::finish,
                                PacketType::reset,   PacketType::sync};
    for (std::size_t i = 0; i < parsed.packets.size(); ++i) CHECK(parsed.packets[i].header.type == order[i]);
    CHECK(std::string(parsed.packets[2].payload.begin(), parsed.packets[2].payload.end()) == "hello, world");
    CHECK(parsed.packets[3].header.address().is_control());
    CHECK_FALSE(parsed.packets[2].header.address().is_control());
    CHECK(parse_pause_payload(parsed.packets[6].payload) == true);
    CHECK(parse_sync_payload(parsed.packets[9].payload) == SyncVersion{1, std::nullopt});

    // Payload views point into the transfer, right after their own header.
    CHECK(parsed.packets[2].payload.data() == transfer.data() + 2 * Header::size + Header::size);
}

TEST_CASE("vsock packet: an empty transfer has no packets and no error but an empty buffer is no packet") {
    const Parsed parsed = parse_all({});
    CHECK(parsed.packets.empty());
    CHECK_FALSE(parsed.error);
    CHECK(parsed.consumed == 0);

    const auto packet = parse_packet({});
    REQUIRE_FALSE(packet);
    CHECK(packet.error() == PacketError{PacketErrorKind::truncated_header, 0, 0, 0});
}

TEST_CASE("vsock packet: a 10-byte header is truncated") {
    Bytes transfer;
    append_packet(transfer, PacketType::connect, Address{3, 2, 22, 5001});
    const ExactBuffer ten{std::span{transfer}.first(10)};
    const auto packet = parse_packet(ten.span());
    REQUIRE_FALSE(packet);
    CHECK(packet.error().kind == PacketErrorKind::truncated_header);
    CHECK(packet.error().available == 10);
    CHECK(packet.error().describe() == "truncated header at offset 0: 10 of 24 bytes");
}

TEST_CASE("vsock packet: bad magic stops the transfer at that packet after the good ones") {
    Bytes transfer;
    append_packet(transfer, PacketType::data, Address{3, 2, 22, 5001}, as_bytes("one"));
    const std::size_t bad_at = transfer.size();
    append_packet(transfer, PacketType::data, Address{3, 2, 22, 5001}, as_bytes("two"));
    append_packet(transfer, PacketType::data, Address{3, 2, 22, 5001}, as_bytes("three"));
    transfer[bad_at + 1] = 'F';  // "fFx"

    const ExactBuffer exact{transfer};
    const Parsed parsed = parse_all(exact.span());
    REQUIRE(parsed.packets.size() == 1);
    CHECK(std::string(parsed.packets[0].payload.begin(), parsed.packets[0].payload.end()) == "one");
    REQUIRE(parsed.error);
    CHECK(parsed.error->kind == PacketErrorKind::bad_magic);
    CHECK(parsed.error->offset == bad_at);
    CHECK(parsed.consumed == bad_at);
    CHECK(parsed.error->describe() == "bad magic at offset 27 (expected \"ffx\")");
}

TEST_CASE("vsock packet: an unknown type letter is an error carrying the byte") {
    Bytes transfer;
    append_packet(transfer, PacketType::data, Address{}, as_bytes("x"));
    transfer[3] = 'Q';
    const auto packet = parse_packet(transfer);
    REQUIRE_FALSE(packet);
    CHECK(packet.error().kind == PacketErrorKind::unknown_type);
    CHECK(packet.error().value == 'Q');
    CHECK(packet.error().describe() == "unknown packet type 0x51 at offset 0");
}

TEST_CASE("vsock packet: payload_len past the end of the transfer is an error and never a read") {
    Bytes transfer;
    append_packet(transfer, PacketType::data, Address{3, 2, 22, 5001}, as_bytes("0123456789"));
    for (const std::uint32_t claimed : {11u, 100u, 0x7fffffffu, 0xffffffffu}) {
        CAPTURE(claimed);
        Header header = *parse_header(transfer);
        header.payload_len = claimed;
        const auto wire = encode_header(header);
        std::copy(wire.begin(), wire.end(), transfer.begin());
        const ExactBuffer exact{transfer};
        const auto packet = parse_packet(exact.span());
        REQUIRE_FALSE(packet);
        CHECK(packet.error().kind == PacketErrorKind::payload_past_end);
        CHECK(packet.error().value == claimed);
        CHECK(packet.error().available == transfer.size());
    }
    const auto message = parse_packet(transfer).error().describe();
    CHECK(message == "payload_len 4294967295 runs past the end of the buffer (10 bytes after the header at offset 0)");
}

TEST_CASE("vsock packet: every truncation of a valid transfer parses the whole packets and flags the cut one") {
    const Bytes transfer = session_transfer();
    // Offsets where a packet ends: a cut there leaves a shorter but valid transfer.
    std::vector<std::size_t> boundaries{0};
    for (const Packet& packet : TransferPackets{transfer}) boundaries.push_back(boundaries.back() + packet.size());
    REQUIRE(boundaries.back() == transfer.size());

    for (std::size_t cut = 0; cut < transfer.size(); ++cut) {
        CAPTURE(cut);
        const ExactBuffer prefix{std::span{transfer}.first(cut)};
        const Parsed parsed = parse_all(prefix.span());
        // Whole packets before the cut come out; the last boundary at or before it is where parsing stops.
        const auto last_whole = std::upper_bound(boundaries.begin(), boundaries.end(), cut) - 1;
        CHECK(parsed.packets.size() == static_cast<std::size_t>(last_whole - boundaries.begin()));
        CHECK(parsed.consumed == *last_whole);
        if (*last_whole == cut) {
            CHECK_FALSE(parsed.error);
        } else {
            REQUIRE(parsed.error);
            CHECK(parsed.error->offset == *last_whole);
            CHECK(parsed.error->available == cut - *last_whole);
            const bool header_cut = cut - *last_whole < Header::size;
            CHECK(parsed.error->kind ==
                  (header_cut ? PacketErrorKind::truncated_header : PacketErrorKind::payload_past_end));
        }
    }
}

TEST_CASE("vsock packet: random bytes never over-read and always account for every byte") {
    std::mt19937 rng(20250101);  // fixed seed: a failure is reproducible
    const Bytes valid = session_transfer();
    for (int round = 0; round < 20000; ++round) {
        Bytes bytes;
        if (round % 2 == 0) {
            bytes.resize(rng() % 200);
            for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
            // Give the parser something to chew on: often start with a plausible header.
            if (bytes.size() >= 4 && rng() % 2) std::memcpy(bytes.data(), "ffxD", 4);
        } else {
            // Flip a few bytes of a valid transfer, then cut it anywhere.
            bytes = valid;
            for (int flips = 1 + rng() % 3; flips > 0; --flips) bytes[rng() % bytes.size()] ^= 1u << (rng() % 8);
            bytes.resize(rng() % (bytes.size() + 1));
        }
        const ExactBuffer exact{bytes};
        const Parsed parsed = parse_all(exact.span());
        std::size_t sum = 0;
        for (const Packet& packet : parsed.packets) {
            CHECK(packet.payload.data() == exact.data.get() + sum + Header::size);
            sum += packet.size();
        }
        CHECK(sum == parsed.consumed);
        if (parsed.error) {
            CHECK(parsed.error->offset == sum);
            CHECK(parsed.error->available == bytes.size() - sum);
        } else {
            CHECK(sum == bytes.size());
        }
    }
}

TEST_CASE("vsock packet: Sync payloads name protocol versions 0 and 1 and 2 with its nonce") {
    CHECK(sync_payload({0, std::nullopt}) == "vsock:0");
    CHECK(sync_payload({1, std::nullopt}) == "vsock:1");
    CHECK(sync_payload({2, 0xdeadbeef}) == "vsock:2:deadbeef");
    CHECK(parse_sync_payload(as_bytes("vsock:0")) == SyncVersion{0, std::nullopt});
    CHECK(parse_sync_payload(as_bytes("vsock:1")) == SyncVersion{1, std::nullopt});
    CHECK(parse_sync_payload(as_bytes("vsock:2:deadbeef")) == SyncVersion{2, 0xdeadbeef});
    CHECK(parse_sync_payload(as_bytes("vsock:2:DEADBEEF")) == SyncVersion{2, 0xdeadbeef});
    CHECK(parse_sync_payload(as_bytes("vsock:2:0")) == SyncVersion{2, 0});
    for (const char* bad : {"", "vsock", "vsock:", "vsock:3", "vsock:10", "vsock:0\n", "vsock:2", "vsock:2:",
                            "vsock:2:xyz", "vsock:2:123456789", "vsock:2:-1", "VSOCK:0"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_sync_payload(as_bytes(bad)));
    }
}

TEST_CASE("vsock packet: a Pause payload is exactly one byte") {
    CHECK(pause_payload(true)[0] == 1);
    CHECK(pause_payload(false)[0] == 0);
    CHECK(parse_pause_payload(pause_payload(true)) == true);
    CHECK(parse_pause_payload(pause_payload(false)) == false);
    const Bytes two{1, 0};
    CHECK_FALSE(parse_pause_payload({}));
    CHECK_FALSE(parse_pause_payload(two));
}
