// Writes the seed corpora of the fuzz targets: a few valid encodings per target, made with the project's
// own encoders so they follow the formats exactly. The files are committed under tests/fuzz/corpus/; run
// this again (and commit the result) when a format changes:
//
//     build/tests/fuzz/spicecap_fuzz_seeds tests/fuzz/corpus
//
// Each target's input format is described at the top of its fuzz_*.cpp.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "chunked_input.hpp"
#include "wire/frame.hpp"
#include "wire/record.hpp"
#include "spice/spice_link_stage.hpp"
#include "spice/spice_messages.hpp"
#include "spice/spice_protocol.hpp"
#include "vsock/vsock_packet.hpp"
#include "pcap/spice_frames.hpp"
#include "pcap/vsock_frames.hpp"

namespace {

using namespace spicecap;
using Bytes = std::vector<std::uint8_t>;
namespace fs = std::filesystem;

fs::path g_root;

void write_seed(const std::string& target, const std::string& name, const Bytes& bytes) {
    const fs::path dir = g_root / target;
    fs::create_directories(dir);
    std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + (dir / name).string());
}

Bytes text_bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

// --- frame_codec: chunk streams of whole connections ------------------------------------------------------

RecordHeader spice_header(Direction direction, ChannelType channel) {
    RecordHeader h;
    h.kind = StreamKind::spice;
    h.direction = direction;
    h.channel_type = static_cast<std::uint8_t>(channel);
    h.timestamp_ns = 1'700'000'000'000'000'000ull;
    return h;
}

void frame_codec_seeds() {
    Bytes producer;
    append_frame(producer, FrameType::hello, R"({"version":1,"role":"producer","name":"seed","pid":42,"session":"vm"})");
    append_frame(producer, FrameType::event, R"({"event":"channel_opened","kind":"spice","channel_type":2,"channel_id":0,"header":"mini"})");
    const Bytes ping = {0x04, 0x00, 0x0c, 0x00, 0x00, 0x00, 1, 0, 0, 0, 99, 0, 0, 0, 0, 0, 0, 0};
    append_record_frame(producer, spice_header(Direction::server_to_client, ChannelType::display), ping);
    RecordHeader vsock;
    vsock.kind = StreamKind::usb_vsock;
    vsock.direction = Direction::device_to_host;
    Bytes transfer;
    vsock::append_packet(transfer, vsock::PacketType::connect, {3, 2, 22, 5001});
    append_record_frame(producer, vsock, transfer);
    append_frame(producer, FrameType::event, R"({"event":"producer_stats","dropped_records":3,"dropped_bytes":300})");

    Bytes subscriber;
    append_frame(subscriber, FrameType::reply, R"({"ok":true,"subscriber":1})");
    auto to_subscriber = spice_header(Direction::client_to_server, ChannelType::inputs);
    to_subscriber.session = 7;
    to_subscriber.flags = kRecordFlagFullHeader;
    append_record_frame(subscriber, to_subscriber, ping);
    DropNotice drop;
    drop.where = spice_header(Direction::server_to_client, ChannelType::display);
    drop.where.session = 7;
    drop.records = 12;
    drop.bytes = 34567;
    append_drop_frame(subscriber, drop);

    Bytes control;
    append_frame(control, FrameType::hello, R"({"version":1,"role":"control"})");
    append_frame(control, FrameType::request, R"({"command":"status"})");

    for (const auto& [name, stream] : {std::pair{"producer", producer}, {"subscriber", subscriber}, {"control", control}}) {
        for (std::size_t chunk : {std::size_t{128}, std::size_t{5}}) {
            Bytes seed;
            // Alternate the two input paths (feed, prepare/commit) chunk by chunk.
            for (std::size_t at = 0, lane = 0; at < stream.size(); at += chunk, lane ^= 1) {
                const std::size_t n = std::min(chunk, stream.size() - at);
                fuzz::encode_chunks(seed, static_cast<unsigned>(lane), std::span(stream).subspan(at, n), n);
            }
            write_seed("frame_codec", std::string(name) + "_chunks" + std::to_string(chunk), seed);
        }
    }
}

// --- daemon_json: selector byte + JSON body ---------------------------------------------------------------

