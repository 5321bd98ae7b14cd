// Frame encoding and FrameDecoder: exact bytes, chunking (down to one byte at a time), every error kind,
// recovery of the frames before a bad one, and random garbage.
#include <doctest/doctest.h>

#include "wire/frame.hpp"

#include <random>
#include <string>
#include <vector>

using namespace spicecap;

namespace {

using Bytes = std::vector<std::uint8_t>;

struct Decoded {
    FrameType type;
    Bytes body;
    Bytes encoded;
};

// Feeds `stream` in chunks of `chunk` bytes, collecting frames until the stream ends or an error.
// Returns the frames and the error (if any) of next() or finish().
std::pair<std::vector<Decoded>, std::optional<FrameError>> decode(const Bytes& stream, std::size_t chunk,
                                                                   std::uint32_t max = kDefaultMaxFrameBytes) {
    FrameDecoder decoder(max);
    std::vector<Decoded> frames;
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
        const std::size_t n = std::min(chunk, stream.size() - at);
        decoder.feed(std::span{stream}.subspan(at, n));
        for (;;) {
            auto next = decoder.next();
            if (!next) return {frames, next.error()};
            if (!next.value()) break;
            const FrameView& f = **next;
            frames.push_back({f.type, {f.body.begin(), f.body.end()}, {f.encoded.begin(), f.encoded.end()}});
        }
    }
    auto end = decoder.finish();
    if (!end) return {frames, end.error()};
    return {frames, std::nullopt};
}

Bytes frame_bytes(FrameType type, std::string_view body) {
    Bytes out;
    append_frame(out, type, body);
    return out;
}

Bytes raw(std::initializer_list<int> bytes) {
    Bytes out;
    for (int b : bytes) out.push_back(static_cast<std::uint8_t>(b));
    return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

}  // namespace

TEST_CASE("frame: encoding is length LE then type then body") {
    CHECK(frame_bytes(FrameType::hello, "{}") == raw({0x03, 0x00, 0x00, 0x00, 0x01, '{', '}'}));
    CHECK(frame_bytes(FrameType::reply, R"({"ok":true})") ==
          raw({0x0c, 0, 0, 0, 0x02, '{', '"', 'o', 'k', '"', ':', 't', 'r', 'u', 'e', '}'}));

    Bytes out;
    const Bytes body(300, 0xab);
    append_frame(out, FrameType::record, std::span{body});
    REQUIRE(out.size() == 305);
    CHECK(out[0] == 0x2d);  // 301 = 0x012d
    CHECK(out[1] == 0x01);
    CHECK(out[2] == 0x00);
    CHECK(out[3] == 0x00);
    CHECK(out[4] == 0x03);
    CHECK(out[5] == 0xab);

    // Appending keeps what was there: frames are built back to back in one send buffer.
    append_frame(out, FrameType::drop, std::span<const std::uint8_t>{});
    CHECK(out.size() == 310);
    CHECK(Bytes(out.begin() + 305, out.end()) == raw({0x01, 0, 0, 0, 0x05}));
}

TEST_CASE("frame: append_frame_prefix lets the caller write the body itself") {
    Bytes out;
    append_frame_prefix(out, FrameType::event, 2);
    out.push_back('{');
    out.push_back('}');
    CHECK(out == frame_bytes(FrameType::event, "{}"));
}

TEST_CASE("frame: type names and JSON types") {
    CHECK(frame_type_name(FrameType::hello) == "HELLO");
    CHECK(frame_type_name(FrameType::request) == "REQUEST");
    CHECK(frame_body_is_json(FrameType::hello));
    CHECK(frame_body_is_json(FrameType::reply));
    CHECK(frame_body_is_json(FrameType::event));
    CHECK(frame_body_is_json(FrameType::request));
    CHECK_FALSE(frame_body_is_json(FrameType::record));
    CHECK_FALSE(frame_body_is_json(FrameType::drop));
    CHECK_FALSE(is_known_frame_type(0));
    CHECK(is_known_frame_type(1));
    CHECK(is_known_frame_type(6));
    CHECK_FALSE(is_known_frame_type(7));
    CHECK_FALSE(is_known_frame_type(0xff));
}

