// `spicecap record DIR`: one pcap file per SPICE channel (main.pcap, display.pcap, ...) and usbvsock.pcap,
// written from a live subscription without Wireshark, flushed and closed cleanly on SIGINT/SIGTERM.
#include <asio.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "cli/argument_reader.hpp"
#include "cli/commands.hpp"
#include "pcap/pcap_writer.hpp"
#include "wire/socket_path.hpp"
#include "pcap/spice_frames.hpp"
#include "client/subscription.hpp"
#include "pcap/vsock_frames.hpp"

namespace fs = std::filesystem;

namespace spicecap::cli {
namespace {

struct RecordOptions {
    fs::path directory;
    std::string socket;
    std::vector<std::uint8_t> channels;
    std::optional<std::uint32_t> session;
    std::uint32_t history_seconds = 0;
    std::optional<double> duration_seconds;
    SpiceFrameOptions spice;
    bool vsock = true;
    int vsock_link_type = vsock::default_linktype;
};

constexpr const char* kUsage =
    "usage: spicecap record DIR [options]\n\n"
    "Writes one pcap file per SPICE channel (DIR/main.pcap, DIR/display.pcap, ...; a second channel of a type\n"
    "is DIR/display1.pcap) and DIR/usbvsock.pcap from the daemon's live records, until Ctrl-C / SIGTERM.\n"
    "Each file decodes as SPICE (or, with usb_vsock.lua, as USB vsock) on its own.\n\n"
    "  --channels LIST     SPICE channels, comma separated (main,display,inputs,cursor,...); default all\n"
    "  --session ID        one producer session; default all\n"
    "  --history SECONDS   start with this much stored history; default 0\n"
    "  --duration SECONDS  stop by itself after this long\n"
    "  --handshake         synthesize TCP SYN and FIN exchanges\n"
    "  --server-port PORT  TCP port of the synthesized SPICE server; default 5930\n"
    "  --no-vsock          do not write usbvsock.pcap\n"
    "  --link-type DLT     USB vsock link type, 147..162; default 147\n"
    "  --socket PATH       daemon socket (default: $SPICECAP_SOCKET, $XDG_RUNTIME_DIR/spicecap/spicecapd.sock,\n"
    "                      else /tmp/spicecap-$UID/spicecapd.sock)\n";

// Parses the arguments; returns the exit code to leave with instead of options when done or wrong.
std::variant<RecordOptions, int> parse(int argc, char** argv) {
    RecordOptions o;
    ArgumentReader args(argc, argv);
    while (args.next()) {
        if (const auto done = args.help_or_version(kUsage)) return *done;
        const std::string_view arg = args.arg();
        if (arg == "--channels") {
            const auto v = args.value();
            if (!v) return args.fail("--channels needs a list");
            std::stringstream list{std::string(*v)};
            std::string name;
            while (std::getline(list, name, ',')) {
                const auto type = spice_channel_type_from_name(name);
                if (!type) return args.fail("unknown SPICE channel '" + name + "'");
                o.channels.push_back(*type);
            }
        } else if (arg == "--session") {
            const auto id = args.integer<std::uint32_t>(1, 0xffffffffLL);
            if (!id) return args.fail("--session takes a session id (see spicecap status)");
            o.session = *id;
        } else if (arg == "--history") {
            const auto s = args.integer<std::uint32_t>(0, 86400);
            if (!s) return args.fail("--history takes seconds, 0 to 86400");
            o.history_seconds = *s;
        } else if (arg == "--duration") {
            const auto s = args.integer<std::uint32_t>(1, 86400LL * 365);
            if (!s) return args.fail("--duration takes whole seconds");
            o.duration_seconds = *s;
        } else if (arg == "--handshake") {
            o.spice.handshake = true;
        } else if (arg == "--server-port") {
            const auto p = args.integer<std::uint16_t>(1, 65535);
            if (!p) return args.fail("--server-port takes a port, 1 to 65535");
            o.spice.server_port = *p;
        } else if (arg == "--no-vsock") {
            o.vsock = false;
        } else if (arg == "--link-type") {
            const auto t = args.integer<int>(147, 162);
            if (!t) return args.fail("--link-type takes 147..162 (USER0..USER15)");
            o.vsock_link_type = *t;
        } else if (arg == "--socket") {
            if (const auto failed = args.text(o.socket, "a path")) return *failed;
        } else if (!arg.empty() && arg[0] == '-') {
            return args.fail("unknown option '" + std::string(arg) + "'");
        } else if (o.directory.empty()) {
            o.directory = std::string(arg);
        } else {
            return args.fail("only one DIR may be given");
        }
    }
    if (o.directory.empty()) return args.fail("name the folder to write to: spicecap record DIR");
    return o;
}

// Writes each SPICE channel to its own file and USB vsock transfers to usbvsock.pcap.
class Recorder final : public SubscriptionHandler {
public:
    Recorder(const RecordOptions& options, bool vsock) : options_(options), vsock_(vsock) {}

