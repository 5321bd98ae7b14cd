// USB vsock pcap records: pseudo-header encoding, fragmentation and parsing (see vsock_frames.hpp).
#include "pcap/vsock_frames.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "base/byte_order.hpp"

namespace spicecap::vsock {
std::string_view direction_name(Direction direction) {
    return direction == Direction::host_to_device ? "host→device" : "device→host";
}

std::vector<PcapRecord> split_transfer(const TransferMeta& meta, std::span<const std::uint8_t> kept_bytes,
                                       std::size_t record_limit) {
    if (record_limit <= PseudoHeader::size) {
        throw std::invalid_argument("vsock record limit leaves no room for transfer bytes");
    }
    if (kept_bytes.size() > std::numeric_limits<std::uint32_t>::max()) {
        throw std::length_error("USB transfer larger than 4 GiB");
    }
    const auto kept = static_cast<std::uint32_t>(kept_bytes.size());
    const std::uint32_t transfer_length = meta.original_length.value_or(kept);
    if (transfer_length < kept) {
        throw std::invalid_argument("original_length is smaller than the bytes kept of the transfer");
    }
    const std::size_t per_record = record_limit - PseudoHeader::size;

    std::vector<PcapRecord> parts;
    parts.reserve(kept_bytes.empty() ? 1 : (kept_bytes.size() + per_record - 1) / per_record);
    std::size_t offset = 0;
    do {
        const std::size_t count = std::min(per_record, kept_bytes.size() - offset);
        PcapRecord part;
        part.header.direction = meta.direction;
        part.header.link = meta.link;
        part.header.transfer_length = transfer_length;
        part.header.fragment_offset = static_cast<std::uint32_t>(offset);
        part.bytes = kept_bytes.subspan(offset, count);
        if (offset == 0 && meta.drops_before) part.header.flags |= pcap_record_flags::drops_before;
        offset += count;
        if (offset < kept_bytes.size()) {
            part.header.flags |= pcap_record_flags::more_fragments;
        } else if (transfer_length > kept) {
            part.header.flags |= pcap_record_flags::truncated;
        }
        parts.push_back(part);
    } while (offset < kept_bytes.size());
    return parts;
}

std::array<std::uint8_t, PseudoHeader::size> encode_pseudo_header(const PseudoHeader& header) {
    std::array<std::uint8_t, PseudoHeader::size> wire{};
    const std::span<std::uint8_t> out{wire};
    wire[0] = header.version;
    wire[1] = static_cast<std::uint8_t>(header.direction);
    little_endian::store<std::uint16_t>(out.data() + 2, header.flags);
    little_endian::store<std::uint32_t>(out.data() + 4, header.link);
    little_endian::store<std::uint32_t>(out.data() + 8, header.transfer_length);
    little_endian::store<std::uint32_t>(out.data() + 12, header.fragment_offset);
    return wire;
}

std::vector<std::uint8_t> build_pcap_record(const PcapRecord& part) {
    std::vector<std::uint8_t> record;
    record.reserve(part.size());
    const auto header = encode_pseudo_header(part.header);
    record.insert(record.end(), header.begin(), header.end());
    record.insert(record.end(), part.bytes.begin(), part.bytes.end());
    return record;
}

std::string PcapRecordError::describe() const {
    switch (kind) {
        case PcapRecordErrorKind::too_short:
            return "vsock record of " + std::to_string(value) + " bytes is shorter than its 16-byte pseudo-header";
        case PcapRecordErrorKind::unsupported_version:
            return "vsock record pseudo-header version " + std::to_string(value) + " is not supported (only 1)";
        case PcapRecordErrorKind::bad_direction:
            return "vsock record direction " + std::to_string(value) + " is neither 0 (host→device) nor 1 (device→host)";
        case PcapRecordErrorKind::fragment_out_of_range:
            return "vsock record bytes end at transfer offset " + std::to_string(value) +
                   ", past the transfer_length in its pseudo-header";
    }
    return "invalid vsock record";
}

Expected<PcapRecord, PcapRecordError> parse_pcap_record(std::span<const std::uint8_t> record) {
    if (record.size() < PseudoHeader::size) return Unexpected{PcapRecordError{PcapRecordErrorKind::too_short, record.size()}};
    PcapRecord part;
    part.header.version = record[0];
    if (part.header.version != PseudoHeader::current_version) {
        return Unexpected{PcapRecordError{PcapRecordErrorKind::unsupported_version, record[0]}};
    }
    if (record[1] > static_cast<std::uint8_t>(Direction::device_to_host)) {
        return Unexpected{PcapRecordError{PcapRecordErrorKind::bad_direction, record[1]}};
    }
    part.header.direction = static_cast<Direction>(record[1]);
    part.header.flags = little_endian::load<std::uint16_t>(record.data() + 2);
    part.header.link = little_endian::load<std::uint32_t>(record.data() + 4);
    part.header.transfer_length = little_endian::load<std::uint32_t>(record.data() + 8);
    part.header.fragment_offset = little_endian::load<std::uint32_t>(record.data() + 12);
    part.bytes = record.subspan(PseudoHeader::size);
    const std::uint64_t end = std::uint64_t{part.header.fragment_offset} + part.bytes.size();
    if (end > part.header.transfer_length) {
        return Unexpected{PcapRecordError{PcapRecordErrorKind::fragment_out_of_range, end}};
    }
    return part;
}

void VsockFrameEncoder::encode(const Record& record, const FrameSink& sink) {
    const RecordHeader& h = record.header;
    if (h.kind != StreamKind::usb_vsock) return;
    TransferMeta meta;
    meta.direction = h.direction;
    meta.link = sessions_.number(h.session) * 256u + h.channel_id;
    meta.drops_before = drops_pending_.erase({h.session, h.channel_id, h.direction}) > 0;
    for (const auto& part : split_transfer(meta, record.payload, record_limit_)) {
        sink(FrameMeta{.timestamp_ns = h.timestamp_ns, .direction = h.direction}, build_pcap_record(part));
    }
    ++stats_.records;
    stats_.bytes += record.payload.size();
}

void VsockFrameEncoder::drop(const DropNotice& notice) {
    stats_.dropped_records += notice.records;
    if (notice.where.kind != StreamKind::usb_vsock) return;
    drops_pending_.insert({notice.where.session, notice.where.channel_id, notice.where.direction});
}

}  // namespace spicecap::vsock
