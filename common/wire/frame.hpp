// Frames of the producer/subscriber wire protocol (docs/protocol.md §2): every message on a spicecapd
// connection is `u32 little-endian length | u8 frame type | body`, where length counts the type byte
// and the body (so it is at least 1).
//
// Encoding appends straight into the caller's send buffer. Decoding is incremental: FrameDecoder accepts
// the bytes of a stream in chunks of any size (one byte at a time works) and yields each complete frame
// as a view into its own buffer, so the decode path does not allocate per frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/expected.hpp"

namespace spicecap {

/// A growable send buffer of encoded frames.
using ByteBuffer = std::vector<std::uint8_t>;

/// What a frame carries: the byte after the length prefix.
enum class FrameType : std::uint8_t {
    /// JSON object, the first frame from every client: protocol version and role.
    hello = 0x01,
    /// JSON object, daemon -> client: the answer to HELLO and to REQUEST ({"ok":true,...} or
    /// {"ok":false,"error":"reason"}).
    reply = 0x02,
    /// Binary RecordHeader + payload: producer -> daemon and daemon -> subscriber.
    record = 0x03,
    /// JSON object: producer -> daemon (channel opened/closed, producer stats), forwarded to subscribers.
    event = 0x04,
    /// Binary DropNotice, daemon -> subscriber: records that subscriber lost.
    drop = 0x05,
    /// JSON object, control client -> daemon: {"command":"status"} or {"command":"sessions"}.
    request = 0x06,
};

/// Bytes of the length prefix.
inline constexpr std::size_t kFrameLengthBytes = 4;
/// Bytes before the body: length prefix and type.
inline constexpr std::size_t kFramePrefixBytes = 5;
/// The default largest accepted value of the length field (type + body): 16 MiB.
inline constexpr std::uint32_t kDefaultMaxFrameBytes = 16u * 1024 * 1024;
/// The deepest nesting of objects and arrays a JSON frame body may have (the body's own object is level 1).
/// Receivers copy and print JSON with recursive code (nlohmann), so without a limit one 64 KiB EVENT of
/// 32,000 nested arrays takes megabytes of stack: spicecapd crashed on it with a 2 MiB stack. The
/// protocol's own objects nest 5 levels at most.
inline constexpr std::size_t kMaxJsonDepth = 64;

/// True for the six frame types the protocol defines.
bool is_known_frame_type(std::uint8_t type) noexcept;
/// True for the frame types whose body is a JSON object (HELLO, REPLY, EVENT, REQUEST).
bool frame_body_is_json(FrameType type) noexcept;
/// "HELLO", "REPLY", ... for logs and errors.
std::string_view frame_type_name(FrameType type) noexcept;

/// Appends the 5-byte prefix of a frame whose `body_bytes` bytes the caller appends right after.
/// Throws std::length_error if the body cannot be described by a u32 length.
void append_frame_prefix(ByteBuffer& out, FrameType type, std::size_t body_bytes);
/// Appends a whole frame.
void append_frame(ByteBuffer& out, FrameType type, std::span<const std::uint8_t> body);
/// Appends a whole frame whose body is text (the JSON frame types).
void append_frame(ByteBuffer& out, FrameType type, std::string_view body);

/// Why a byte stream is not a valid sequence of frames.
enum class FrameErrorKind {
    /// The stream ended inside a frame (reported by FrameDecoder::finish).
    truncated,
    /// The length prefix exceeds the decoder's maximum; detected before the body is buffered.
    oversize,
    /// The length prefix is 0: a frame has at least its type byte.
    zero_length,
    /// The type byte is not one of FrameType.
    unknown_type,
    /// A HELLO, REPLY, EVENT or REQUEST body is not a JSON object.
    body_not_json_object,
    /// A JSON frame body nests objects and arrays deeper than kMaxJsonDepth.
    json_too_deep,
};

/// "truncated", "oversize", ... for logs.
std::string_view frame_error_kind_name(FrameErrorKind kind) noexcept;

/// A decoding error: its kind and a sentence with the numbers involved.
struct FrameError {
    /// Which rule the stream broke.
    FrameErrorKind kind;
    /// Human-readable detail, e.g. "frame length 4294967280 exceeds the limit of 16777216 bytes".
    std::string message;
};

/// One decoded frame. The spans point into the decoder's buffer and stay valid until the next call to
/// FrameDecoder::feed or FrameDecoder::prepare.
struct FrameView {
    /// The frame's type (always a known one).
    FrameType type;
    /// The body: everything after the type byte.
    std::span<const std::uint8_t> body;
    /// The whole frame as it was on the wire, prefix included (for forwarding without re-encoding).
    std::span<const std::uint8_t> encoded;

    /// The body as text, for the JSON frame types.
    std::string_view text() const noexcept {
        return {reinterpret_cast<const char*>(body.data()), body.size()};
    }
};

/// Splits a byte stream into frames, checking the rules of docs/protocol.md §2 as early as possible:
/// a bad length is reported as soon as its 4 bytes are in, a bad type as soon as its byte is in.
/// After an error the decoder stays failed and returns the same error.
class FrameDecoder {
public:
    explicit FrameDecoder(std::uint32_t max_frame_bytes = kDefaultMaxFrameBytes);

    /// The largest accepted length field. Changing it affects frames whose length was not yet checked.
    void set_max_frame_bytes(std::uint32_t max_frame_bytes) noexcept { max_frame_bytes_ = max_frame_bytes; }
    std::uint32_t max_frame_bytes() const noexcept { return max_frame_bytes_; }

    /// Copies `bytes` in (convenience for callers that already hold the data).
    void feed(std::span<const std::uint8_t> bytes);

    /// Writable space of at least `min_bytes` at the end of the buffer, for reading from a socket straight
    /// into the decoder; tell it how much was written with commit(). Invalidates earlier FrameViews.
    std::span<std::uint8_t> prepare(std::size_t min_bytes);
    /// Marks `bytes` of the space returned by prepare() as received.
    void commit(std::size_t bytes) noexcept;

    /// The next complete frame, std::nullopt if more bytes are needed, or the stream's error.
    Expected<std::optional<FrameView>, FrameError> next();

    /// Call at the end of the stream: an error (truncated) if it ended inside a frame, or the earlier error.
    Expected<Ok, FrameError> finish() const;

    /// Received bytes not yet returned as frames.
    std::size_t buffered_bytes() const noexcept { return end_ - begin_; }

private:
    Expected<std::optional<FrameView>, FrameError> fail(FrameErrorKind kind, std::string message);

    std::uint32_t max_frame_bytes_;
    std::unique_ptr<std::uint8_t[]> buffer_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;  // first byte not yet returned as a frame
    std::size_t end_ = 0;    // one past the last received byte
    std::optional<FrameError> error_;
};

}  // namespace spicecap
