// SPICE data message bodies and framing (see spicecap/spice_messages.hpp).
#include "spice/spice_messages.hpp"

#include <stdexcept>
#include <string>

#include "spice/spice_bytes.hpp"

namespace spicecap {

using spice_bytes::Writer;

std::vector<std::uint8_t> SpiceMessageFramer::frame(std::uint16_t type, std::span<const std::uint8_t> body) {
    return encode_data_message(mode_, next_serial_++, type, body);
}

namespace spice {

namespace {

void write_rect(Writer& w, const Rect& r) { w.i32(r.top).i32(r.left).i32(r.bottom).i32(r.right); }

/// Clip of type NONE: the only clip spicecap writes (a RECTS clip would point at a rectangle list).
void write_no_clip(Writer& w) { w.u8(0); }

/// Bytes of the DRAW_COPY fixed part: DisplayBase (surface 4 + box 16 + clip 1), src_bitmap pointer 4,
/// src_area 16, rop_descriptor 2, scale_mode 1, mask (flags 1 + pos 8 + bitmap pointer 4). The image
/// follows it, so the src_bitmap pointer (an offset from the body start) is this value.
constexpr std::uint32_t kDrawCopyFixedBytes = 4 + 16 + 1 + 4 + 16 + 2 + 1 + 13;

}  // namespace

std::vector<std::uint8_t> Ping::encode() const {
    std::vector<std::uint8_t> out;
    Writer(out).u32(id).u64(timestamp).bytes(data);
    return out;
}

std::vector<std::uint8_t> Pong::encode() const {
    std::vector<std::uint8_t> out;
    Writer(out).u32(id).u64(timestamp);
    return out;
}

std::vector<std::uint8_t> MainInit::encode() const {
    std::vector<std::uint8_t> out;
    Writer(out)
        .u32(session_id)
        .u32(display_channels_hint)
        .u32(supported_mouse_modes)
        .u32(current_mouse_mode)
        .u32(agent_connected)
        .u32(agent_tokens)
        .u32(multi_media_time)
        .u32(ram_hint);
    return out;
}

std::vector<std::uint8_t> MainChannelsList::encode() const {
    std::vector<std::uint8_t> out;
    Writer w(out);
    w.u32(static_cast<std::uint32_t>(channels.size()));
    for (const auto& c : channels) w.u8(c.type).u8(c.id);
    return out;
}

std::vector<std::uint8_t> DisplaySurfaceCreate::encode() const {
    std::vector<std::uint8_t> out;
    Writer(out).u32(surface_id).u32(width).u32(height).u32(format).u32(flags);
    return out;
}

BitmapImage BitmapImage::gradient(std::uint32_t width, std::uint32_t height, std::uint64_t id) {
    BitmapImage image;
    image.id = id;
    image.width = width;
    image.height = height;
    image.stride = width * 4;
    image.pixels.resize(std::size_t{image.stride} * height);
    for (std::uint32_t y = 0; y < height; ++y) {
        for (std::uint32_t x = 0; x < width; ++x) {
            std::uint8_t* px = &image.pixels[std::size_t{y} * image.stride + std::size_t{x} * 4];
            px[0] = static_cast<std::uint8_t>(x);      // blue
            px[1] = static_cast<std::uint8_t>(y);      // green
            px[2] = static_cast<std::uint8_t>(x ^ y);  // red
            px[3] = 0xff;                              // unused (xRGB)
        }
    }
    return image;
}

DisplayDrawCopy DisplayDrawCopy::with_image_bytes(std::size_t pixel_bytes, std::uint64_t image_id) {
    constexpr std::uint32_t kWidth = 256;
    const auto rows = static_cast<std::uint32_t>((pixel_bytes + kWidth * 4 - 1) / (kWidth * 4));
    DisplayDrawCopy copy;
    copy.image = BitmapImage::gradient(kWidth, rows == 0 ? 1 : rows, image_id);
    const auto w = static_cast<std::int32_t>(copy.image.width);
    const auto h = static_cast<std::int32_t>(copy.image.height);
    copy.box = Rect{.top = 0, .left = 0, .bottom = h, .right = w};
    copy.src_area = copy.box;
    return copy;
}

std::vector<std::uint8_t> DisplayDrawCopy::encode() const {
    if (image.pixels.size() != std::size_t{image.stride} * image.height)
        throw std::invalid_argument("DRAW_COPY bitmap has " + std::to_string(image.pixels.size()) +
                                    " bytes of pixels, not height * stride = " +
                                    std::to_string(std::size_t{image.stride} * image.height));
    std::vector<std::uint8_t> out;
    out.reserve(kDrawCopyFixedBytes + 18 + 18 + image.pixels.size());
    Writer w(out);
    // SpiceMsgDisplayBase
    w.u32(surface_id);
    write_rect(w, box);
    write_no_clip(w);
    // SpiceCopy
    w.u32(kDrawCopyFixedBytes);  // src_bitmap: offset of the image, right after this fixed part
    write_rect(w, src_area);
    w.u16(rop_descriptor).u8(scale_mode);
    w.u8(0).i32(0).i32(0).u32(0);  // QMask: no flags, position (0,0), no bitmap
    // SpiceImage: descriptor (id, type BITMAP, flags, width, height), then SpiceBitmap
    w.u64(image.id).u8(0).u8(0).u32(image.width).u32(image.height);
    w.u8(image.format).u8(image.flags).u32(image.width).u32(image.height).u32(image.stride);
    w.u32(0);  // palette pointer: none (32-bit pixels)
    w.bytes(image.pixels);
    return out;
}

std::vector<std::uint8_t> DisplayStreamCreate::encode() const {
    std::vector<std::uint8_t> out;
    Writer w(out);
    w.u32(surface_id).u32(id).u8(flags).u8(codec_type).u64(stamp);
    w.u32(stream_width).u32(stream_height).u32(src_width).u32(src_height);
    write_rect(w, dest);
    write_no_clip(w);
    return out;
}

std::vector<std::uint8_t> DisplayStreamData::tiny_jpeg() {
    static constexpr std::uint8_t kJpeg[] = {
        0xFF, 0xD8,                                                    // SOI
        0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01, 0x01,  // APP0 JFIF 1.1,
        0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,                      //   aspect 1:1, no thumbnail
        0xFF, 0xDB, 0x00, 0x43, 0x00,                                  // DQT table 0: 64 x 1
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00,  // SOF0 8x8 grey
        0xFF, 0xC4, 0x00, 0x14, 0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00,  // DC: "0" -> 0
        0xFF, 0xC4, 0x00, 0x14, 0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00,  // AC: "0" -> EOB
        0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00,  // SOS, one component, full spectrum
        0x3F,                                                        // DC diff 0, EOB, padding ones
        0xFF, 0xD9,                                                  // EOI
    };
    return {std::begin(kJpeg), std::end(kJpeg)};
}

std::vector<std::uint8_t> DisplayStreamData::encode() const {
    std::vector<std::uint8_t> out;
    Writer(out).u32(id).u32(multi_media_time).u32(static_cast<std::uint32_t>(frame.size())).bytes(frame);
    return out;
}

std::vector<std::uint8_t> InputsKeyDown::encode() const {
    std::vector<std::uint8_t> out;
    Writer(out).u32(code);
    return out;
}

std::vector<std::uint8_t> InputsKeyUp::encode() const {
    std::vector<std::uint8_t> out;
    Writer(out).u32(code);
    return out;
}

std::vector<std::uint8_t> InputsMouseMotion::encode() const {
    std::vector<std::uint8_t> out;
    Writer(out).i32(dx).i32(dy).u16(buttons_state);
    return out;
}

Cursor Cursor::alpha_arrow(std::uint16_t width, std::uint16_t height, std::uint64_t unique) {
    Cursor c;
    c.flags = 2;  // CACHE_ME
    c.unique = unique;
    c.type = 0;   // ALPHA
    c.width = width;
    c.height = height;
    c.data.resize(std::size_t{width} * height * 4);
    for (std::uint16_t y = 0; y < height; ++y) {
        for (std::uint16_t x = 0; x < width; ++x) {
            const bool inside = x <= y;  // a triangle with its tip (the hot spot) at the top-left corner
            std::uint8_t* px = &c.data[(std::size_t{y} * width + x) * 4];
            px[0] = px[1] = px[2] = inside ? 0xff : 0x00;  // white arrow
            px[3] = inside ? 0xff : 0x00;                  // transparent elsewhere
        }
    }
    return c;
}

Cursor Cursor::none() {
    Cursor c;
    c.flags = 1;  // NONE
    return c;
}

void Cursor::encode(std::vector<std::uint8_t>& out) const {
    Writer w(out);
    w.u16(flags);
    if (flags & 1) return;  // NONE: no header, no data
    w.u64(unique).u8(type).u16(width).u16(height).u16(hot_spot_x).u16(hot_spot_y);
    w.bytes(data);
}

std::vector<std::uint8_t> CursorInit::encode() const {
    std::vector<std::uint8_t> out;
    Writer(out).i16(x).i16(y).u16(trail_length).u16(trail_frequency).u8(visible);
    cursor.encode(out);
    return out;
}

std::vector<std::uint8_t> CursorSet::encode() const {
    std::vector<std::uint8_t> out;
    Writer(out).i16(x).i16(y).u8(visible);
    cursor.encode(out);
    return out;
}

std::vector<std::uint8_t> CursorMove::encode() const {
    std::vector<std::uint8_t> out;
    Writer(out).i16(x).i16(y);
    return out;
}

}  // namespace spice
}  // namespace spicecap
