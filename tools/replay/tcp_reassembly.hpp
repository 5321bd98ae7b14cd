// Puts the captured segments of ONE direction of one TCP connection back into byte order, the way the
// receiving socket saw them: retransmitted and overlapping bytes are delivered once (the first copy wins),
// segments that arrive early wait for the hole before them, and a hole the capture never fills (the
// capturing kernel dropped a packet) is reported as a gap instead of silently gluing bytes together.
//
// Sequence numbers are 32-bit and wrap; the reassembler counts in 64-bit stream offsets (0 = the first
// byte after the SYN, or the first byte seen when the capture has no SYN), so streams above 4 GiB work.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

namespace spicecap {

/// Bounds on what a reassembler holds while it waits for missing bytes.
struct TcpReassemblyLimits {
    /// Most bytes kept out of order. Beyond this the hole before them is given up as a gap: a capture
    /// that lost a segment would otherwise hold the rest of the stream in memory.
    std::size_t max_pending_bytes = 32u * 1024 * 1024;
};

/// What one call made available.
struct TcpDelivery {
    /// Bytes that were missing (never captured) just before the bytes appended by this call; 0 normally.
    std::uint64_t gap_bytes = 0;
    /// Bytes appended to the output by this call.
    std::size_t delivered_bytes = 0;
};

/// One direction of one TCP connection.
class TcpReassembler {
public:
    explicit TcpReassembler(TcpReassemblyLimits limits = {}) : limits_(limits) {}

    /// A SYN with sequence number `seq` was seen: the stream's first byte is `seq + 1`. Ignored once
    /// bytes were delivered (a retransmitted SYN changes nothing).
    void syn(std::uint32_t seq);

    /// The payload of one segment with sequence number `seq`. Appends to `out` every byte that is now in
    /// order. Without a SYN, the first segment with a payload starts the stream.
    TcpDelivery segment(std::uint32_t seq, std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out);

    /// Gives up waiting for the hole before the earliest held segment (e.g. at the end of the capture)
    /// and appends what follows it. Nothing to do when no bytes are held.
    TcpDelivery flush_gaps(std::vector<std::uint8_t>& out);

    /// Whether the stream's start is known (a SYN or a first payload was seen).
    bool started() const noexcept { return base_.has_value(); }
    /// The stream offset of the next byte to deliver (= bytes delivered plus gaps).
    std::uint64_t next_offset() const noexcept { return next_; }
    /// Bytes held because a hole precedes them.
    std::size_t pending_bytes() const noexcept { return pending_bytes_; }
    /// Bytes received again after they had been delivered or held (retransmissions, overlaps).
    std::uint64_t duplicate_bytes() const noexcept { return duplicate_bytes_; }
    /// Bytes that were never captured (sum of all gaps).
    std::uint64_t gap_bytes() const noexcept { return gap_bytes_; }

private:
    /// The stream offset of sequence number `seq`: the one nearest to what is expected next.
    std::int64_t offset_of(std::uint32_t seq) const noexcept;
    /// Appends held segments that are now in order.
    void drain(std::vector<std::uint8_t>& out, TcpDelivery& delivery);
    /// Stores bytes at `offset` (> next_) that overlap nothing already held.
    void hold(std::uint64_t offset, std::span<const std::uint8_t> bytes);

    TcpReassemblyLimits limits_;
    /// The sequence number of stream offset 0.
    std::optional<std::uint32_t> base_;
    std::uint64_t next_ = 0;
    /// Segments after a hole, by stream offset; they never overlap each other.
    std::map<std::uint64_t, std::vector<std::uint8_t>> pending_;
    std::size_t pending_bytes_ = 0;
    std::uint64_t duplicate_bytes_ = 0;
    std::uint64_t gap_bytes_ = 0;
};

}  // namespace spicecap
