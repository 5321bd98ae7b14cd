// Fuzz target: USB vsock parsing (common/vsock/vsock_packet.hpp, common/pcap/vsock_frames.hpp).
//
// Input: the bytes of one USB transfer, which is also read as one pcap record. Checked:
//  - TransferPackets yields packets lying inside the transfer, back to back from offset 0, whose headers
//    re-encode to the bytes they came from; it stops at the end or at an error whose offset is where the
//    packets stopped;
//  - Sync and Pause payloads that parse round-trip through their encoders;
//  - parse_pcap_record either fails or returns a pseudo-header that re-encodes to the first 16 bytes, and bytes
//    that fit the transfer_length it declares;
//  - split_transfer + build_pcap_record + parse_pcap_record give the transfer back (with a record limit chosen by the
//    first input byte, so fragmentation happens on short inputs).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_check.hpp"
#include "vsock/vsock_packet.hpp"
#include "pcap/vsock_frames.hpp"

namespace {

using namespace spicecap::vsock;
using spicecap::Direction;

void check_packets(std::span<const std::uint8_t> transfer) {
    TransferPackets packets{transfer};
    std::size_t offset = 0;
    for (const Packet& packet : packets) {
        FUZZ_CHECK(packet.payload.data() == transfer.data() + offset + Header::size);
        FUZZ_CHECK(packet.payload.size() == packet.header.payload_len);
        FUZZ_CHECK(offset + packet.size() <= transfer.size());
        const auto wire = encode_header(packet.header);
        FUZZ_CHECK(std::equal(wire.begin(), wire.end(), transfer.begin() + static_cast<std::ptrdiff_t>(offset)));
        if (packet.header.type == PacketType::sync) {
            if (auto version = parse_sync_payload(packet.payload)) {
                const auto text = sync_payload(*version);
                FUZZ_CHECK(parse_sync_payload({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}) == version);
            }
        }
        if (auto paused = parse_pause_payload(packet.payload)) {
            FUZZ_CHECK(parse_pause_payload(pause_payload(*paused)) == paused);
        }
        offset += packet.size();
        FUZZ_CHECK(packets.consumed() == offset);
    }
    if (const auto& error = packets.error()) {
        FUZZ_CHECK(error->offset == offset);
        FUZZ_CHECK(error->available == transfer.size() - offset);
        FUZZ_CHECK(!error->describe().empty());
    } else {
        FUZZ_CHECK(offset == transfer.size());
    }
}

void check_record(std::span<const std::uint8_t> record) {
    auto part = parse_pcap_record(record);
    if (!part) {
        FUZZ_CHECK(!part.error().describe().empty());
        return;
    }
    const auto wire = encode_pseudo_header(part->header);
    FUZZ_CHECK(std::equal(wire.begin(), wire.end(), record.begin()));
    FUZZ_CHECK(part->bytes.data() == record.data() + PseudoHeader::size);
    FUZZ_CHECK(part->bytes.size() == record.size() - PseudoHeader::size);
    FUZZ_CHECK(std::uint64_t{part->header.fragment_offset} + part->bytes.size() <= part->header.transfer_length);
}

void check_split(std::span<const std::uint8_t> transfer, std::uint8_t shape) {
    TransferMeta meta;
    meta.direction = (shape & 1) ? Direction::device_to_host : Direction::host_to_device;
    meta.link = shape >> 4;
    meta.drops_before = (shape & 2) != 0;
    if (shape & 4) meta.original_length = static_cast<std::uint32_t>(transfer.size() + shape);
    const std::size_t limit = PseudoHeader::size + 1 + (shape >> 3) * std::size_t{16};
    std::vector<std::uint8_t> back;
    const auto parts = split_transfer(meta, transfer, limit);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const auto bytes = build_pcap_record(parts[i]);
        FUZZ_CHECK(bytes.size() <= limit);
        auto again = parse_pcap_record(bytes);
        FUZZ_CHECK(again.has_value());
        FUZZ_CHECK(again->header == parts[i].header);
        FUZZ_CHECK(again->header.fragment_offset == back.size());
        FUZZ_CHECK(((again->header.flags & pcap_record_flags::more_fragments) != 0) == (i + 1 < parts.size()));
        back.insert(back.end(), again->bytes.begin(), again->bytes.end());
    }
    FUZZ_CHECK(std::equal(back.begin(), back.end(), transfer.begin(), transfer.end()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input{data, size};
    check_packets(input);
    check_record(input);
    if (size > 0) check_split(input.subspan(1), data[0]);
    return 0;
}
