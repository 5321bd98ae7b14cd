// How a USB vsock transfer becomes pcap records (link type LINKTYPE_USER0..15): a 16-byte
// pseudo-header followed by the transfer bytes unchanged. docs/formats.md "USB vsock" is the
// reference for other implementations; packaging/wireshark/usb_vsock.lua decodes it.
//
// Why 16 bytes and fragments: Wireshark 4.0 refuses a pcap file (or a live capture) at the first
// record above 262144 bytes on a USER link type ("File has N-byte packet, bigger than maximum"),
// while one USB vsock transfer may well be larger. So a transfer is cut into records of at most
// `max_record_size` bytes, and each record says where its bytes sit in the transfer (offset and
// total length) so the dissector can reassemble it and tell when a piece is missing.
#pragma once

#include "base/direction.hpp"
#include "base/expected.hpp"
#include "pcap/frame_sink.hpp"
#include "pcap/session_numbering.hpp"
#include "wire/record.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace spicecap::vsock {

/// LINKTYPE_USER0: the first of the 16 link types reserved for private use (pcap-linktype(7)).
inline constexpr int linktype_user0 = 147;
/// LINKTYPE_USER15: the last of them.
inline constexpr int linktype_user15 = 162;
/// The link type USB vsock captures use unless configured otherwise.
inline constexpr int default_linktype = linktype_user0;

/// True for 147..162, the only link types a USB vsock capture may use.
constexpr bool is_user_linktype(int linktype) { return linktype >= linktype_user0 && linktype <= linktype_user15; }

/// Largest pcap record (pseudo-header included) Wireshark 4.0 accepts on a USER link type.
inline constexpr std::size_t max_record_size = 262144;
/// The same for pcapng: dumpcap 4.0 refuses a whole pcapng *block* above 262144 bytes ("Frame N too long")
/// from a pipe, and an Enhanced Packet Block adds 32 bytes and its options (a comment, a drop count) to
/// the record. 1 KiB is left for them.
inline constexpr std::size_t max_pcapng_record_size = max_record_size - 1024;

/// "host→device" or "device→host".
std::string_view direction_name(Direction direction);

/// Bits of PseudoHeader::flags. Bits not named here are reserved: written 0, ignored on reading.
namespace pcap_record_flags {
/// Another record (same link and direction, later in the file) continues this transfer.
inline constexpr std::uint16_t more_fragments = 1u << 0;
/// The producer kept only a prefix of the transfer: the bytes from the end of this record up to
/// transfer_length were never captured (set on the last record of such a transfer).
inline constexpr std::uint16_t truncated = 1u << 1;
/// Transfers of this link were lost (dropped by the producer or the daemon) before this one, so
/// a missing Connect or a half transfer before it is explained.
inline constexpr std::uint16_t drops_before = 1u << 2;
}  // namespace pcap_record_flags

/// The pseudo-header in front of every record's transfer bytes. 16 bytes, little-endian.
struct PseudoHeader {
    /// Bytes of a pseudo-header on the wire.
    static constexpr std::size_t size = 16;
    /// The version this code writes and the only one it reads.
    static constexpr std::uint8_t current_version = 1;

    /// Offset 0, u8: format version, 1. A reader rejects versions it does not know.
    std::uint8_t version = current_version;
    /// Offset 1, u8: which way the transfer went (see Direction).
    Direction direction = Direction::host_to_device;
    /// Offset 2, u16 LE: pcap_record_flags bits.
    std::uint16_t flags = 0;
    /// Offset 4, u32 LE: which USB vsock link (device) the transfer belongs to, as numbered by
    /// the producer (0 when it has one). Keeps two devices with the same cids and ports apart.
    std::uint32_t link = 0;
    /// Offset 8, u32 LE: bytes of the whole transfer on the bus.
    std::uint32_t transfer_length = 0;
    /// Offset 12, u32 LE: where this record's bytes start within the transfer (0 for the first).
    std::uint32_t fragment_offset = 0;

    bool operator==(const PseudoHeader&) const = default;
};

