// The binary bodies of RECORD and DROP frames (docs/protocol.md §4, §5): a 20-byte little-endian
// RecordHeader saying which stream, channel and direction a message belongs to, then the message bytes
// exactly as the producer sent or received them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/direction.hpp"
#include "base/expected.hpp"
#include "wire/frame.hpp"
#include "spice/spice_channel.hpp"

namespace spicecap {

/// Which protocol a record belongs to.
enum class StreamKind : std::uint8_t {
    /// A SPICE message on one SPICE channel.
    spice = 1,
    /// One USB transfer of Fuchsia's usb_vsock protocol (one or more vsock packets back to back).
    usb_vsock = 2,
};

/// "spice" or "usbvsock": the names used in HELLO and EVENT frames.
std::string_view stream_kind_name(StreamKind kind) noexcept;
/// The StreamKind for "spice" or "usbvsock".
std::optional<StreamKind> stream_kind_from_name(std::string_view name) noexcept;

/// RecordHeader::flags bit 0: this SPICE channel uses full data headers (18 bytes: serial, type, size,
/// sub_list) instead of mini headers (6 bytes). Only needed when a subscriber must synthesize the link stage.
inline constexpr std::uint32_t kRecordFlagFullHeader = 1u << 0;
/// Every flag bit this version of the protocol defines; the others must be 0.
inline constexpr std::uint32_t kRecordKnownFlags = kRecordFlagFullHeader;

/// Why a RECORD or DROP body was rejected.
enum class RecordErrorKind {
    /// Fewer bytes than the fixed part of the body.
    too_short,
    /// A DROP body longer than its fixed size.
    trailing_bytes,
    /// kind is not a StreamKind.
    bad_kind,
    /// direction is neither 0 nor 1.
    bad_direction,
    /// SPICE channel_type outside 1..11, or a USB vsock channel_type other than 0.
    bad_channel_type,
    /// A flag bit that is not defined for this kind of record (or any flag in a DROP).
    bad_flags,
};

/// A rejected body: the rule it broke and a sentence with the values involved.
struct RecordError {
    /// Which rule the body broke.
    RecordErrorKind kind;
    /// Human-readable detail for logs.
    std::string message;
};

/// The 20-byte header at the start of every RECORD and DROP body, all fields little-endian:
/// `kind u8 | direction u8 | channel_type u8 | channel_id u8 | session u32 | timestamp_ns u64 | flags u32`.
struct RecordHeader {
    /// Encoded size in bytes.
    static constexpr std::size_t kSize = 20;
    /// Byte offset of `session`, which the daemon overwrites when forwarding.
    static constexpr std::size_t kSessionOffset = 4;
    /// Byte offset of `timestamp_ns`, which the daemon fills in when a producer sent 0.
    static constexpr std::size_t kTimestampOffset = 8;

    /// Which protocol the record belongs to.
    StreamKind kind = StreamKind::spice;
    /// Which way the message travelled (see Direction for the meaning per kind).
    Direction direction = Direction::client_to_server;
    /// SPICE: the channel type, 1..11 (ChannelType). USB vsock: always 0.
    std::uint8_t channel_type = 0;
    /// SPICE: the channel id (0 for the first channel of a type, 1 for a second display...).
    /// USB vsock: the index of the USB link, when a host talks to several devices.
    std::uint8_t channel_id = 0;
    /// The daemon's session id for the producer connection. Producers send 0; the daemon fills it in.
    std::uint32_t session = 0;
    /// When the message was sent or received, in nanoseconds since the Unix epoch (UTC).
    /// A producer may send 0: the daemon then stamps the record when it arrives.
    std::uint64_t timestamp_ns = 0;
    /// Bit field: kRecordFlagFullHeader (SPICE only). Undefined bits are 0.
    std::uint32_t flags = 0;

    /// Writes the kSize encoded bytes to `out`.
    void encode_to(std::uint8_t* out) const noexcept;
    /// Reads and checks the first kSize bytes of `bytes` (which may be longer).
    static Expected<RecordHeader, RecordError> parse(std::span<const std::uint8_t> bytes);

    friend bool operator==(const RecordHeader&, const RecordHeader&) = default;
};

/// A decoded RECORD body: the header and a view of the payload (into the parsed bytes).
struct Record {
    /// Which stream, channel and direction; when.
    RecordHeader header;
    /// The message bytes exactly as sent or received (may be empty).
    std::span<const std::uint8_t> payload;

    /// Splits and checks a RECORD body.
    static Expected<Record, RecordError> parse(std::span<const std::uint8_t> body);
};

/// The body of a DROP frame: `RecordHeader` (flags 0, timestamp = when the loss was noticed) followed by
/// `records u64 | bytes u64`. It counts what one subscriber lost on one session/channel/direction since
/// the previous DROP for it.
struct DropNotice {
    /// Encoded size in bytes.
    static constexpr std::size_t kSize = RecordHeader::kSize + 16;

    /// The session, kind, channel and direction that lost records; timestamp_ns = when the daemon noticed.
    RecordHeader where;
    /// How many records were dropped.
    std::uint64_t records = 0;
    /// The sum of the dropped records' payload lengths: subscribers advance TCP sequence numbers by it.
    std::uint64_t bytes = 0;

    /// Writes the kSize encoded bytes to `out`.
    void encode_to(std::uint8_t* out) const noexcept;
    /// Reads and checks a DROP body (exactly kSize bytes).
    static Expected<DropNotice, RecordError> parse(std::span<const std::uint8_t> body);

    friend bool operator==(const DropNotice&, const DropNotice&) = default;
};

/// Appends a RECORD frame (prefix, header, payload) to `out`, encoding in place (no temporary).
void append_record_frame(ByteBuffer& out, const RecordHeader& header, std::span<const std::uint8_t> payload);
/// Appends a DROP frame to `out`.
void append_drop_frame(ByteBuffer& out, const DropNotice& notice);

}  // namespace spicecap
