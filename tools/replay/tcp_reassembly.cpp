// Reassembly of one TCP direction (see tcp_reassembly.hpp).
#include "replay/tcp_reassembly.hpp"

#include <algorithm>
#include <iterator>

namespace spicecap {

namespace {
constexpr std::uint64_t kSequenceSpace = std::uint64_t{1} << 32;
constexpr std::int64_t kHalfSequenceSpace = std::int64_t{1} << 31;
}

void TcpReassembler::syn(std::uint32_t seq) {
    if (next_ != 0 || !pending_.empty()) return;
    base_ = seq + 1;  // the SYN itself takes one sequence number
}

std::int64_t TcpReassembler::offset_of(std::uint32_t seq) const noexcept {
    // The low 32 bits are known exactly; of the offsets that have them, the one closest to next_ is meant
    // (a segment is never 2 GiB away from where the stream is). Bytes before the stream's start (a
    // retransmitted SYN with data, a keepalive probe before the first byte) get a negative offset.
    const std::uint32_t relative = seq - *base_;
    const auto next = static_cast<std::int64_t>(next_);
    auto candidate = static_cast<std::int64_t>((next_ & ~(kSequenceSpace - 1)) | relative);
    if (candidate - next > kHalfSequenceSpace)
        candidate -= static_cast<std::int64_t>(kSequenceSpace);
    else if (next - candidate > kHalfSequenceSpace)
        candidate += static_cast<std::int64_t>(kSequenceSpace);
    return candidate;
}

TcpDelivery TcpReassembler::segment(std::uint32_t seq, std::span<const std::uint8_t> payload,
                                    std::vector<std::uint8_t>& out) {
    TcpDelivery delivery;
    if (payload.empty()) return delivery;
    if (!base_) base_ = seq;

    const std::int64_t signed_offset = offset_of(seq);
    const auto next = static_cast<std::int64_t>(next_);
    if (signed_offset + static_cast<std::int64_t>(payload.size()) <= next) {
        duplicate_bytes_ += payload.size();
        return delivery;
    }
    if (signed_offset < next) {
        const auto seen = static_cast<std::size_t>(next - signed_offset);
        duplicate_bytes_ += seen;
        payload = payload.subspan(seen);
    }
    const auto offset = static_cast<std::uint64_t>(std::max(signed_offset, next));
    const std::uint64_t end = offset + payload.size();
    if (offset == next_) {
        out.insert(out.end(), payload.begin(), payload.end());
        delivery.delivered_bytes += payload.size();
        next_ = end;
        drain(out, delivery);
        return delivery;
    }
    hold(offset, payload);
    if (pending_bytes_ > limits_.max_pending_bytes) return flush_gaps(out);
    return delivery;
}

TcpDelivery TcpReassembler::flush_gaps(std::vector<std::uint8_t>& out) {
    TcpDelivery delivery;
    if (pending_.empty()) return delivery;
    const std::uint64_t hole = pending_.begin()->first - next_;
    gap_bytes_ += hole;
    delivery.gap_bytes = hole;
    next_ = pending_.begin()->first;
    drain(out, delivery);
    return delivery;
}

void TcpReassembler::drain(std::vector<std::uint8_t>& out, TcpDelivery& delivery) {
    while (!pending_.empty() && pending_.begin()->first <= next_) {
        const auto first = pending_.begin();
        const std::vector<std::uint8_t>& bytes = first->second;
        const std::uint64_t end = first->first + bytes.size();
        if (end > next_) {
            const auto from = bytes.begin() + static_cast<std::ptrdiff_t>(next_ - first->first);
            duplicate_bytes_ += next_ - first->first;
            delivery.delivered_bytes += static_cast<std::size_t>(std::distance(from, bytes.end()));
            out.insert(out.end(), from, bytes.end());
            next_ = end;
        } else {
            duplicate_bytes_ += bytes.size();  // a later segment already covered all of it
        }
        pending_bytes_ -= bytes.size();
        pending_.erase(first);
    }
}

void TcpReassembler::hold(std::uint64_t offset, std::span<const std::uint8_t> bytes) {
    const std::uint64_t end = offset + bytes.size();
    std::uint64_t pos = offset;
    // Skip what the held segment starting before `offset` already covers.
    auto it = pending_.upper_bound(pos);
    if (it != pending_.begin()) {
        const auto before = std::prev(it);
        const std::uint64_t before_end = before->first + before->second.size();
        if (before_end > pos) {
            duplicate_bytes_ += std::min(before_end, end) - pos;
            pos = std::min(before_end, end);
        }
    }
    // Store the pieces between held segments; the first copy of any byte wins.
    while (pos < end) {
        it = pending_.lower_bound(pos);
        const std::uint64_t piece_end = it == pending_.end() ? end : std::min(end, it->first);
        if (piece_end > pos) {
            const auto from = bytes.begin() + static_cast<std::ptrdiff_t>(pos - offset);
            const auto to = bytes.begin() + static_cast<std::ptrdiff_t>(piece_end - offset);
            pending_.emplace(pos, std::vector<std::uint8_t>(from, to));
            pending_bytes_ += static_cast<std::size_t>(piece_end - pos);
        }
        if (it == pending_.end() || it->first >= end) break;
        const std::uint64_t held_end = it->first + it->second.size();
        duplicate_bytes_ += std::min(held_end, end) - it->first;
        pos = held_end;
    }
}

}  // namespace spicecap