TEST_CASE("frame: decoder yields the same frames for every chunk size including one byte") {
    Bytes big(100'000);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7);
    Bytes stream = concat({frame_bytes(FrameType::hello, R"({"version":1,"role":"producer"})"),
                           frame_bytes(FrameType::record, "x"), frame_bytes(FrameType::event, " \n{ \"event\" : \"a\" } "),
                           frame_bytes(FrameType::drop, ""), frame_bytes(FrameType::request, R"({"command":"status"})")});
    append_frame(stream, FrameType::record, std::span{big});

    for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{5}, std::size_t{7},
                              std::size_t{64}, std::size_t{4096}, stream.size()}) {
        CAPTURE(chunk);
        auto [frames, error] = decode(stream, chunk);
        REQUIRE_FALSE(error);
        REQUIRE(frames.size() == 6);
        CHECK(frames[0].type == FrameType::hello);
        CHECK(std::string(frames[0].body.begin(), frames[0].body.end()) == R"({"version":1,"role":"producer"})");
        CHECK(frames[1].type == FrameType::record);
        CHECK(frames[1].body == raw({'x'}));
        CHECK(frames[2].type == FrameType::event);
        CHECK(frames[3].type == FrameType::drop);
        CHECK(frames[3].body.empty());
        CHECK(frames[4].type == FrameType::request);
        CHECK(frames[5].type == FrameType::record);
        CHECK(frames[5].body == big);
        // `encoded` is the frame exactly as on the wire.
        Bytes reencoded;
        for (const auto& f : frames) reencoded.insert(reencoded.end(), f.encoded.begin(), f.encoded.end());
        CHECK(reencoded == stream);
    }
}

TEST_CASE("frame: decoder reads straight from prepare and commit") {
    const Bytes stream = concat({frame_bytes(FrameType::record, "abc"), frame_bytes(FrameType::record, "defg")});
    FrameDecoder decoder;
    auto space = decoder.prepare(stream.size());
    REQUIRE(space.size() >= stream.size());
    std::copy(stream.begin(), stream.end(), space.begin());
    decoder.commit(stream.size());
    auto first = decoder.next();
    REQUIRE(first);
    REQUIRE(first.value());
    CHECK((*first)->text() == "abc");
    auto second = decoder.next();
    REQUIRE(second);
    REQUIRE(second.value());
    CHECK((*second)->text() == "defg");
    auto none = decoder.next();
    REQUIRE(none);
    CHECK_FALSE(none.value());
    CHECK(decoder.buffered_bytes() == 0);
    CHECK(decoder.finish());
}

TEST_CASE("frame: valid frames after a partial one") {
    const Bytes one = frame_bytes(FrameType::record, "first");
    const Bytes two = frame_bytes(FrameType::record, "second frame");
    FrameDecoder decoder;
    decoder.feed(one);
    decoder.feed(std::span{two}.first(6));  // prefix and one body byte of the second
    auto a = decoder.next();
    REQUIRE(a);
    REQUIRE(a.value());
    CHECK((*a)->text() == "first");
    auto pending = decoder.next();
    REQUIRE(pending);
    CHECK_FALSE(pending.value());
    CHECK(decoder.buffered_bytes() == 6);
    decoder.feed(std::span{two}.subspan(6));
    auto b = decoder.next();
    REQUIRE(b);
    REQUIRE(b.value());
    CHECK((*b)->text() == "second frame");
    // And more after that: the decoder keeps going frame after frame.
    for (int i = 0; i < 1000; ++i) {
        const Bytes f = frame_bytes(FrameType::record, std::to_string(i));
        decoder.feed(f);
        auto n = decoder.next();
        REQUIRE(n);
        REQUIRE(n.value());
        CHECK((*n)->text() == std::to_string(i));
    }
}

TEST_CASE("frame: oversize is detected from the length prefix alone") {
    FrameDecoder decoder;
    decoder.feed(raw({0xf0, 0xff, 0xff}));
    auto wait = decoder.next();
    REQUIRE(wait);
    CHECK_FALSE(wait.value());
    decoder.feed(raw({0xff}));  // length 0xFFFFFFF0, no type byte yet
    auto err = decoder.next();
    REQUIRE_FALSE(err);
    CHECK(err.error().kind == FrameErrorKind::oversize);
    CHECK(err.error().message.find("4294967280") != std::string::npos);
    CHECK(err.error().message.find("16777216") != std::string::npos);
    // The error is sticky.
    auto again = decoder.next();
    REQUIRE_FALSE(again);
    CHECK(again.error().kind == FrameErrorKind::oversize);
    CHECK_FALSE(decoder.finish());
}

