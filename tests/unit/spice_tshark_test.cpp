// The decisive SPICE test: a synthetic session (main, display, inputs, cursor; each with its full link
// stage, every message its own TCP segment) written to a pcap, read back by the real tshark (4.0 here,
// 4.4 and 4.6 in tests/compat), which must name every message with its channel, dissect nothing as
// malformed, raise no warning or error, and never mistake the stream for VNC. What is checked is what
// the frames mean (message names and types, which segments TCP reassembled into which message, where
// segments are missing), not how one Wireshark version labels them: 4.0 calls a message's first
// segments "[TCP segment of a reassembled PDU]", 4.4 shows the first as SPICE with an empty Info.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "pcap/pcap_writer.hpp"
#include "spice/spice_link_stage.hpp"
#include "spice/spice_messages.hpp"
#include "spice/spice_protocol.hpp"
#include "pcap/tcp_synth.hpp"

using namespace spicecap;

namespace {

using Bytes = std::vector<std::uint8_t>;

/// What tshark must show for one SPICE message.
struct Expected {
    /// The Info column exactly.
    std::string info;
    /// spice.message_type for data messages; empty for link-stage messages.
    std::string message_type;
};

/// One message of the synthetic session and what tshark must make of it.
struct SessionMessage {
    Direction direction;
    Bytes bytes;
    Expected expected;
    /// Reported as dropped: the synthesizer skips its bytes (sequence numbers advance, nothing is sent).
    bool dropped = false;
};

/// One channel connection of the synthetic session.
struct SessionChannel {
    ChannelType type;
    /// Wireshark's Protocol column for this channel ("Spice " + its channel name in capitals).
    std::string protocol;
    std::vector<SessionMessage> messages;
};

/// The Info column Wireshark 4.0 shows for each link-stage message, in order.
const char* const kLinkStageInfo[] = {
    "Client link message",
    "Server link message",
    "Client authentication method selection",
    "Client ticket",
    "Server ticket",
};

SessionChannel channel_with_link_stage(ChannelType type, const char* protocol, HeaderMode mode,
                                       std::uint32_t session_id) {
    SessionChannel c{type, protocol, {}};
    const auto stage = synthetic_link_stage(type, 0, mode, type == ChannelType::main ? 0 : session_id);
    for (std::size_t i = 0; i < stage.size(); ++i)
        c.messages.push_back({stage[i].direction, stage[i].bytes, {kLinkStageInfo[i], ""}});
    return c;
}

/// Adds a data message framed by `framer`, expected to show as `info` with its type number.
template <class Message>
void add(SessionChannel& c, SpiceMessageFramer& framer, const Message& m, const std::string& info) {
    c.messages.push_back({Message::kDirection, framer.frame(m), {info, std::to_string(Message::kType)}});
}

/// The session of the task: main INIT, PING/PONG, CHANNELS_LIST; display SURFACE_CREATE and a 200 KiB
/// DRAW_COPY; inputs KEY_DOWN, KEY_UP, MOUSE_MOTION; cursor INIT and SET. `extra` adds the other
/// builders (STREAM_CREATE, STREAM_DATA, cursor MOVE, a small DRAW_COPY) to check they decode too.
std::vector<SessionChannel> build_session(HeaderMode mode, bool extra) {
    constexpr std::uint32_t kSessionId = 0x5eed;
    std::vector<SessionChannel> channels;

    auto main = channel_with_link_stage(ChannelType::main, "Spice MAIN", mode, kSessionId);
    SpiceMessageFramer main_server(mode), main_client(mode);
    add(main, main_server, spice::MainInit{.session_id = kSessionId}, "Server INIT");
    add(main, main_server, spice::Ping{.id = 1, .timestamp = 1000}, "Server PING");
    add(main, main_client, spice::Pong{.id = 1, .timestamp = 1000}, "Client PONG");
    add(main, main_server,
        spice::MainChannelsList{.channels = {{1, 0}, {2, 0}, {3, 0}, {4, 0}}}, "Server CHANNELS_LIST");
    channels.push_back(std::move(main));

    auto display = channel_with_link_stage(ChannelType::display, "Spice DISPLAY", mode, kSessionId);
    SpiceMessageFramer display_server(mode);
    add(display, display_server, spice::DisplaySurfaceCreate{.width = 1024, .height = 768}, "Server SURFACE_CREATE");
    add(display, display_server, spice::DisplayDrawCopy::with_image_bytes(200 * 1024), "Server DRAW_COPY");
    if (extra) {
        add(display, display_server, spice::DisplayDrawCopy::with_image_bytes(4096, 2), "Server DRAW_COPY");
        add(display, display_server,
            spice::DisplayStreamCreate{.id = 1, .stream_width = 8, .stream_height = 8, .src_width = 8,
                                       .src_height = 8, .dest = {.top = 0, .left = 0, .bottom = 8, .right = 8}},
            "Server STREAM_CREATE");
        add(display, display_server,
            spice::DisplayStreamData{.id = 1, .multi_media_time = 5, .frame = spice::DisplayStreamData::tiny_jpeg()},
            "Server STREAM_DATA (JPEG JFIF image)");  // the JPEG dissector names the frame
    }
    channels.push_back(std::move(display));

    auto inputs = channel_with_link_stage(ChannelType::inputs, "Spice INPUTS", mode, kSessionId);
    SpiceMessageFramer inputs_client(mode);
    add(inputs, inputs_client, spice::InputsKeyDown{.code = 0x1e}, "Client KEY_DOWN");
    add(inputs, inputs_client, spice::InputsKeyUp{.code = 0x9e}, "Client KEY_UP");
    add(inputs, inputs_client, spice::InputsMouseMotion{.dx = 5, .dy = -3, .buttons_state = 0}, "Client MOUSE_MOTION");
    channels.push_back(std::move(inputs));

    auto cursor = channel_with_link_stage(ChannelType::cursor, "Spice CURSOR", mode, kSessionId);
    SpiceMessageFramer cursor_server(mode);
    add(cursor, cursor_server, spice::CursorInit{.x = 10, .y = 20, .cursor = spice::Cursor::alpha_arrow(32, 32, 1)},
        "Server INIT");
    add(cursor, cursor_server, spice::CursorSet{.x = 11, .y = 21, .cursor = spice::Cursor::alpha_arrow(16, 16, 2)},
        "Server SET");
    if (extra) {
        add(cursor, cursor_server, spice::CursorMove{.x = 12, .y = 22}, "Server MOVE");
        add(cursor, cursor_server, spice::CursorSet{.x = 1, .y = 1, .cursor = spice::Cursor::none()}, "Server SET");
    }
    channels.push_back(std::move(cursor));
    return channels;
}

/// Writes the session to `path`: the main channel's link stage and INIT first (as a real client connects
/// the other channels only after INIT), then the channels' messages interleaved round-robin, so the
/// dissector's per-conversation state is exercised with other conversations in between.
void write_session(const std::vector<SessionChannel>& channels, bool handshake, const std::string& path) {
    auto writer = PcapWriter::open_path(path, kLinkTypeEthernet);
    REQUIRE_MESSAGE(writer.has_value(), writer.error());
    std::vector<TcpStreamSynthesizer> streams;
    for (const auto& c : channels)
        streams.emplace_back(spice_endpoints(0, static_cast<std::uint8_t>(c.type), 0), TcpSynthOptions{handshake});

    std::uint64_t ts = 1'700'000'000'000'000'000ull;
    const FrameSink sink = [&](const FrameMeta& meta, std::span<const std::uint8_t> frame) {
        auto ok = writer->write(meta.timestamp_ns, frame);
        REQUIRE_MESSAGE(ok.has_value(), ok.error());
    };
    auto emit = [&](std::size_t channel, std::size_t index) {
        const auto& m = channels[channel].messages[index];
        if (m.dropped)
            streams[channel].skip(static_cast<Direction>(m.direction), m.bytes.size());
        else
            streams[channel].message(static_cast<Direction>(m.direction), m.bytes, FrameMeta{.timestamp_ns = ts += 1000}, sink);
    };

    std::vector<std::size_t> next(channels.size(), 0);
    for (; next[0] < 6; ++next[0]) emit(0, next[0]);  // main: link stage + INIT
    for (bool more = true; more;) {
        more = false;
        for (std::size_t c = 0; c < channels.size(); ++c) {
            if (next[c] < channels[c].messages.size()) {
                emit(c, next[c]++);
                more = true;
            }
        }
    }
    for (auto& s : streams) s.close(FrameMeta{.timestamp_ns = ts += 1000}, sink);
    auto closed = writer->close();
    REQUIRE_MESSAGE(closed.has_value(), closed.error());
}

/// One line of `tshark -T fields` output.
struct Frame {
    int number = 0;
    int src_port = 0;
    int dst_port = 0;
    int tcp_len = 0;
    std::string protocol;
    std::string info;
    std::string message_types;
    std::string malformed;
    std::string expert_severity;
    std::string expert_message;
    std::string vnc;
    /// tcp.segment: on the frame that completes a reassembled message, the frames it was made of.
    std::vector<int> reassembled_from;
    /// tcp.analysis.lost_segment: TCP saw bytes missing before this segment.
    bool after_lost_segment = false;
    /// tcp.analysis.ack_lost_segment: this segment acknowledges bytes that were never seen.
    bool acks_lost_segment = false;
};

/// The fields the test reads, in order. Everything goes through the real tshark with an empty
/// configuration directory, so no user preference or "Decode As" entry can change the result.
const char* const kFields[] = {"frame.number", "tcp.srcport", "tcp.dstport", "tcp.len", "_ws.col.Protocol",
                               "_ws.col.Info", "spice.message_type", "_ws.malformed", "_ws.expert.severity",
                               "_ws.expert.message", "vnc", "tcp.segment", "tcp.analysis.lost_segment",
                               "tcp.analysis.ack_lost_segment"};

std::vector<Frame> run_tshark(const std::string& pcap, bool two_pass) {
    const std::filesystem::path config = pcap + ".wsconfig";
    std::filesystem::create_directories(config);
    std::string cmd = "WIRESHARK_CONFIG_DIR='" + config.string() + "' tshark -n -r '" + pcap + "'" +
                      (two_pass ? " -2" : "") + " -T fields -E separator=/t -E occurrence=a -E 'aggregator=|'";
    for (const char* f : kFields) cmd += std::string(" -e ") + f;
    cmd += " 2>'" + pcap + ".stderr'";

    FILE* out = popen(cmd.c_str(), "r");
    REQUIRE_MESSAGE(out != nullptr, "cannot run: " << cmd);
    std::string text;
    char buf[4096];
    for (std::size_t n; (n = fread(buf, 1, sizeof buf, out)) > 0;) text.append(buf, n);
    const int status = pclose(out);
    std::string err;
    if (FILE* e = fopen((pcap + ".stderr").c_str(), "r")) {
        for (std::size_t n; (n = fread(buf, 1, sizeof buf, e)) > 0;) err.append(buf, n);
        fclose(e);
    }
    REQUIRE_MESSAGE(WIFEXITED(status), cmd);
    REQUIRE_MESSAGE(WEXITSTATUS(status) == 0, "tshark failed: " << err);

    std::vector<Frame> frames;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        std::vector<std::string> cols;
        std::size_t start = 0;
        for (std::size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
            cols.push_back(line.substr(start, tab - start));
        cols.push_back(line.substr(start));
        REQUIRE_MESSAGE(cols.size() == std::size(kFields), "unexpected tshark line: " << line);
        auto num = [](const std::string& s) { return s.empty() ? 0 : std::stoi(s); };
        std::vector<int> segments;
        for (std::size_t start = 0, end; start < cols[11].size(); start = end + 1) {
            end = cols[11].find('|', start);
            if (end == std::string::npos) end = cols[11].size();
            segments.push_back(num(cols[11].substr(start, end - start)));
        }
        frames.push_back({num(cols[0]), num(cols[1]), num(cols[2]), num(cols[3]), cols[4], cols[5], cols[6],
                          cols[7], cols[8], cols[9], cols[10], std::move(segments), !cols[12].empty(),
                          !cols[13].empty()});
    }
    return frames;
}

/// How many TCP segments a message of `bytes` becomes.
std::size_t segments(std::size_t bytes) { return (bytes + kMaxSegmentPayload - 1) / kMaxSegmentPayload; }

/// A pcap path in $TMPDIR (or /tmp) whose file and tshark side files (stderr, empty configuration
/// directory) are removed however the test ends, unless SPICECAP_KEEP_PCAP is set: then the pcap stays
/// and its path is printed, to open it in Wireshark.
struct TempPcap {
    std::string path;

