// Frame encoding and incremental decoding (docs/protocol.md §2).
#include "wire/frame.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/byte_order.hpp"

namespace spicecap {

namespace {

// Initial buffer and the size above which an emptied buffer is given back (after one huge frame).
constexpr std::size_t kInitialCapacity = 64 * 1024;
constexpr std::size_t kShrinkAbove = 4 * 1024 * 1024;

// A JSON object and nothing else: the text must start with '{' (after JSON whitespace) and parse whole.
// json::accept validates without building a document.
bool is_json_object(std::string_view text) {
    auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos || text[first] != '{') return false;
    return nlohmann::json::accept(text.begin(), text.end());
}

// True if objects and arrays in `text` nest deeper than `limit` (text inside strings does not count). Exact
// for valid JSON, which is all that matters: invalid JSON is rejected by is_json_object anyway. Stops at
// the first level past the limit, so the cost is one pass at most.
bool json_nests_deeper_than(std::string_view text, std::size_t limit) {
    std::size_t depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > limit) return true;
        } else if ((c == '}' || c == ']') && depth > 0) {
            --depth;
        }
    }
    return false;
}

}  // namespace

bool is_known_frame_type(std::uint8_t type) noexcept {
    return type >= static_cast<std::uint8_t>(FrameType::hello) && type <= static_cast<std::uint8_t>(FrameType::request);
}

bool frame_body_is_json(FrameType type) noexcept {
    return type == FrameType::hello || type == FrameType::reply || type == FrameType::event ||
           type == FrameType::request;
}

std::string_view frame_type_name(FrameType type) noexcept {
    switch (type) {
        case FrameType::hello: return "HELLO";
        case FrameType::reply: return "REPLY";
        case FrameType::record: return "RECORD";
        case FrameType::event: return "EVENT";
        case FrameType::drop: return "DROP";
        case FrameType::request: return "REQUEST";
    }
    return "UNKNOWN";
}

std::string_view frame_error_kind_name(FrameErrorKind kind) noexcept {
    switch (kind) {
        case FrameErrorKind::truncated: return "truncated";
        case FrameErrorKind::oversize: return "oversize";
        case FrameErrorKind::zero_length: return "zero_length";
        case FrameErrorKind::unknown_type: return "unknown_type";
        case FrameErrorKind::body_not_json_object: return "body_not_json_object";
        case FrameErrorKind::json_too_deep: return "json_too_deep";
    }
    return "unknown";
}

void append_frame_prefix(ByteBuffer& out, FrameType type, std::size_t body_bytes) {
    if (body_bytes > std::size_t{0xFFFFFFFEu}) throw std::length_error("frame body too large for a u32 length");
    const auto length = static_cast<std::uint32_t>(body_bytes + 1);
    const std::uint8_t prefix[kFramePrefixBytes] = {
        static_cast<std::uint8_t>(length), static_cast<std::uint8_t>(length >> 8),
        static_cast<std::uint8_t>(length >> 16), static_cast<std::uint8_t>(length >> 24),
        static_cast<std::uint8_t>(type)};
    out.insert(out.end(), prefix, prefix + kFramePrefixBytes);
}

void append_frame(ByteBuffer& out, FrameType type, std::span<const std::uint8_t> body) {
    append_frame_prefix(out, type, body.size());
    out.insert(out.end(), body.begin(), body.end());
}

void append_frame(ByteBuffer& out, FrameType type, std::string_view body) {
    append_frame(out, type, std::span{reinterpret_cast<const std::uint8_t*>(body.data()), body.size()});
}

