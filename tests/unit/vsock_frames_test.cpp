// USB vsock pcap records: the pseudo-header's exact bytes, fragmentation of large transfers under
// Wireshark's record limit, and rejection of malformed records without over-reading.
#include "vsock/vsock_packet.hpp"
#include "pcap/vsock_frames.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

using namespace spicecap::vsock;
using spicecap::Direction;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes pattern(std::size_t size) {
    Bytes bytes(size);
    for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(i * 7 + (i >> 8));
    return bytes;
}

}  // namespace

TEST_CASE("vsock pcap: link types are LINKTYPE_USER0..15 with USER0 the default") {
    CHECK(default_linktype == 147);
    CHECK(is_user_linktype(147));
    CHECK(is_user_linktype(162));
    CHECK_FALSE(is_user_linktype(146));
    CHECK_FALSE(is_user_linktype(163));
    CHECK_FALSE(is_user_linktype(1));
}

TEST_CASE("vsock pcap: the pseudo-header is 16 little-endian bytes in documented order") {
    PseudoHeader header;
    header.direction = Direction::device_to_host;
    header.flags = pcap_record_flags::more_fragments | pcap_record_flags::drops_before;
    header.link = 0x04030201;
    header.transfer_length = 0x00100018;
    header.fragment_offset = 0x0003fff0;
    const auto wire = encode_pseudo_header(header);
    const Bytes expected{0x01, 0x01, 0x05, 0x00, 0x01, 0x02, 0x03, 0x04,
                         0x18, 0x00, 0x10, 0x00, 0xf0, 0xff, 0x03, 0x00};
    CHECK(Bytes(wire.begin(), wire.end()) == expected);
    CHECK(direction_name(Direction::host_to_device) == "host→device");
    CHECK(direction_name(Direction::device_to_host) == "device→host");
}

TEST_CASE("vsock pcap: the worked example of docs/formats.md builds byte for byte") {
    Bytes transfer;
    const std::string_view text = "hello, world";
    append_packet(transfer, PacketType::data, Address{3, 2, 22, 5001},
                  {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    const auto parts = split_transfer({Direction::host_to_device, 0, false, std::nullopt}, transfer);
    REQUIRE(parts.size() == 1);
    const Bytes record = build_pcap_record(parts[0]);
    const Bytes expected{0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00,
                         0x00, 0x00, 0x66, 0x66, 0x78, 0x44, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
                         0x16, 0x00, 0x00, 0x00, 0x89, 0x13, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 'h',  'e',
                         'l',  'l',  'o',  ',',  ' ',  'w',  'o',  'r',  'l',  'd'};
    CHECK(record == expected);
}

TEST_CASE("vsock pcap: a small transfer is one record that parses back unchanged") {
    for (const Direction direction : {Direction::host_to_device, Direction::device_to_host}) {
        const Bytes transfer = pattern(1000);
        const auto parts = split_transfer({direction, 7, false, std::nullopt}, transfer);
        REQUIRE(parts.size() == 1);
        CHECK(parts[0].header.flags == 0);
        CHECK(parts[0].header.transfer_length == 1000);
        CHECK(parts[0].header.fragment_offset == 0);
        const Bytes record = build_pcap_record(parts[0]);
        CHECK(record.size() == PseudoHeader::size + transfer.size());
        const auto parsed = parse_pcap_record(record);
        REQUIRE(parsed);
        CHECK(parsed->header == parts[0].header);
        CHECK(parsed->header.direction == direction);
        CHECK(parsed->header.link == 7);
        CHECK(Bytes(parsed->bytes.begin(), parsed->bytes.end()) == transfer);
    }
}

TEST_CASE("vsock pcap: an empty transfer is one record with no bytes") {
    const auto parts = split_transfer({Direction::device_to_host, 0, false, std::nullopt}, {});
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].bytes.empty());
    CHECK(parts[0].header.transfer_length == 0);
    const auto parsed = parse_pcap_record(build_pcap_record(parts[0]));
    REQUIRE(parsed);
    CHECK(parsed->bytes.empty());
}