void daemon_json_seeds() {
    const std::pair<const char*, std::string_view> hellos[] = {
        {"hello_producer", R"({"version":1,"role":"producer","name":"ryll","pid":1234,"session":"vm1"})"},
        {"hello_subscriber", R"({"version":1,"role":"subscriber","kind":"spice","channels":["main","display"],"sessions":[1,2],"history_seconds":2.5})"},
        {"hello_subscriber_vsock", R"({"version":1,"role":"subscriber","kind":"usbvsock"})"},
        {"hello_control", R"({"version":1,"role":"control"})"},
    };
    for (const auto& [name, body] : hellos) {
        Bytes seed{0};
        seed.insert(seed.end(), body.begin(), body.end());
        write_seed("daemon_json", name, seed);
    }
    const std::pair<const char*, std::string_view> events[] = {
        {"event_channel_opened", R"({"event":"channel_opened","kind":"spice","channel_type":1,"channel_id":0,"header":"full"})"},
        {"event_channel_closed", R"({"event":"channel_closed","kind":"usbvsock","channel_type":0,"channel_id":1})"},
        {"event_producer_stats", R"({"event":"producer_stats","dropped_records":5,"dropped_bytes":640})"},
        {"event_unknown", R"({"event":"something_new","x":[1,2.5,null,true,{"y":"z"}]})"},
    };
    for (const auto& [name, body] : events) {
        Bytes seed{1};
        seed.insert(seed.end(), body.begin(), body.end());
        write_seed("daemon_json", name, seed);
    }
    // Regression: nesting like this (32,000 levels in the original 64 KiB input) crashed spicecapd when it
    // printed the event; the frame decoder now refuses bodies deeper than kMaxJsonDepth. 4,000 levels
    // keep the seed within the CI runs' -max_len.
    Bytes deep{1};
    const std::string deep_body = R"({"event":"channel_opened","kind":"spice","channel_type":2,"channel_id":0,"x":)" +
                                  std::string(4000, '[') + std::string(4000, ']') + "}";
    deep.insert(deep.end(), deep_body.begin(), deep_body.end());
    write_seed("daemon_json", "regression_event_nested_deep", deep);
    for (const auto& [name, body] : {std::pair{"request_status", R"({"command":"status"})"},
                                     {"request_sessions", R"({"command":"sessions"})"}}) {
        Bytes seed{2};
        const std::string_view text = body;
        seed.insert(seed.end(), text.begin(), text.end());
        write_seed("daemon_json", name, seed);
    }
}

// --- vsock: one transfer, and one pcap record ---------------------------------------------------------------

void vsock_seeds() {
    using vsock::PacketType;
    const vsock::Address ssh{3, 2, 22, 5001};
    Bytes handshake;
    vsock::append_packet(handshake, PacketType::sync, {}, text_bytes("vsock:1"));
    write_seed("vsock", "transfer_sync", handshake);

    Bytes session;
    vsock::append_packet(session, PacketType::connect, ssh);
    vsock::append_packet(session, PacketType::data, ssh, text_bytes("SSH-2.0-OpenSSH_9.2\r\n"));
    vsock::append_packet(session, PacketType::data, {}, text_bytes("control"));
    vsock::append_packet(session, PacketType::pause, {}, vsock::pause_payload(true));
    vsock::append_packet(session, PacketType::echo, {}, text_bytes("ping"));
    vsock::append_packet(session, PacketType::finish, ssh);
    vsock::append_packet(session, PacketType::sync, {}, text_bytes("vsock:2:0badf00d"));
    write_seed("vsock", "transfer_session", session);

    vsock::TransferMeta meta;
    meta.direction = Direction::device_to_host;
    meta.link = 1;
    meta.original_length = static_cast<std::uint32_t>(session.size() + 100);
    for (const auto& part : vsock::split_transfer(meta, session)) write_seed("vsock", "pcap_record", vsock::build_pcap_record(part));
}

// --- spice_parser: both directions of one channel connection as a chunk stream ------------------------------