FrameDecoder::FrameDecoder(std::uint32_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

void FrameDecoder::feed(std::span<const std::uint8_t> bytes) {
    if (bytes.empty()) return;
    auto space = prepare(bytes.size());
    std::memcpy(space.data(), bytes.data(), bytes.size());
    commit(bytes.size());
}

std::span<std::uint8_t> FrameDecoder::prepare(std::size_t min_bytes) {
    if (begin_ == end_) {
        // Everything was consumed: start over at the front, and give back a buffer one huge frame grew.
        begin_ = end_ = 0;
        if (capacity_ > kShrinkAbove && min_bytes <= kInitialCapacity) {
            buffer_.reset();
            capacity_ = 0;
        }
    }
    if (capacity_ - end_ < min_bytes) {
        const std::size_t pending = end_ - begin_;
        if (capacity_ - pending >= min_bytes && begin_ > 0) {
            // Compact lazily: only when the free tail is too small, move the partial frame to the front.
            std::memmove(buffer_.get(), buffer_.get() + begin_, pending);
        } else {
            std::size_t capacity = std::max(capacity_ * 2, kInitialCapacity);
            capacity = std::max(capacity, pending + min_bytes);
            auto grown = std::make_unique_for_overwrite<std::uint8_t[]>(capacity);
            if (pending > 0) std::memcpy(grown.get(), buffer_.get() + begin_, pending);
            buffer_ = std::move(grown);
            capacity_ = capacity;
        }
        begin_ = 0;
        end_ = pending;
    }
    return {buffer_.get() + end_, capacity_ - end_};
}

void FrameDecoder::commit(std::size_t bytes) noexcept { end_ = std::min(end_ + bytes, capacity_); }

Expected<std::optional<FrameView>, FrameError> FrameDecoder::fail(FrameErrorKind kind, std::string message) {
    error_ = FrameError{kind, std::move(message)};
    return Unexpected{*error_};
}

Expected<std::optional<FrameView>, FrameError> FrameDecoder::next() {
    if (error_) return Unexpected{*error_};
    const std::size_t available = end_ - begin_;
    if (available < kFrameLengthBytes) return std::optional<FrameView>{};
    const std::uint8_t* frame = buffer_.get() + begin_;
    const std::uint32_t length = little_endian::load<std::uint32_t>(frame);
    if (length == 0) return fail(FrameErrorKind::zero_length, "frame length is 0 (a frame has at least its type byte)");
    if (length > max_frame_bytes_) {
        return fail(FrameErrorKind::oversize, "frame length " + std::to_string(length) + " exceeds the limit of " +
                                                  std::to_string(max_frame_bytes_) + " bytes");
    }
    if (available < kFramePrefixBytes) return std::optional<FrameView>{};
    const std::uint8_t type = frame[kFrameLengthBytes];
    if (!is_known_frame_type(type)) {
        return fail(FrameErrorKind::unknown_type, "unknown frame type " + std::to_string(type));
    }
    const std::size_t total = kFrameLengthBytes + std::size_t{length};
    if (available < total) return std::optional<FrameView>{};

    FrameView view{static_cast<FrameType>(type), {frame + kFramePrefixBytes, length - 1u}, {frame, total}};
    if (frame_body_is_json(view.type) && !is_json_object(view.text())) {
        return fail(FrameErrorKind::body_not_json_object,
                    std::string(frame_type_name(view.type)) + " body is not a JSON object");
    }
    if (frame_body_is_json(view.type) && json_nests_deeper_than(view.text(), kMaxJsonDepth)) {
        return fail(FrameErrorKind::json_too_deep, std::string(frame_type_name(view.type)) +
                                                       " body nests objects and arrays deeper than " +
                                                       std::to_string(kMaxJsonDepth) + " levels");
    }
    begin_ += total;
    return std::optional<FrameView>{view};
}

Expected<Ok, FrameError> FrameDecoder::finish() const {
    if (error_) return Unexpected{*error_};
    const std::size_t available = end_ - begin_;
    if (available == 0) return Ok{};
    if (available < kFrameLengthBytes) {
        return Unexpected{FrameError{FrameErrorKind::truncated, "stream ended inside a frame's length prefix (" +
                                                                    std::to_string(available) + " of 4 bytes)"}};
    }
    const std::size_t total = kFrameLengthBytes + std::size_t{little_endian::load<std::uint32_t>(buffer_.get() + begin_)};
    return Unexpected{FrameError{FrameErrorKind::truncated, "stream ended inside a frame (" +
                                                                std::to_string(available) + " of " +
                                                                std::to_string(total) + " bytes)"}};
}

}  // namespace spicecap
