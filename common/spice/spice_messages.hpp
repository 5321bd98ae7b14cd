// SPICE data message bodies spicecap builds itself (tests, `spicecap demo`), laid out as spice-common's
// spice.proto marshals them, and a framer that puts the data header for the negotiated mode in front.
//
// Every body here is also exactly what Wireshark 4.0's SPICE dissector reads: it checks that a server
// message body is consumed to the byte ("not fully dissected" otherwise), so the sizes matter.
// Usage: `SpiceMessageFramer server(HeaderMode::mini); auto bytes = server.frame(spice::Ping{.id = 1});`
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "spice/spice_protocol.hpp"

namespace spicecap {

/// Frames message bodies with data headers for ONE direction of one channel, numbering serials as a real
/// sender does (1, 2, 3...; only the full header carries them).
class SpiceMessageFramer {
public:
    explicit SpiceMessageFramer(HeaderMode mode, std::uint64_t first_serial = 1) noexcept
        : mode_(mode), next_serial_(first_serial) {}

    /// A whole data message: header for the mode, then `body`.
    std::vector<std::uint8_t> frame(std::uint16_t type, std::span<const std::uint8_t> body);
    /// A whole data message for one of the body types below (its kType, its encode()).
    template <class Message>
    std::vector<std::uint8_t> frame(const Message& message) {
        return frame(Message::kType, message.encode());
    }

    HeaderMode mode() const noexcept { return mode_; }
    std::uint64_t next_serial() const noexcept { return next_serial_; }

private:
    HeaderMode mode_;
    std::uint64_t next_serial_;
};

namespace spice {

/// A rectangle as spice.proto orders it (top, left, bottom, right). Wireshark labels the four values
/// left, top, right, bottom; spicecap follows the protocol.
struct Rect {
    std::int32_t top = 0;
    std::int32_t left = 0;
    std::int32_t bottom = 0;
    std::int32_t right = 0;
};

// --- common (every channel) ------------------------------------------------------------------------------

/// Server PING: the client answers with a PONG carrying the same id and timestamp.
struct Ping {
    static constexpr std::uint16_t kType = server_msg::ping;
    static constexpr Direction kDirection = Direction::server_to_client;
    /// Counter the server matches the PONG with.
    std::uint32_t id = 0;
    /// Server time of sending (monotonic, microseconds in spice-server).
    std::uint64_t timestamp = 0;
    /// Padding spice-server adds to measure bandwidth; usually empty.
    std::vector<std::uint8_t> data{};
    std::vector<std::uint8_t> encode() const;
};

/// Client PONG: the answer to a PING.
struct Pong {
    static constexpr std::uint16_t kType = client_msg::pong;
    static constexpr Direction kDirection = Direction::client_to_server;
    /// The PING's id.
    std::uint32_t id = 0;
    /// The PING's timestamp.
    std::uint64_t timestamp = 0;
    std::vector<std::uint8_t> encode() const;
};

// --- main channel ----------------------------------------------------------------------------------------

/// Server INIT on the main channel: the session's parameters, its first data message.
struct MainInit {
    static constexpr std::uint16_t kType = server_msg::main_init;
    static constexpr Direction kDirection = Direction::server_to_client;
    /// Session id; the client puts it in the connection_id of every other channel's link message.
    std::uint32_t session_id = 0;
    /// How many display channels the client should expect.
    std::uint32_t display_channels_hint = 1;
    /// Mouse modes the server supports (bit 0 server, bit 1 client).
    std::uint32_t supported_mouse_modes = 3;
    /// The mouse mode in use (1 server, 2 client).
    std::uint32_t current_mouse_mode = 2;
    /// 1 when the guest agent is connected.
    std::uint32_t agent_connected = 0;
    /// Agent message tokens granted to the client.
    std::uint32_t agent_tokens = 10;
    /// Server multimedia time (ms) for stream/audio synchronization.
    std::uint32_t multi_media_time = 0;
    /// Guest RAM hint for the client's image cache.
    std::uint32_t ram_hint = 0;
    std::vector<std::uint8_t> encode() const;
};

/// One entry of CHANNELS_LIST.
struct ChannelId {
    /// Channel type number (ChannelType).
    std::uint8_t type = 0;
    /// Channel id within that type.
    std::uint8_t id = 0;
};

/// Server CHANNELS_LIST: the channels the client may connect.
struct MainChannelsList {
    static constexpr std::uint16_t kType = server_msg::main_channels_list;
    static constexpr Direction kDirection = Direction::server_to_client;
    /// The channels, in the server's order.
    std::vector<ChannelId> channels{};
    std::vector<std::uint8_t> encode() const;
};

// --- display channel -------------------------------------------------------------------------------------

/// Server SURFACE_CREATE: a drawing surface (surface 0 with flag PRIMARY is the screen).
struct DisplaySurfaceCreate {
    static constexpr std::uint16_t kType = server_msg::display_surface_create;
    static constexpr Direction kDirection = Direction::server_to_client;
    /// Surface id; 0 is the primary surface.
    std::uint32_t surface_id = 0;
    /// Width in pixels.
    std::uint32_t width = 0;
    /// Height in pixels.
    std::uint32_t height = 0;
    /// SpiceSurfaceFmt: 32 = 32_xRGB.
    std::uint32_t format = 32;
    /// SpiceSurfaceFlags: 1 = PRIMARY.
    std::uint32_t flags = 1;
    std::vector<std::uint8_t> encode() const;
};

/// An uncompressed image (SpiceImage of type BITMAP with a 32-bit SpiceBitmap, no palette).
struct BitmapImage {
    /// Image id (cache key) from the image descriptor.
    std::uint64_t id = 0;
    /// Width in pixels.
    std::uint32_t width = 0;
    /// Height in pixels (rows).
    std::uint32_t height = 0;
    /// Bytes per row; at least width * 4.
    std::uint32_t stride = 0;
    /// SpiceBitmapFmt: 8 = 32BIT (xRGB little-endian).
    std::uint8_t format = 8;
    /// SpiceBitmapFlags: 4 = TOP_DOWN.
    std::uint8_t flags = 4;
    /// height * stride bytes of pixels.
    std::vector<std::uint8_t> pixels{};

