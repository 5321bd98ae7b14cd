// Fuzz target: the producer/subscriber frame codec (FrameDecoder, RecordHeader/Record, DropNotice).
//
// Input: a chunk stream (chunked_input.hpp). Lane 0 chunks go in through FrameDecoder::feed, lane 1 through
// prepare()/commit() as the daemon reads sockets; next() is drained after every chunk. A lane 1 read asks
// for the chunk's size more than the space the decoder has free, so each one makes the decoder compact or
// grow its buffer: fuzz-sized inputs would otherwise never leave its first 64 KiB. Checked:
//  - the frames and the final error are the same as when the whole stream is decoded in one piece
//    (chunking never changes what is decoded);
//  - every frame is exactly its bytes on the wire, JSON frames hold a JSON object;
//  - a RECORD or DROP body that parses re-encodes to the same bytes (round trip).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "chunked_input.hpp"
#include "fuzz_check.hpp"
#include "wire/frame.hpp"
#include "wire/record.hpp"

namespace {

using namespace spicecap;

// Small, so that the oversize rule is reached by short inputs too.
constexpr std::uint32_t kMaxFrameBytes = 4096;
// The most a lane 1 read asks for, which bounds how far the buffer grows.
constexpr std::size_t kMaxAsk = 256 * 1024;

struct Decoded {
    std::vector<std::vector<std::uint8_t>> frames;
    std::optional<FrameErrorKind> error;
};

void check_frame(const FrameView& frame) {
    FUZZ_CHECK(frame.encoded.size() == kFramePrefixBytes + frame.body.size());
    FUZZ_CHECK(frame.body.data() == frame.encoded.data() + kFramePrefixBytes);
    FUZZ_CHECK(frame.encoded.size() - kFrameLengthBytes <= kMaxFrameBytes);
    FUZZ_CHECK(frame.encoded[kFrameLengthBytes] == static_cast<std::uint8_t>(frame.type));

    if (frame_body_is_json(frame.type)) {
        const auto json = nlohmann::json::parse(frame.text(), nullptr, false);
        FUZZ_CHECK(json.is_object());
    }
    if (frame.type == FrameType::record) {
        if (auto record = Record::parse(frame.body)) {
            FUZZ_CHECK(record->payload.size() + RecordHeader::kSize == frame.body.size());
            ByteBuffer again;
            append_record_frame(again, record->header, record->payload);
            FUZZ_CHECK(again.size() == frame.encoded.size());
            FUZZ_CHECK(std::memcmp(again.data(), frame.encoded.data(), again.size()) == 0);
        }
    }
    if (frame.type == FrameType::drop) {
        if (auto notice = DropNotice::parse(frame.body)) {
            FUZZ_CHECK(frame.body.size() == DropNotice::kSize);
            std::uint8_t again[DropNotice::kSize];
            notice->encode_to(again);
            FUZZ_CHECK(std::memcmp(again, frame.body.data(), DropNotice::kSize) == 0);
        }
    }
}

// Takes every complete frame; returns false once the decoder has failed.
bool drain(FrameDecoder& decoder, Decoded& out) {
    for (;;) {
        auto next = decoder.next();
        if (!next) {
            out.error = next.error().kind;
            FUZZ_CHECK(!next.error().message.empty());
            return false;
        }
        if (!next.value()) return true;
        check_frame(**next);
        out.frames.emplace_back((*next)->encoded.begin(), (*next)->encoded.end());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::ChunkReader reader({data, size});
    FrameDecoder chunked(kMaxFrameBytes);
    Decoded by_chunks;
    std::vector<std::uint8_t> stream;
    fuzz::Chunk chunk;
    bool alive = true;
    while (reader.next(chunk)) {
        stream.insert(stream.end(), chunk.bytes.begin(), chunk.bytes.end());
        if (!alive) continue;
        if (chunk.lane == 0) {
            chunked.feed(chunk.bytes);
        } else {
            const std::size_t free_tail = chunked.prepare(0).size();
            const std::size_t asked = std::min(free_tail + chunk.bytes.size(), kMaxAsk);
            auto space = chunked.prepare(asked);
            FUZZ_CHECK(space.size() >= asked);
            if (!chunk.bytes.empty()) std::memcpy(space.data(), chunk.bytes.data(), chunk.bytes.size());
            chunked.commit(chunk.bytes.size());
        }
        alive = drain(chunked, by_chunks);
    }
    if (alive) {
        auto end = chunked.finish();
        FUZZ_CHECK(end.has_value() == (chunked.buffered_bytes() == 0));
        if (!end) FUZZ_CHECK(end.error().kind == FrameErrorKind::truncated);
    }

    FrameDecoder whole(kMaxFrameBytes);
    Decoded at_once;
    whole.feed(stream);
    drain(whole, at_once);
    FUZZ_CHECK(at_once.frames == by_chunks.frames);
    FUZZ_CHECK(at_once.error == by_chunks.error);

    // The frames are the stream's first bytes, back to back, with nothing skipped.
    std::size_t at = 0;
    for (const auto& frame : at_once.frames) {
        FUZZ_CHECK(std::equal(frame.begin(), frame.end(), stream.begin() + static_cast<std::ptrdiff_t>(at)));
        at += frame.size();
    }
    return 0;
}