/// One pcap record's content: its pseudo-header and the transfer bytes it carries (borrowed).
struct PcapRecord {
    /// The pseudo-header to write in front of `bytes`.
    PseudoHeader header;
    /// The slice of the transfer this record carries.
    std::span<const std::uint8_t> bytes;

    /// Bytes of the pcap record: pseudo-header plus transfer bytes.
    std::size_t size() const { return PseudoHeader::size + bytes.size(); }
};

/// What is known about a transfer besides its bytes.
struct TransferMeta {
    /// Which way it went.
    Direction direction = Direction::host_to_device;
    /// Which link (device) it belongs to.
    std::uint32_t link = 0;
    /// Set when transfers of this link were lost just before this one.
    bool drops_before = false;
    /// Bytes the transfer had on the bus, if the caller kept only a prefix of them; nothing means
    /// the bytes given are the whole transfer.
    std::optional<std::uint32_t> original_length;
};

/// Cuts a transfer into the records that carry it, none larger than `record_limit` bytes
/// (pseudo-header included). A transfer that fits gives one record; an empty transfer gives one
/// record with no bytes. Throws std::invalid_argument if `record_limit` leaves no room for
/// bytes, or if `original_length` is smaller than the bytes given; std::length_error above 4 GiB.
std::vector<PcapRecord> split_transfer(const TransferMeta& meta, std::span<const std::uint8_t> kept_bytes,
                                       std::size_t record_limit = max_record_size);

/// The 16 wire bytes of a pseudo-header, exactly as given.
std::array<std::uint8_t, PseudoHeader::size> encode_pseudo_header(const PseudoHeader& header);

/// The contiguous bytes of one pcap record: pseudo-header, then the transfer bytes.
std::vector<std::uint8_t> build_pcap_record(const PcapRecord& part);

/// Why bytes are not a valid record.
enum class PcapRecordErrorKind {
    too_short,            ///< Fewer than 16 bytes: no room for the pseudo-header.
    unsupported_version,  ///< A version this reader does not know.
    bad_direction,        ///< Direction neither 0 nor 1.
    fragment_out_of_range ///< fragment_offset + bytes runs past transfer_length.
};

/// A record parse failure.
struct PcapRecordError {
    /// What is wrong.
    PcapRecordErrorKind kind;
    /// The offending value (record size, version or direction byte; for fragment_out_of_range the
    /// end offset of the bytes).
    std::uint64_t value = 0;

    /// One sentence for people.
    std::string describe() const;
    bool operator==(const PcapRecordError&) const = default;
};

/// Splits a pcap record back into its pseudo-header and transfer bytes (borrowed from `record`).
Expected<PcapRecord, PcapRecordError> parse_pcap_record(std::span<const std::uint8_t> record);

/// Counts of what a VsockFrameEncoder did, for status lines.
struct VsockFrameStats {
    /// Transfers (records) turned into pcap records.
    std::uint64_t records = 0;
    /// Their bytes.
    std::uint64_t bytes = 0;
    /// Records the daemon reported as dropped for this subscriber.
    std::uint64_t dropped_records = 0;
};

/// The per-capture state of USB vsock transfers -> pcap records: each session's links get numbers of
/// their own (session number * 256 + the producer's link index, so two producers' link 0 stay apart), and
/// the first transfer of a link and direction after a drop carries pcap_record_flags::drops_before.
class VsockFrameEncoder {
public:
    /// `record_limit`: the largest pcap record to make (pseudo-header included); see max_pcapng_record_size.
    explicit VsockFrameEncoder(std::size_t record_limit = max_record_size) : record_limit_(record_limit) {}

    /// Emits the pcap records of one USB vsock record (ignored if it is not one).
    void encode(const Record& record, const FrameSink& sink);
    /// Remembers that the next transfer of the notice's link and direction follows a loss.
    void drop(const DropNotice& notice);

    const VsockFrameStats& stats() const noexcept { return stats_; }

private:
    std::size_t record_limit_;
    SessionNumbering sessions_;
    /// (session, link, direction) whose next transfer carries drops_before.
    std::set<std::tuple<std::uint32_t, std::uint8_t, Direction>> drops_pending_;
    VsockFrameStats stats_;
};

}  // namespace spicecap::vsock
