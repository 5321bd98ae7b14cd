// RECORD and DROP bodies (docs/protocol.md §4, §5).
#include "wire/record.hpp"

#include <array>
#include <cstring>

#include "base/byte_order.hpp"

namespace spicecap {

namespace {

Unexpected<RecordError> reject(RecordErrorKind kind, std::string message) {
    return Unexpected{RecordError{kind, std::move(message)}};
}

}  // namespace

std::string_view stream_kind_name(StreamKind kind) noexcept {
    return kind == StreamKind::spice ? "spice" : "usbvsock";
}

std::optional<StreamKind> stream_kind_from_name(std::string_view name) noexcept {
    if (name == "spice") return StreamKind::spice;
    if (name == "usbvsock") return StreamKind::usb_vsock;
    return std::nullopt;
}

void RecordHeader::encode_to(std::uint8_t* out) const noexcept {
    out[0] = static_cast<std::uint8_t>(kind);
    out[1] = static_cast<std::uint8_t>(direction);
    out[2] = channel_type;
    out[3] = channel_id;
    little_endian::store<std::uint32_t>(out + kSessionOffset, session);
    little_endian::store<std::uint64_t>(out + kTimestampOffset, timestamp_ns);
    little_endian::store<std::uint32_t>(out + 16, flags);
}

Expected<RecordHeader, RecordError> RecordHeader::parse(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < kSize) {
        return reject(RecordErrorKind::too_short,
                      "record header needs " + std::to_string(kSize) + " bytes, got " + std::to_string(bytes.size()));
    }
    const std::uint8_t* p = bytes.data();
    RecordHeader h;
    if (p[0] != static_cast<std::uint8_t>(StreamKind::spice) && p[0] != static_cast<std::uint8_t>(StreamKind::usb_vsock)) {
        return reject(RecordErrorKind::bad_kind, "unknown stream kind " + std::to_string(p[0]));
    }
    h.kind = static_cast<StreamKind>(p[0]);
    if (p[1] > 1) return reject(RecordErrorKind::bad_direction, "direction " + std::to_string(p[1]) + " is not 0 or 1");
    h.direction = static_cast<Direction>(p[1]);
    h.channel_type = p[2];
    h.channel_id = p[3];
    h.session = little_endian::load<std::uint32_t>(p + kSessionOffset);
    h.timestamp_ns = little_endian::load<std::uint64_t>(p + kTimestampOffset);
    h.flags = little_endian::load<std::uint32_t>(p + 16);
    if (h.kind == StreamKind::spice) {
        if (!spice_channel_name(h.channel_type)) {
            return reject(RecordErrorKind::bad_channel_type,
                          "SPICE channel type " + std::to_string(h.channel_type) + " is outside 1..11");
        }
        if (h.flags & ~kRecordKnownFlags) {
            return reject(RecordErrorKind::bad_flags, "undefined flag bits in " + std::to_string(h.flags));
        }
    } else {
        if (h.channel_type != 0) {
            return reject(RecordErrorKind::bad_channel_type,
                          "USB vsock records have channel type 0, got " + std::to_string(h.channel_type));
        }
        if (h.flags != 0) return reject(RecordErrorKind::bad_flags, "USB vsock records have flags 0, got " + std::to_string(h.flags));
    }
    return h;
}

Expected<Record, RecordError> Record::parse(std::span<const std::uint8_t> body) {
    auto header = RecordHeader::parse(body);
    if (!header) return Unexpected{header.error()};
    return Record{*header, body.subspan(RecordHeader::kSize)};
}

void DropNotice::encode_to(std::uint8_t* out) const noexcept {
    where.encode_to(out);
    little_endian::store<std::uint64_t>(out + RecordHeader::kSize, records);
    little_endian::store<std::uint64_t>(out + RecordHeader::kSize + 8, bytes);
}

Expected<DropNotice, RecordError> DropNotice::parse(std::span<const std::uint8_t> body) {
    if (body.size() < kSize) {
        return reject(RecordErrorKind::too_short,
                      "DROP body needs " + std::to_string(kSize) + " bytes, got " + std::to_string(body.size()));
    }
    if (body.size() > kSize) {
        return reject(RecordErrorKind::trailing_bytes,
                      "DROP body is " + std::to_string(kSize) + " bytes, got " + std::to_string(body.size()));
    }
    auto where = RecordHeader::parse(body);
    if (!where) return Unexpected{where.error()};
    if (where->flags != 0) return reject(RecordErrorKind::bad_flags, "DROP flags must be 0, got " + std::to_string(where->flags));
    return DropNotice{*where, little_endian::load<std::uint64_t>(body.data() + RecordHeader::kSize), little_endian::load<std::uint64_t>(body.data() + RecordHeader::kSize + 8)};
}

void append_record_frame(ByteBuffer& out, const RecordHeader& header, std::span<const std::uint8_t> payload) {
    const std::size_t body = RecordHeader::kSize + payload.size();
    const std::size_t start = out.size();
    append_frame_prefix(out, FrameType::record, body);
    out.resize(start + kFramePrefixBytes + RecordHeader::kSize);
    header.encode_to(out.data() + start + kFramePrefixBytes);
    out.insert(out.end(), payload.begin(), payload.end());
}

void append_drop_frame(ByteBuffer& out, const DropNotice& notice) {
    const std::size_t start = out.size();
    append_frame_prefix(out, FrameType::drop, DropNotice::kSize);
    out.resize(start + kFramePrefixBytes + DropNotice::kSize);
    notice.encode_to(out.data() + start + kFramePrefixBytes);
}

}  // namespace spicecap