    explicit TempPcap(const char* name) {
        const char* dir = std::getenv("TMPDIR");
        path = std::string(dir ? dir : "/tmp") + "/spicecap-test-" + std::to_string(getpid()) + "-" + name;
    }
    TempPcap(const TempPcap&) = delete;
    TempPcap& operator=(const TempPcap&) = delete;
    ~TempPcap() {
        std::error_code ignored;
        std::filesystem::remove_all(path + ".wsconfig", ignored);
        std::filesystem::remove(path + ".stderr", ignored);
        if (std::getenv("SPICECAP_KEEP_PCAP"))
            std::fprintf(stderr, "kept %s\n", path.c_str());
        else
            std::filesystem::remove(path, ignored);
    }
};

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> parts;
    if (s.empty()) return parts;
    std::size_t start = 0;
    for (std::size_t at; (at = s.find(sep, start)) != std::string::npos; start = at + 1)
        parts.push_back(s.substr(start, at - start));
    parts.push_back(s.substr(start));
    return parts;
}

/// Expert severities as tshark prints them (PI_WARN, PI_ERROR); chat and notes (e.g. DRAW_COPY's "value
/// irrelevant as bitmap address is 0" on its empty mask) are fine.
constexpr unsigned long kExpertWarn = 0x00600000;


