// The input format of the fuzz targets that feed a stream parser in pieces (frame codec, SPICE parser):
// a sequence of chunks, each one control byte followed by its bytes.
//
//     control = (length - 1) << 1 | lane        length 1..128, lane 0 or 1
//
// The lane says where the chunk goes (the SPICE direction, or which of FrameDecoder's two input paths).
// The last chunk may be shorter than its control byte says (the input simply ends). So every byte string
// is a valid input, and the fuzzer explores chunk boundaries and stream contents at the same time.
// make_seeds.cpp writes the seed corpus in this format with encode_chunks().
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace spicecap::fuzz {

/// Largest chunk one control byte can describe.
inline constexpr std::size_t kMaxChunkBytes = 128;

/// One piece of a stream and where it goes.
struct Chunk {
    /// 0 or 1: the SPICE direction, or the FrameDecoder input path.
    unsigned lane = 0;
    /// The chunk's bytes (a view into the fuzz input).
    std::span<const std::uint8_t> bytes;
};

/// Reads chunks from the front of a fuzz input.
class ChunkReader {
public:
    explicit ChunkReader(std::span<const std::uint8_t> input) : rest_(input) {}

    /// The next chunk, or false at the end of the input. A control byte with nothing after it yields an
    /// empty chunk (feeding nothing must be harmless too).
    bool next(Chunk& chunk) {
        if (rest_.empty()) return false;
        const std::uint8_t control = rest_[0];
        rest_ = rest_.subspan(1);
        const std::size_t length = std::min<std::size_t>((control >> 1) + 1u, rest_.size());
        chunk = Chunk{control & 1u, rest_.first(length)};
        rest_ = rest_.subspan(length);
        return true;
    }

private:
    std::span<const std::uint8_t> rest_;
};

/// Appends `bytes` to `out` as chunks for `lane`, cut by `chunk_size` (1..128, clamped), for seed files.
inline void encode_chunks(std::vector<std::uint8_t>& out, unsigned lane, std::span<const std::uint8_t> bytes,
                          std::size_t chunk_size) {
    chunk_size = std::clamp<std::size_t>(chunk_size, 1, kMaxChunkBytes);
    for (std::size_t at = 0; at < bytes.size(); at += chunk_size) {
        const std::size_t n = std::min(chunk_size, bytes.size() - at);
        out.push_back(static_cast<std::uint8_t>(((n - 1) << 1) | (lane & 1u)));
        out.insert(out.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at),
                   bytes.begin() + static_cast<std::ptrdiff_t>(at + n));
    }
}

}  // namespace spicecap::fuzz