TEST_CASE("vsock pcap: a 1 MiB transfer is cut into records Wireshark accepts and reassembles exactly") {
    const Bytes transfer = pattern(1024 * 1024 + 24);
    const auto parts = split_transfer({Direction::host_to_device, 2, true, std::nullopt}, transfer);
    const std::size_t per_record = max_record_size - PseudoHeader::size;
    REQUIRE(parts.size() == (transfer.size() + per_record - 1) / per_record);
    REQUIRE(parts.size() == 5);
    Bytes reassembled;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        CAPTURE(i);
        const Bytes record = build_pcap_record(parts[i]);
        CHECK(record.size() <= max_record_size);
        const auto parsed = parse_pcap_record(record);
        REQUIRE(parsed);
        CHECK(parsed->header.transfer_length == transfer.size());
        CHECK(parsed->header.fragment_offset == reassembled.size());
        CHECK(parsed->header.link == 2);
        const bool last = i + 1 == parts.size();
        CHECK(((parsed->header.flags & pcap_record_flags::more_fragments) != 0) == !last);
        CHECK(((parsed->header.flags & pcap_record_flags::drops_before) != 0) == (i == 0));
        CHECK((parsed->header.flags & pcap_record_flags::truncated) == 0);
        if (!last) CHECK(record.size() == max_record_size);
        reassembled.insert(reassembled.end(), parsed->bytes.begin(), parsed->bytes.end());
    }
    CHECK(reassembled == transfer);
}

TEST_CASE("vsock pcap: fragment boundaries are exact at the record limit") {
    const std::size_t limit = 64;
    const std::size_t per_record = limit - PseudoHeader::size;
    CHECK(split_transfer({}, pattern(per_record), limit).size() == 1);
    CHECK(split_transfer({}, pattern(per_record + 1), limit).size() == 2);
    CHECK(split_transfer({}, pattern(3 * per_record), limit).size() == 3);
    CHECK_THROWS_AS(split_transfer({}, pattern(10), PseudoHeader::size), std::invalid_argument);
}

TEST_CASE("vsock pcap: a transfer the producer cut short says so on its last record") {
    const Bytes kept = pattern(100);
    const auto parts = split_transfer({Direction::device_to_host, 0, false, 5000}, kept, 56);
    REQUIRE(parts.size() == 3);  // 40 + 40 + 20 bytes
    CHECK(parts[0].header.flags == pcap_record_flags::more_fragments);
    CHECK(parts[1].header.flags == pcap_record_flags::more_fragments);
    CHECK(parts[2].header.flags == pcap_record_flags::truncated);
    for (const PcapRecord& part : parts) CHECK(part.header.transfer_length == 5000);
    CHECK_THROWS_AS(split_transfer({Direction::device_to_host, 0, false, 99}, kept), std::invalid_argument);
}

TEST_CASE("vsock pcap: malformed records are errors when read from exact-size buffers") {
    const Bytes good = build_pcap_record(split_transfer({}, pattern(40)).front());
    const auto parse_exact = [](const Bytes& bytes) {
        // new[0] still gives a unique pointer; any read of it is out of bounds for ASan.
        std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[bytes.size()]);
        if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
        return parse_pcap_record({copy.get(), bytes.size()});
    };
    for (std::size_t size = 0; size < PseudoHeader::size; ++size) {
        CAPTURE(size);
        const auto parsed = parse_exact(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(size)));
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error() == PcapRecordError{PcapRecordErrorKind::too_short, size});
    }
    for (const std::uint8_t version : {0, 2, 255}) {
        Bytes bad = good;
        bad[0] = version;
        const auto parsed = parse_exact(bad);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error() == PcapRecordError{PcapRecordErrorKind::unsupported_version, version});
    }
    Bytes bad_direction = good;
    bad_direction[1] = 2;
    CHECK(parse_exact(bad_direction).error() == PcapRecordError{PcapRecordErrorKind::bad_direction, 2});

    Bytes past_end = good;
    past_end[8] = 39;  // transfer_length 39, but 40 bytes carried at offset 0
    const auto parsed = parse_exact(past_end);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error() == PcapRecordError{PcapRecordErrorKind::fragment_out_of_range, 40});
    CHECK(parsed.error().describe() ==
          "vsock record bytes end at transfer offset 40, past the transfer_length in its pseudo-header");

    Bytes huge_offset = good;
    huge_offset[12] = huge_offset[13] = huge_offset[14] = huge_offset[15] = 0xff;
    CHECK(parse_exact(huge_offset).error().kind == PcapRecordErrorKind::fragment_out_of_range);
}
