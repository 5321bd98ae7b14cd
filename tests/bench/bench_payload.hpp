// The bytes every benchmark message carries, so that the reader at the far end of a pipeline (spicecap's
// or udpdump's) can tell which message it got and when it was sent, whatever framing was put around it.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

namespace spicecap::bench {

/// The first bytes of a benchmark message, little-endian, packed. Messages are at least kSize bytes; the
/// rest is filler. A SPICE dissector would call this garbage, which is fine: nobody dissects it here.
struct BenchPayloadHeader {
    /// "SPCBENCH": tells a benchmark message from the synthesized link stage and anything else.
    static constexpr std::array<std::uint8_t, 8> kMagic = {'S', 'P', 'C', 'B', 'E', 'N', 'C', 'H'};
    /// Bytes of magic + sequence + send time.
    static constexpr std::size_t kSize = 24;

    /// The message's number within its run, from 0.
    std::uint64_t sequence = 0;
    /// CLOCK_REALTIME in ns when the sender handed the message over (0 when the run does not measure latency).
    std::uint64_t sent_ns = 0;

    /// Writes magic, sequence and send time at the start of `message` (which is at least kSize bytes).
    void write_to(std::span<std::uint8_t> message) const noexcept {
        std::memcpy(message.data(), kMagic.data(), kMagic.size());
        std::memcpy(message.data() + 8, &sequence, 8);
        std::memcpy(message.data() + 16, &sent_ns, 8);
    }

    /// The header at the start of `bytes`, or nothing if they do not start with a benchmark message.
    static std::optional<BenchPayloadHeader> parse(std::span<const std::uint8_t> bytes) noexcept {
        if (bytes.size() < kSize || std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0) return std::nullopt;
        BenchPayloadHeader h;
        std::memcpy(&h.sequence, bytes.data() + 8, 8);
        std::memcpy(&h.sent_ns, bytes.data() + 16, 8);
        return h;
    }
};

/// A message of `size` bytes (at least BenchPayloadHeader::kSize) with a recognisable filler.
inline std::vector<std::uint8_t> make_bench_message(std::size_t size) {
    std::vector<std::uint8_t> message(std::max(size, BenchPayloadHeader::kSize));
    for (std::size_t i = BenchPayloadHeader::kSize; i < message.size(); ++i) message[i] = static_cast<std::uint8_t>(i);
    BenchPayloadHeader{}.write_to(message);
    return message;
}

}  // namespace spicecap::bench