/// Checks every frame tshark printed against the session, channel by channel.
void check_decoding(const std::vector<SessionChannel>& channels, const std::vector<Frame>& frames,
                    bool gaps_expected = false) {
    REQUIRE_FALSE(frames.empty());
    for (const auto& f : frames) {
        CAPTURE(f.number);
        CAPTURE(f.info);
        CHECK_MESSAGE(f.malformed.empty(), "malformed frame");
        CHECK_MESSAGE(f.vnc.empty(), "decoded as VNC");
        CHECK(f.protocol != "VNC");
        const auto severities = split(f.expert_severity, '|');
        const auto messages = split(f.expert_message, '|');
        REQUIRE(severities.size() == messages.size());
        // Warnings TCP itself gives, rightly, around records dropped on purpose: one for the bytes missing
        // before a segment, one for acknowledging bytes never seen. Nothing else may warn.
        std::size_t allowed = gaps_expected ? std::size_t{f.after_lost_segment} + std::size_t{f.acks_lost_segment} : 0;
        for (std::size_t i = 0; i < severities.size(); ++i) {
            if (std::stoul(severities[i]) < kExpertWarn) continue;
            if (allowed > 0) {
                --allowed;
                continue;
            }
            FAIL_CHECK("expert warning or error: " << messages[i]);
        }
    }

    // The frames that are only part of a message: those a later frame names as the segments it reassembled.
    std::set<int> parts;
    for (const auto& f : frames) {
        for (const int segment : f.reassembled_from) {
            if (segment != f.number) parts.insert(segment);
        }
    }

    for (const auto& c : channels) {
        const int client_port = spice_endpoints(0, static_cast<std::uint8_t>(c.type), 0).client.port;
        CAPTURE(c.protocol);
        std::vector<const Frame*> spice, continuation;
        for (const auto& f : frames) {
            if (f.tcp_len == 0 || (f.src_port != client_port && f.dst_port != client_port)) continue;
            (parts.count(f.number) > 0 ? continuation : spice).push_back(&f);
        }
        std::size_t expected_continuations = 0;
        // The messages that were sent, each with whether TCP must find bytes missing before it (records
        // dropped on purpose just before, in the same direction).
        std::vector<std::pair<const SessionMessage*, bool>> sent;
        bool gap[2] = {false, false};
        for (const auto& m : c.messages) {
            const auto d = static_cast<std::size_t>(m.direction);
            if (m.dropped) {
                gap[d] = true;
                continue;
            }
            sent.emplace_back(&m, gap[d]);
            gap[d] = false;
            expected_continuations += segments(m.bytes.size()) - 1;
        }
        CHECK(continuation.size() == expected_continuations);
        for (const Frame* f : continuation) {
            CAPTURE(f->number);
            CHECK(f->message_types.empty());  // a part is no message of its own
        }

        REQUIRE(spice.size() == sent.size());
        for (std::size_t i = 0; i < spice.size(); ++i) {
            const Frame& f = *spice[i];
            const SessionMessage& m = *sent[i].first;
            CAPTURE(i);
            CAPTURE(f.number);
            CHECK(f.protocol == c.protocol);
            // The SPICE dissector's name of the message ends the Info column; TCP may put its own note on
            // a segment after a gap in front of it.
            CHECK(f.info.ends_with(m.expected.info));
            CHECK(f.info.size() >= m.expected.info.size());
            CHECK((sent[i].second || f.info == m.expected.info));
            CHECK(f.after_lost_segment == sent[i].second);
            CHECK(f.message_types == m.expected.message_type);
            const bool to_server = f.dst_port == kDefaultSpiceServerPort;
            CHECK(to_server == (m.direction == Direction::client_to_server));
        }
    }
}

}  // namespace