    /// A width x height gradient with stride width * 4, so an image of N bytes of pixels is easy to ask for.
    static BitmapImage gradient(std::uint32_t width, std::uint32_t height, std::uint64_t id = 1);
};

/// Server DRAW_COPY: copy an image onto a surface; the message that carries most pixels on a display
/// channel. The body is the fixed part (57 bytes) followed by the image it points at.
struct DisplayDrawCopy {
    static constexpr std::uint16_t kType = server_msg::display_draw_copy;
    static constexpr Direction kDirection = Direction::server_to_client;
    /// Target surface.
    std::uint32_t surface_id = 0;
    /// Destination rectangle on the surface (the clip is NONE).
    Rect box{};
    /// Area of the image to copy.
    Rect src_area{};
    /// SpiceRopd: 8 = OP_PUT.
    std::uint16_t rop_descriptor = 8;
    /// SpiceImageScaleMode: 0 = INTERPOLATE.
    std::uint8_t scale_mode = 0;
    /// The source image (the mask is empty).
    BitmapImage image{};

    /// A copy of a gradient image with at least `pixel_bytes` bytes of pixels (256 pixels wide, as many
    /// rows as needed), drawn at the surface's top-left corner.
    static DisplayDrawCopy with_image_bytes(std::size_t pixel_bytes, std::uint64_t image_id = 1);
    /// Throws std::invalid_argument if image.pixels is not height * stride bytes.
    std::vector<std::uint8_t> encode() const;
};

/// Server STREAM_CREATE: a video stream (MJPEG) on a region of a surface.
struct DisplayStreamCreate {
    static constexpr std::uint16_t kType = server_msg::display_stream_create;
    static constexpr Direction kDirection = Direction::server_to_client;
    /// Surface the stream plays on.
    std::uint32_t surface_id = 0;
    /// Stream id STREAM_DATA refers to.
    std::uint32_t id = 0;
    /// SpiceStreamFlags: 1 = TOP_DOWN.
    std::uint8_t flags = 1;
    /// SpiceVideoCodecType: 1 = MJPEG.
    std::uint8_t codec_type = 1;
    /// Creation time stamp.
    std::uint64_t stamp = 0;
    /// Encoded frame width.
    std::uint32_t stream_width = 0;
    /// Encoded frame height.
    std::uint32_t stream_height = 0;
    /// Source region width.
    std::uint32_t src_width = 0;
    /// Source region height.
    std::uint32_t src_height = 0;
    /// Where frames are drawn (the clip is NONE).
    Rect dest{};
    std::vector<std::uint8_t> encode() const;
};

/// Server STREAM_DATA: one encoded frame of a stream. Wireshark hands the frame to its JPEG dissector.
struct DisplayStreamData {
    static constexpr std::uint16_t kType = server_msg::display_stream_data;
    static constexpr Direction kDirection = Direction::server_to_client;
    /// The stream (STREAM_CREATE id).
    std::uint32_t id = 0;
    /// When to show the frame, in multimedia time (ms).
    std::uint32_t multi_media_time = 0;
    /// The encoded frame (a JPEG image for MJPEG streams).
    std::vector<std::uint8_t> frame{};