std::vector<SpiceWireMessage> display_session(HeaderMode mode) {
    auto messages = synthetic_link_stage(ChannelType::display, 0, mode, 0x1234);
    SpiceMessageFramer server(mode), client(mode);
    auto add = [&](Direction direction, Bytes bytes) {
        SpiceWireMessage m;
        m.direction = direction;
        m.bytes = std::move(bytes);
        messages.push_back(std::move(m));
    };
    add(Direction::server_to_client, server.frame(spice::DisplaySurfaceCreate{.width = 640, .height = 480}));
    add(Direction::server_to_client, server.frame(spice::Ping{.id = 1, .timestamp = 99}));
    add(Direction::client_to_server, client.frame(spice::Pong{.id = 1, .timestamp = 99}));
    add(Direction::server_to_client, server.frame(spice::DisplayDrawCopy::with_image_bytes(300)));
    return messages;
}

void spice_parser_seeds() {
    for (HeaderMode mode : {HeaderMode::mini, HeaderMode::full}) {
        const std::string name = mode == HeaderMode::mini ? "mini" : "full";
        const auto session = display_session(mode);
        for (std::size_t chunk : {std::size_t{128}, std::size_t{7}}) {
            Bytes seed;
            for (const auto& m : session) fuzz::encode_chunks(seed, static_cast<unsigned>(m.direction), m.bytes, chunk);
            write_seed("spice_parser", name + "_in_order_chunks" + std::to_string(chunk), seed);
        }
        // The client's whole stream first: its auth selection must wait for the server's reply.
        Bytes seed;
        for (auto direction : {Direction::client_to_server, Direction::server_to_client})
            for (const auto& m : session)
                if (m.direction == direction) fuzz::encode_chunks(seed, static_cast<unsigned>(direction), m.bytes, 128);
        write_seed("spice_parser", name + "_client_first", seed);
    }
    // A longer display stream (90 KB) in 127-byte pieces, which seldom end where a message does: once 64 KiB
    // are consumed with a message half in, the parser compacts its buffer, which no short input reaches.
    // CI runs see only its first 8 KiB; campaigns with -max_len=100000 or more use all of it.
    auto session = synthetic_link_stage(ChannelType::display, 0, HeaderMode::mini, 0x1234);
    SpiceMessageFramer server(HeaderMode::mini);
    for (int i = 0; i < 80; ++i) {
        SpiceWireMessage m;
        m.direction = Direction::server_to_client;
        m.bytes = server.frame(spice::DisplayDrawCopy::with_image_bytes(1000, static_cast<std::uint64_t>(i)));
        session.push_back(std::move(m));
    }
    Bytes seed;
    for (auto direction : {Direction::client_to_server, Direction::server_to_client}) {
        Bytes stream;
        for (const auto& m : session)
            if (m.direction == direction) stream.insert(stream.end(), m.bytes.begin(), m.bytes.end());
        fuzz::encode_chunks(seed, static_cast<unsigned>(direction), stream, 127);
    }
    write_seed("spice_parser", "mini_long_display", seed);
}

// --- capture_replay: frames of a capture file, as `spicecap replay` reads them -------------------------------

/// Appends one frame in fuzz_capture_replay's input format (selector 0 = Ethernet).
void append_replay_frame(Bytes& out, std::span<const std::uint8_t> frame) {
    out.push_back(0);
    out.push_back(static_cast<std::uint8_t>(frame.size()));
    out.push_back(static_cast<std::uint8_t>(frame.size() >> 8));
    out.insert(out.end(), frame.begin(), frame.end());
}

void capture_replay_seeds() {
    for (HeaderMode mode : {HeaderMode::mini, HeaderMode::full}) {
        // The display session as the extcap writes it: handshake, link stage, messages, FIN.
        std::vector<Bytes> frames;
        const FrameSink keep = [&](const FrameMeta&, std::span<const std::uint8_t> frame) {
            frames.emplace_back(frame.begin(), frame.end());
        };
        SpiceFrameEncoder encoder(SpiceFrameOptions{.server_port = kDefaultSpiceServerPort, .handshake = true});
        for (const auto& m : display_session(mode)) {
            Record record;
            record.header.kind = StreamKind::spice;
            record.header.direction = m.direction;
            record.header.channel_type = static_cast<std::uint8_t>(ChannelType::display);
            record.header.session = 1;
            record.payload = m.bytes;
            encoder.encode(record, keep);
        }
        encoder.channel_closed({1, static_cast<std::uint8_t>(ChannelType::display), 0}, 0, keep);
        const std::string name = mode == HeaderMode::mini ? "mini" : "full";
        Bytes seed;
        for (const auto& frame : frames) append_replay_frame(seed, frame);
        write_seed("capture_replay", name + "_display_session", seed);
        // The same with every third frame sent twice and neighbours swapped: retransmission and reordering.
        Bytes disorder;
        for (std::size_t i = 0; i < frames.size(); ++i) {
            const std::size_t j = (i % 4 == 1 && i + 1 < frames.size()) ? i + 1 : (i % 4 == 2 ? i - 1 : i);
            append_replay_frame(disorder, frames[j]);
            if (i % 3 == 0) append_replay_frame(disorder, frames[j]);
        }
        write_seed("capture_replay", name + "_retransmitted_reordered", disorder);
    }
}