    void on_record(const Record& record) override {
        if (failed_) return;
        if (record.header.kind == StreamKind::spice) {
            Channel& channel = spice_channel(record.header.channel_type, record.header.channel_id);
            if (!channel.writer) return;
            channel.capture.record(record, sink_for(channel));
        } else {
            write_vsock(record);
        }
    }
    void on_drop(const DropNotice& notice) override {
        dropped_ += notice.records;
        if (notice.where.kind == StreamKind::spice) {
            spice_channel(notice.where.channel_type, notice.where.channel_id).capture.drop(notice);
        }
    }
    void on_event(const nlohmann::json& event) override {
        if (!event.is_object() || event.value("event", "") != "channel_closed" || event.value("kind", "") != "spice") {
            return;
        }
        const auto type = event.value("channel_type", std::uint8_t{0});
        const auto id = event.value("channel_id", std::uint8_t{0});
        auto it = channels_.find({type, id});
        if (it == channels_.end() || !it->second.writer) return;
        it->second.capture.channel_closed(event.value("session", 0u), type, id, event.value("timestamp_ns", 0ull),
                                          sink_for(it->second));
    }
    void on_idle() override {
        for (auto& [key, channel] : channels_) {
            if (channel.writer) (void)channel.writer->flush();
        }
        if (vsock_writer_) (void)vsock_writer_->flush();
    }
    void on_end(const std::string& why) override {
        end_reason_ = why;
        if (on_end_) on_end_();
    }

    void set_on_end(std::function<void()> f) { on_end_ = std::move(f); }
    const std::string& end_reason() const { return end_reason_; }
    bool failed() const { return failed_; }

    /// Closes every file (FIN exchanges first with --handshake) and prints what was written.
    void finish() {
        for (auto& [key, channel] : channels_) {
            if (!channel.writer) continue;
            channel.capture.close_all(now_ns(), sink_for(channel));
            (void)channel.writer->close();
            std::printf("%-20s %8llu records %12llu bytes\n", channel.path.filename().c_str(),
                        static_cast<unsigned long long>(channel.capture.stats().records),
                        static_cast<unsigned long long>(channel.capture.stats().bytes));
        }
        if (vsock_writer_) {
            (void)vsock_writer_->close();
            std::printf("%-20s %8llu records %12llu bytes\n", "usbvsock.pcap",
                        static_cast<unsigned long long>(vsock_records_), static_cast<unsigned long long>(vsock_bytes_));
        }
        if (dropped_ > 0) {
            std::printf("the daemon dropped %llu records for this recording (the disk or this program was too slow)\n",
                        static_cast<unsigned long long>(dropped_));
        }
    }

    std::uint64_t records() const {
        std::uint64_t n = vsock_records_;
        for (const auto& [key, channel] : channels_) n += channel.capture.stats().records;
        return n;
    }

private:
    struct Channel {
        fs::path path;
        SpiceFrameEncoder capture;
        std::optional<PcapWriter> writer;
    };

    static std::uint64_t now_ns() {
        return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
    }

    FrameSink sink_for(Channel& channel) {
        return [this, &channel](std::uint64_t ts, std::span<const std::uint8_t> frame) {
            if (auto w = channel.writer->write(ts, frame); !w) fail(channel.path, w.error());
        };
    }

    Channel& spice_channel(std::uint8_t type, std::uint8_t id) {
        auto [it, inserted] = channels_.try_emplace({type, id}, Channel{{}, SpiceFrameEncoder(options_.spice), {}});
        if (inserted) {
            const auto name = spice_channel_name(type);
            it->second.path = options_.directory / ((name ? std::string(*name) : "channel" + std::to_string(type)) +
                                                    (id ? std::to_string(id) : std::string()) + ".pcap");
            auto writer = PcapWriter::open_path(it->second.path.string(), kLinkTypeEthernet);
            if (writer) {
                it->second.writer = std::move(*writer);
                std::fprintf(stderr, "spicecap record: writing %s\n", it->second.path.c_str());
            } else {
                fail(it->second.path, writer.error());
            }
        }
        return it->second;
    }