    /// A complete, valid 8x8 grey baseline JPEG, for streams whose frames only need to be well-formed.
    static std::vector<std::uint8_t> tiny_jpeg();
    std::vector<std::uint8_t> encode() const;
};

// --- inputs channel --------------------------------------------------------------------------------------

/// Client KEY_DOWN: a key was pressed (PC AT scan code, extended keys 0xe0-prefixed in the high byte).
struct InputsKeyDown {
    static constexpr std::uint16_t kType = client_msg::inputs_key_down;
    static constexpr Direction kDirection = Direction::client_to_server;
    /// Scan code.
    std::uint32_t code = 0;
    std::vector<std::uint8_t> encode() const;
};

/// Client KEY_UP: a key was released (the scan code with the break bit, e.g. 0x9e for 'a').
struct InputsKeyUp {
    static constexpr std::uint16_t kType = client_msg::inputs_key_up;
    static constexpr Direction kDirection = Direction::client_to_server;
    /// Scan code.
    std::uint32_t code = 0;
    std::vector<std::uint8_t> encode() const;
};

/// Client MOUSE_MOTION: relative mouse movement (server mouse mode).
struct InputsMouseMotion {
    static constexpr std::uint16_t kType = client_msg::inputs_mouse_motion;
    static constexpr Direction kDirection = Direction::client_to_server;
    /// Horizontal movement in pixels.
    std::int32_t dx = 0;
    /// Vertical movement in pixels.
    std::int32_t dy = 0;
    /// Buttons held (bit 0 left, 1 middle, 2 right).
    std::uint16_t buttons_state = 0;
    std::vector<std::uint8_t> encode() const;
};

// --- cursor channel --------------------------------------------------------------------------------------

/// A cursor shape (SpiceCursor): flags, then unless flags is NONE a header and the pixel data.
struct Cursor {
    /// SpiceCursorFlags: 1 = NONE (no cursor), 2 = CACHE_ME, 4 = FROM_CACHE.
    std::uint16_t flags = 2;
    /// Cache key of the shape.
    std::uint64_t unique = 0;
    /// SpiceCursorType: 0 = ALPHA (32-bit ARGB).
    std::uint8_t type = 0;
    /// Width in pixels.
    std::uint16_t width = 0;
    /// Height in pixels.
    std::uint16_t height = 0;
    /// Hot spot column.
    std::uint16_t hot_spot_x = 0;
    /// Hot spot row.
    std::uint16_t hot_spot_y = 0;
    /// Pixel data; for ALPHA width * height * 4 bytes.
    std::vector<std::uint8_t> data{};

    /// A width x height ALPHA arrow-ish shape with its hot spot at the top-left corner.
    static Cursor alpha_arrow(std::uint16_t width, std::uint16_t height, std::uint64_t unique = 1);
    /// "No cursor" (flags NONE, no header, no data).
    static Cursor none();
    void encode(std::vector<std::uint8_t>& out) const;
};

/// Server cursor INIT: the cursor channel's first message.
struct CursorInit {
    static constexpr std::uint16_t kType = server_msg::cursor_init;
    static constexpr Direction kDirection = Direction::server_to_client;
    /// Pointer position.
    std::int16_t x = 0;
    std::int16_t y = 0;
    /// Mouse trail length (0 = none).
    std::uint16_t trail_length = 0;
    /// Mouse trail frequency.
    std::uint16_t trail_frequency = 0;
    /// 1 when the cursor is shown.
    std::uint8_t visible = 1;
    /// The current shape.
    Cursor cursor{};
    std::vector<std::uint8_t> encode() const;
};

/// Server cursor SET: a new shape (and position).
struct CursorSet {
    static constexpr std::uint16_t kType = server_msg::cursor_set;
    static constexpr Direction kDirection = Direction::server_to_client;
    /// Pointer position.
    std::int16_t x = 0;
    std::int16_t y = 0;
    /// 1 when the cursor is shown.
    std::uint8_t visible = 1;
    /// The new shape.
    Cursor cursor{};
    std::vector<std::uint8_t> encode() const;
};

/// Server cursor MOVE: the pointer moved (server mouse mode).
struct CursorMove {
    static constexpr std::uint16_t kType = server_msg::cursor_move;
    static constexpr Direction kDirection = Direction::server_to_client;
    /// New pointer position.
    std::int16_t x = 0;
    std::int16_t y = 0;
    std::vector<std::uint8_t> encode() const;
};

}  // namespace spice
}  // namespace spicecap