TEST_CASE("frame: the maximum is inclusive and configurable") {
    const Bytes at_limit = frame_bytes(FrameType::record, std::string(99, 'a'));  // length 100
    auto [ok_frames, ok_error] = decode(at_limit, 1, 100);
    CHECK_FALSE(ok_error);
    CHECK(ok_frames.size() == 1);

    const Bytes over = frame_bytes(FrameType::record, std::string(100, 'a'));  // length 101
    auto [frames, error] = decode(over, 1, 100);
    REQUIRE(error);
    CHECK(error->kind == FrameErrorKind::oversize);
    CHECK(frames.empty());

    FrameDecoder decoder(10);
    decoder.set_max_frame_bytes(200);
    CHECK(decoder.max_frame_bytes() == 200);
    decoder.feed(over);
    auto n = decoder.next();
    REQUIRE(n);
    CHECK(n.value());
}

TEST_CASE("frame: zero length is an error") {
    auto [frames, error] = decode(concat({frame_bytes(FrameType::record, "ok"), raw({0, 0, 0, 0, 1})}), 1);
    CHECK(frames.size() == 1);
    REQUIRE(error);
    CHECK(error->kind == FrameErrorKind::zero_length);
}

TEST_CASE("frame: unknown frame types are errors as soon as the type byte arrives") {
    for (int type : {0x00, 0x07, 0x42, 0xff}) {
        CAPTURE(type);
        FrameDecoder decoder;
        decoder.feed(raw({0x10, 0, 0, 0, type}));  // 15 body bytes announced, none sent
        auto err = decoder.next();
        REQUIRE_FALSE(err);
        CHECK(err.error().kind == FrameErrorKind::unknown_type);
        CHECK(err.error().message.find(std::to_string(type)) != std::string::npos);
    }
}

TEST_CASE("frame: JSON frame bodies must be JSON objects") {
    for (FrameType type : {FrameType::hello, FrameType::reply, FrameType::event, FrameType::request}) {
        for (std::string_view body : {"", "not json", "[1,2]", "\"text\"", "42", "{", "{\"a\":1} trailing",
                                      "{\"a\":1}{\"b\":2}", "null"}) {
            CAPTURE(frame_type_name(type));
            CAPTURE(body);
            auto [frames, error] = decode(frame_bytes(type, body), 3);
            REQUIRE(error);
            CHECK(error->kind == FrameErrorKind::body_not_json_object);
            CHECK(frames.empty());
        }
        auto [frames, error] = decode(frame_bytes(type, " {\"nested\":{\"a\":[1,2,{}]}}\n"), 3);
        CHECK_FALSE(error);
        CHECK(frames.size() == 1);
    }
    // Binary frame types are not checked for JSON.
    auto [frames, error] = decode(frame_bytes(FrameType::record, "not json"), 3);
    CHECK_FALSE(error);
    CHECK(frames.size() == 1);
}

TEST_CASE("frame: a stream that ends inside a frame is truncated") {
    const Bytes whole = frame_bytes(FrameType::record, "0123456789");
    for (std::size_t cut = 1; cut < whole.size(); ++cut) {
        CAPTURE(cut);
        const Bytes stream = concat({frame_bytes(FrameType::record, "before"), Bytes(whole.begin(), whole.begin() + cut)});
        auto [frames, error] = decode(stream, 1);
        CHECK(frames.size() == 1);
        REQUIRE(error);
        CHECK(error->kind == FrameErrorKind::truncated);
        if (cut >= 4) CHECK(error->message.find("of 15 bytes") != std::string::npos);
        else CHECK(error->message.find("of 4 bytes") != std::string::npos);
    }
}

TEST_CASE("frame: random garbage ends in an error or frames and never crashes") {
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> byte(0, 255);
    int errors = 0;
    for (int round = 0; round < 200; ++round) {
        Bytes garbage(1 + rng() % 4096);
        for (auto& b : garbage) b = static_cast<std::uint8_t>(byte(rng));
        auto [frames, error] = decode(garbage, 1 + rng() % 97, 1 << 20);
        if (error) ++errors;
    }
    // Random bytes almost never form a valid stream that ends exactly on a frame boundary.
    CHECK(errors >= 195);
}

