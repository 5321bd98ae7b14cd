// `spicecap record DIR`: one pcap file per SPICE channel (main.pcap, display.pcap, ...) and usbvsock.pcap,
// written from a live capture without Wireshark, flushed and closed cleanly on SIGINT/SIGTERM. A front end
// over the shared capture pipeline (common/capture/): the same frames the extcap writes, split by channel.
#include <asio.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "capture/capture_pipeline.hpp"
#include "cli/argument_reader.hpp"
#include "cli/capture_arguments.hpp"
#include "cli/commands.hpp"
#include "capture/capture_file.hpp"
#include "spice/spice_channel.hpp"

namespace fs = std::filesystem;

namespace spicecap::cli {
namespace {

struct RecordOptions {
    fs::path directory;
    capture::CaptureOptions capture;
    std::optional<double> duration_seconds;
    bool vsock = true;
};

std::string usage() {
    return "usage: spicecap record DIR [options]\n\n"
           "Writes one capture file per SPICE channel (DIR/main.pcapng, DIR/display.pcapng, ...; a second channel of\n"
           "a type is DIR/display1.pcapng) and DIR/usbvsock.pcapng from the daemon's live records, until Ctrl-C /\n"
           "SIGTERM (.pcap files with --format pcap).\n"
           "Each file decodes as SPICE (or, with usb_vsock.lua, as USB vsock) on its own; the frames are the ones\n"
           "the SPICE capture interface shows in Wireshark. --channels or --filter record SPICE only.\n\n" +
           capture::capture_options_usage(std::nullopt, capture::OptionSyntax::command) +
           "  --duration SECONDS    stop by itself after this long\n"
           "  --no-vsock            do not write usbvsock.pcap\n";
}

// Parses the arguments; returns the exit code to leave with instead of options when done or wrong.
std::variant<RecordOptions, int> parse(int argc, char** argv) {
    RecordOptions o;
    ArgumentReader args(argc, argv);
    while (args.next()) {
        if (const auto done = args.help_or_version(usage())) return *done;
        switch (read_capture_argument(args, o.capture)) {
            case CaptureArgument::taken: continue;
            case CaptureArgument::failed: return 2;
            case CaptureArgument::not_a_capture_option: break;
        }
        const std::string_view arg = args.arg();
        if (arg == "--duration") {
            const auto s = args.integer<std::uint32_t>(1, 86400LL * 365);
            if (!s) return args.fail("--duration takes whole seconds");
            o.duration_seconds = *s;
        } else if (arg == "--no-vsock") {
            o.vsock = false;
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

/// One capture file per SPICE channel and one for USB vsock, opened when their first frame comes.
class ChannelFiles final : public capture::FrameOutput {
public:
    ChannelFiles(fs::path directory, const capture::CaptureOptions& options)
        : directory_(std::move(directory)), options_(options) {}

    Expected<Ok, std::string> write(const capture::FrameStream& stream, const FrameMeta& meta,
                                    std::span<const std::uint8_t> frame) override {
        auto file = file_for(stream);
        if (!file) return Unexpected{file.error()};
        if (auto written = (*file)->capture.write(meta, frame); !written) {
            return Unexpected{"cannot write " + (*file)->path.string() + ": " + written.error()};
        }
        (*file)->drops += meta.drops_before;
        return Ok{};
    }

    Expected<Ok, std::string> flush() override {
        for (auto& [name, file] : files_) {
            if (auto flushed = file.capture.flush(); !flushed) {
                return Unexpected{"cannot write " + file.path.string() + ": " + flushed.error()};
            }
        }
        return Ok{};
    }

    /// Closes every file (pcapng: with the statistics of its stream) and prints what each holds.
    void close_and_report() {
        for (auto& [name, file] : files_) {
            capture::FileStatistics statistics;
            statistics.received = statistics.filter_accepted = file.capture.frames();
            statistics.dropped = file.drops;
            statistics.comment = std::to_string(file.capture.frames()) + " frames; spicecapd dropped " +
                                 std::to_string(file.drops) + " records of these streams for this recording";
            std::printf("%-20s %8llu frames %12llu bytes\n", name.c_str(),
                        static_cast<unsigned long long>(file.capture.frames()),
                        static_cast<unsigned long long>(file.capture.bytes()));
            (void)file.capture.close(statistics);
        }
    }

private:
    struct File {
        fs::path path;
        capture::CaptureFile capture;
        std::uint64_t drops = 0;
    };

    /// The file of a stream: "display.pcapng", "display1.pcapng", "usbvsock.pcapng" (".pcap" for pcap).
    std::string file_name(const capture::FrameStream& stream) const {
        const std::string extension = options_.format == capture::OutputFormat::pcap ? ".pcap" : ".pcapng";
        if (stream.kind == StreamKind::usb_vsock) return "usbvsock" + extension;
        const auto name = spice_channel_name(stream.channel_type);
        return (name ? std::string(*name) : "channel" + std::to_string(stream.channel_type)) +
               (stream.channel_id ? std::to_string(stream.channel_id) : std::string()) + extension;
    }

    Expected<File*, std::string> file_for(const capture::FrameStream& stream) {
        const std::string name = file_name(stream);
        if (auto it = files_.find(name); it != files_.end()) return &it->second;
        const fs::path path = directory_ / name;
        capture::CaptureOptions options = options_;
        options.kind = stream.kind;
        capture::FileInterface interface = capture::CaptureFile::interface_of(options);
        if (stream.kind == StreamKind::spice) {
            interface.description = "the SPICE " + std::string(spice_channel_name(stream.channel_type).value_or("?")) +
                                    ":" + std::to_string(stream.channel_id) + " channel (spicecap record)";
        }
        auto file = capture::CaptureFile::open_path(path.string(), options, interface);
        if (!file) return Unexpected{"cannot write " + path.string() + ": " + file.error()};
        std::fprintf(stderr, "spicecap record: writing %s\n", path.c_str());
        return &files_.emplace(name, File{path, std::move(*file)}).first->second;
    }

    fs::path directory_;
    capture::CaptureOptions options_;
    std::map<std::string, File> files_;
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
    ChannelFiles files(options.directory, options.capture);

    // One pipeline per interface, both writing into the folder.
    std::vector<StreamKind> kinds = {StreamKind::spice};
    if (options.vsock && options.capture.channels.empty() && options.capture.filter.empty()) {
        kinds.push_back(StreamKind::usb_vsock);
    }
    std::vector<std::unique_ptr<capture::CapturePipeline>> pipelines;
    for (StreamKind kind : kinds) {
        capture::CaptureOptions capture = options.capture;
        capture.kind = kind;
        auto pipeline = capture::CapturePipeline::open(io, capture, files);
        if (!pipeline) {
            std::fprintf(stderr, "spicecap record: %s\n", pipeline.error().c_str());
            return 1;
        }
        pipelines.push_back(std::move(*pipeline));
    }

    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer deadline(io);
    asio::steady_timer progress(io);
    std::string failure;
    const auto stop = [&] {
        for (auto& p : pipelines) p->stop();
        signals.cancel();
        deadline.cancel();
        progress.cancel();
        io.stop();
    };
    const auto records = [&] {
        std::uint64_t n = 0;
        for (const auto& p : pipelines) n += p->counts().records;
        return n;
    };
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
            std::fprintf(stderr, "spicecap record: %llu records so far\n", static_cast<unsigned long long>(records()));
            report();
        });
    };
    report();
    std::fprintf(stderr, "spicecap record: recording into %s until Ctrl-C%s\n", options.directory.c_str(),
                 options.duration_seconds ? " or the --duration ends" : "");
    for (auto& p : pipelines) {
        p->start([&](capture::CaptureEnd, const std::string& why) {
            if (failure.empty()) failure = why;
            stop();
        });
    }
    io.run();

    std::uint64_t dropped = 0;
    for (auto& p : pipelines) {
        if (auto finished = p->finish(); !finished && failure.empty()) failure = finished.error();
        dropped += p->counts().dropped_records;
    }
    files.close_and_report();
    std::printf("%llu records in all\n", static_cast<unsigned long long>(records()));
    if (dropped > 0) {
        std::printf("the daemon dropped %llu records for this recording (the disk or this program was too slow)\n",
                    static_cast<unsigned long long>(dropped));
    }
    if (!failure.empty()) {
        std::fprintf(stderr, "spicecap record: %s\n", failure.c_str());
        return 1;
    }
    return 0;
}

}  // namespace spicecap::cli