// --- extcap_options: NUL-separated argv as Wireshark passes it ----------------------------------------------

void extcap_options_seeds() {
    const std::pair<const char*, std::vector<std::string_view>> argvs[] = {
        {"interfaces", {"--extcap-interfaces", "--extcap-version=4.0"}},
        {"config", {"--extcap-config", "--extcap-interface", "spice"}},
        {"reload", {"--extcap-config", "--extcap-interface", "spice", "--extcap-reload-option", "session"}},
        {"validate_filter", {"--extcap-capture-filter", "tcp port 10002", "--extcap-interface", "spice"}},
        {"capture_spice", {"--capture", "--extcap-interface", "spice", "--fifo", "/tmp/fifo", "--extcap-control-in",
                           "/tmp/in", "--extcap-control-out", "/tmp/out", "--channels", "main,display,cursor",
                           "--session", "all", "--history", "30", "--server-port", "5930", "--handshake",
                           "--log-level", "debug", "--log-file", "/tmp/log", "--socket", "/run/s.sock"}},
        {"capture_vsock", {"--capture", "--extcap-interface=usbvsock", "--fifo=/tmp/f", "--link-type=150",
                           "--session=3", "--future-flag", "value"}},
    };
    for (const auto& [name, argv] : argvs) {
        Bytes seed;
        for (std::size_t i = 0; i < argv.size(); ++i) {
            if (i > 0) seed.push_back(0);
            seed.insert(seed.end(), argv[i].begin(), argv[i].end());
        }
        write_seed("extcap_options", name, seed);
    }
}

// --- remote_replies: what another host sends back over ssh (fuzz_remote_replies.cpp) -----------------------

void remote_replies_seeds() {
    const auto seed = [](std::uint8_t what, std::uint8_t status, std::string_view text) {
        Bytes bytes = {what, status};
        bytes.insert(bytes.end(), text.begin(), text.end());
        return bytes;
    };
    write_seed("remote_replies", "host_key_unknown",
               seed(0, 255, "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict "
                            "checking.\r\nHost key verification failed.\r\n"));
    write_seed("remote_replies", "permission_denied", seed(0, 255, "me@127.0.0.1: Permission denied (publickey).\r\n"));
    write_seed("remote_replies", "connection_refused",
               seed(0, 255, "ssh: connect to host 127.0.0.1 port 2222: Connection refused\r\n"));
    write_seed("remote_replies", "no_spicecap", seed(0, 127, "sh: 1: exec: spicecap: not found\n"));
    write_seed("remote_replies", "no_daemon",
               seed(0, 1, "spicecap stream: cannot reach spicecapd at /tmp/s.sock (No such file or directory): start "
                          "it with `spicecapd &`.\n"));
    write_seed("remote_replies", "sessions",
               seed(1, 0, "Welcome\n[{\"id\":1,\"label\":\"vm1\",\"name\":\"ryll\",\"pid\":42,\"channels\":"
                          "[{\"kind\":\"spice\",\"channel\":\"main\"}]},{\"id\":2,\"label\":\"dev\","
                          "\"channels\":[{\"kind\":\"usbvsock\"}]}]\n"));
    write_seed("remote_replies", "destination", seed(2, 0, "me@[2001:db8::1]:2222"));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: " << argv[0] << " CORPUS_DIR   (normally tests/fuzz/corpus)\n";
        return 2;
    }
    g_root = argv[1];
    frame_codec_seeds();
    daemon_json_seeds();
    vsock_seeds();
    spice_parser_seeds();
    extcap_options_seeds();
    capture_replay_seeds();
    remote_replies_seeds();
    std::cout << "seeds written under " << g_root << "\n";
    return 0;
}