    void write_vsock(const Record& record) {
        if (!vsock_) return;
        if (!vsock_writer_) {
            const auto path = options_.directory / "usbvsock.pcap";
            auto writer = PcapWriter::open_path(path.string(), options_.vsock_link_type,
                                                static_cast<int>(vsock::max_record_size));
            if (!writer) return fail(path, writer.error());
            vsock_writer_ = std::move(*writer);
            std::fprintf(stderr, "spicecap record: writing %s\n", path.c_str());
        }
        vsock::TransferMeta meta;
        meta.direction = record.header.direction;
        meta.link = record.header.channel_id;
        for (const auto& part : vsock::split_transfer(meta, record.payload)) {
            if (auto w = vsock_writer_->write(record.header.timestamp_ns, vsock::build_record(part)); !w) {
                return fail(options_.directory / "usbvsock.pcap", w.error());
            }
        }
        ++vsock_records_;
        vsock_bytes_ += record.payload.size();
    }

    void fail(const fs::path& path, const std::string& why) {
        if (failed_) return;
        failed_ = true;
        end_reason_ = "cannot write " + path.string() + ": " + why;
        if (on_end_) on_end_();
    }

    const RecordOptions& options_;
    const bool vsock_;
    std::map<std::pair<std::uint8_t, std::uint8_t>, Channel> channels_;
    std::optional<PcapWriter> vsock_writer_;
    std::uint64_t vsock_records_ = 0;
    std::uint64_t vsock_bytes_ = 0;
    std::uint64_t dropped_ = 0;
    bool failed_ = false;
    std::string end_reason_;
    std::function<void()> on_end_;
};

}  // namespace

int record_command(int argc, char** argv) {
    auto parsed = parse(argc, argv);
    if (auto* code = std::get_if<int>(&parsed)) return *code;
    const RecordOptions& options = std::get<RecordOptions>(parsed);

    std::error_code ec;
    fs::create_directories(options.directory, ec);
    if (ec) {
        std::fprintf(stderr, "spicecap record: cannot create %s: %s\n", options.directory.c_str(), ec.message().c_str());
        return 1;
    }
    asio::io_context io;
    const auto socket = socket_path(options.socket.empty() ? std::nullopt
                                                           : std::optional<std::string_view>(options.socket));
    // One subscription per stream kind; one recorder writes both into the folder.
    Recorder recorder(options, options.vsock);
    std::vector<std::unique_ptr<Subscription>> subscriptions;
    std::vector<StreamKind> kinds = {StreamKind::spice};
    if (options.vsock && options.channels.empty()) kinds.push_back(StreamKind::usb_vsock);
    for (StreamKind kind : kinds) {
        SubscriptionRequest request;
        request.kind = kind;
        if (kind == StreamKind::spice) request.channels = options.channels;
        request.session = options.session;
        request.history_seconds = options.history_seconds;
        auto subscription = Subscription::open(io, socket, request);
        if (!subscription) {
            std::fprintf(stderr, "spicecap record: %s\n", subscription.error().c_str());
            return 1;
        }
        subscriptions.push_back(std::move(*subscription));
    }

    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer deadline(io);
    asio::steady_timer progress(io);
    const auto stop = [&] {
        for (auto& s : subscriptions) s->close();
        signals.cancel();
        deadline.cancel();
        progress.cancel();
        io.stop();
    };
    recorder.set_on_end(stop);
    signals.async_wait([&](const asio::error_code& error, int) {
        if (!error) stop();
    });
    if (options.duration_seconds) {
        deadline.expires_after(std::chrono::milliseconds(static_cast<long long>(*options.duration_seconds * 1000)));
        deadline.async_wait([&](const asio::error_code& error) {
            if (!error) stop();
        });
    }
    std::function<void()> report = [&] {
        progress.expires_after(std::chrono::seconds(5));
        progress.async_wait([&](const asio::error_code& error) {
            if (error) return;
            std::fprintf(stderr, "spicecap record: %llu records so far\n",
                         static_cast<unsigned long long>(recorder.records()));
            report();
        });
    };
    report();
    std::fprintf(stderr, "spicecap record: recording into %s until Ctrl-C%s\n", options.directory.c_str(),
                 options.duration_seconds ? " or the --duration ends" : "");
    for (auto& s : subscriptions) s->start(recorder);
    io.run();

    recorder.finish();
    if (!recorder.end_reason().empty()) {
        std::fprintf(stderr, "spicecap record: %s\n", recorder.end_reason().c_str());
        return 1;
    }
    return 0;
}

}  // namespace spicecap::cli