TEST_CASE("tshark decodes a synthetic SPICE session with mini headers message by message") {
    const auto channels = build_session(HeaderMode::mini, false);
    const TempPcap tmp("spice-mini.pcap");
    const std::string& pcap = tmp.path;
    write_session(channels, /*handshake=*/true, pcap);
    SUBCASE("one pass, as in a live capture") { check_decoding(channels, run_tshark(pcap, false)); }
    SUBCASE("two passes, as when Wireshark reopens a file") { check_decoding(channels, run_tshark(pcap, true)); }
}

TEST_CASE("tshark decodes a synthetic SPICE session with full headers and every builder") {
    const auto channels = build_session(HeaderMode::full, true);
    const TempPcap tmp("spice-full.pcap");
    const std::string& pcap = tmp.path;
    write_session(channels, /*handshake=*/false, pcap);
    check_decoding(channels, run_tshark(pcap, false));
}

TEST_CASE("tshark keeps decoding SPICE after records dropped mid-stream") {
    // Design §4: dropped records advance the sequence numbers, so Wireshark marks the gap and, since
    // every message starts a segment, resynchronizes on the next message.
    auto channels = build_session(HeaderMode::mini, true);
    auto& display = channels[1].messages;
    REQUIRE(display.size() == 10);
    display[6].dropped = true;  // the 200 KiB DRAW_COPY
    display[8].dropped = true;  // STREAM_CREATE
    channels[2].messages[6].dropped = true;  // inputs KEY_UP (client direction)
    const TempPcap tmp("spice-drops.pcap");
    const std::string& pcap = tmp.path;
    write_session(channels, /*handshake=*/true, pcap);
    check_decoding(channels, run_tshark(pcap, false), /*gaps_expected=*/true);
}