TEST_CASE("frame: a large frame fed in small pieces survives buffer growth and compaction") {
    Bytes body(3 * 1024 * 1024);
    std::mt19937 rng(7);
    for (auto& b : body) b = static_cast<std::uint8_t>(rng());
    Bytes stream;
    append_frame(stream, FrameType::record, std::span{body});
    append_frame(stream, FrameType::record, std::string_view("tail"));
    auto [frames, error] = decode(stream, 1000);
    REQUIRE_FALSE(error);
    REQUIRE(frames.size() == 2);
    CHECK(frames[0].body == body);
    CHECK(frames[1].body == raw({'t', 'a', 'i', 'l'}));
}

// Regression: a producer's EVENT of 32,000 nested arrays (64 KiB, within the daemon's JSON frame limit)
// crashed spicecapd with a 2 MiB stack when it printed the event to forward it (and would with 8 MiB in
// a debug or ASan build). Found with fuzz_daemon_json; the decoder now refuses such bodies.
TEST_CASE("frame: JSON frame bodies may nest 64 levels and no deeper") {
    const auto nested = [](std::size_t depth, std::string_view inner) {
        // The body's object is level 1; each array adds one.
        return "{\"a\":" + std::string(depth - 1, '[') + std::string(inner) + std::string(depth - 1, ']') + "}";
    };
    for (FrameType type : {FrameType::hello, FrameType::reply, FrameType::event, FrameType::request}) {
        CAPTURE(frame_type_name(type));
        auto [at_limit, at_limit_error] = decode(frame_bytes(type, nested(kMaxJsonDepth, "1")), 7);
        CHECK_FALSE(at_limit_error);
        CHECK(at_limit.size() == 1);

        auto [frames, error] = decode(frame_bytes(type, nested(kMaxJsonDepth + 1, "")), 7);
        REQUIRE(error);
        CHECK(error->kind == FrameErrorKind::json_too_deep);
        CHECK(error->message == std::string(frame_type_name(type)) +
                                    " body nests objects and arrays deeper than 64 levels");
        CHECK(frames.empty());
    }
    // The crash input itself.
    std::string deep = R"({"event":"channel_opened","kind":"spice","channel_type":2,"channel_id":0,"x":)";
    deep += std::string(32000, '[') + std::string(32000, ']') + "}";
    auto [frames, error] = decode(frame_bytes(FrameType::event, deep), 4096);
    REQUIRE(error);
    CHECK(error->kind == FrameErrorKind::json_too_deep);

    // Brackets inside strings, escaped quotes included, are text, not nesting.
    const std::string in_strings = R"({"a":")" + std::string(100, '[') + R"(\"[[[", "b":"\\", "c":[{}]})";
    auto [text_frames, text_error] = decode(frame_bytes(FrameType::event, in_strings), 5);
    CHECK_FALSE(text_error);
    CHECK(text_frames.size() == 1);
    // Depth is nesting, not the number of brackets: many shallow arrays are fine.
    std::string wide = R"({"a":[)";
    for (int i = 0; i < 1000; ++i) wide += i ? ",[[]]" : "[[]]";
    wide += "]}";
    auto [wide_frames, wide_error] = decode(frame_bytes(FrameType::event, wide), 64);
    CHECK_FALSE(wide_error);
    CHECK(wide_frames.size() == 1);
}

TEST_CASE("frame: error kind names") {
    CHECK(frame_error_kind_name(FrameErrorKind::truncated) == "truncated");
    CHECK(frame_error_kind_name(FrameErrorKind::oversize) == "oversize");
    CHECK(frame_error_kind_name(FrameErrorKind::zero_length) == "zero_length");
    CHECK(frame_error_kind_name(FrameErrorKind::unknown_type) == "unknown_type");
    CHECK(frame_error_kind_name(FrameErrorKind::body_not_json_object) == "body_not_json_object");
    CHECK(frame_error_kind_name(FrameErrorKind::json_too_deep) == "json_too_deep");
}
