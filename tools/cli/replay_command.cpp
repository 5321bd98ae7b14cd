// `spicecap replay FILE`: reads a pcap/pcapng capture of plaintext SPICE over TCP and sends every message
// of every SPICE channel connection in it to spicecapd with its original timestamp (capture_replay.hpp).
#include <pcap/pcap.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>

#include "cli/argument_reader.hpp"
#include "base/byte_size_text.hpp"
#include "follow/producer_channel_sink.hpp"
#include "cli/producer_commands.hpp"
#include "replay/capture_replay.hpp"
#include "wire/socket_path.hpp"

namespace spicecap::cli {
namespace {

constexpr const char* kUsage =
    "usage: spicecap replay FILE [options]\n\n"
    "Reads a pcap or pcapng capture of plaintext SPICE over TCP (e.g. `tcpdump -i lo -w FILE port 5900`),\n"
    "reassembles every TCP connection, finds the SPICE channel connections by their link stage (\"REDQ\",\n"
    "whatever the port) and sends their messages to spicecapd with the capture's timestamps, as a client\n"
    "would have reported them. The capture must include the start of each connection: the link stage is\n"
    "where the channel and header mode are; connections that began before the capture are skipped.\n\n"
    "  --speed X               replay X times as fast as it was captured; default 1 (real time)\n"
    "  --as-fast-as-possible   no pauses (the timestamps are the capture's either way)\n"
    "  --session LABEL         session label in Wireshark's session list; default: the file name\n"
    "  --socket PATH           daemon socket (default: $SPICECAP_SOCKET, $XDG_RUNTIME_DIR/spicecap/spicecapd.sock,\n"
    "                          else /tmp/spicecap-$UID/spicecapd.sock)\n"
    "  --quiet                 only the summary and problems\n"
    "  --version               print the version\n";

struct ReplayCommandOptions {
    std::string file;
    /// Pauses are divided by this; nothing = as fast as possible.
    std::optional<double> speed = 1.0;
    std::string session_label;
    std::string socket;
    bool quiet = false;
};

std::variant<ReplayCommandOptions, int> parse(int argc, char** argv) {
    ReplayCommandOptions o;
    ArgumentReader args(argc, argv);
    while (args.next()) {
        if (const auto done = args.help_or_version(kUsage)) return *done;
        const std::string_view arg = args.arg();
        if (arg == "--speed") {
            const auto speed = args.number(1e-6);
            if (!speed || *speed > 1e9) return args.fail("--speed takes a positive number, e.g. 1, 10 or 0.5");
            o.speed = *speed;
        } else if (arg == "--as-fast-as-possible") {
            o.speed.reset();
        } else if (arg == "--session") {
            if (const auto failed = args.text(o.session_label, "a label")) return *failed;
        } else if (arg == "--socket") {
            if (const auto failed = args.text(o.socket, "a path")) return *failed;
        } else if (arg == "--quiet") {
            o.quiet = true;
        } else if (!arg.empty() && arg[0] == '-') {
            return args.fail("unknown option '" + std::string(arg) + "'");
        } else if (o.file.empty()) {
            o.file = std::string(arg);
        } else {
            return args.fail("only one FILE may be given");
        }
    }
    if (o.file.empty()) return args.fail("name the capture to replay: spicecap replay FILE");
    if (o.session_label.empty()) o.session_label = std::filesystem::path(o.file).filename().string();
    return o;
}

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int) { g_interrupted = 1; }

/// Sleeps so that frames go out as far apart as they were captured, divided by the speed.
class Pacer {
public:
    explicit Pacer(std::optional<double> speed) : speed_(speed) {}

    void wait_for(std::uint64_t timestamp_ns) {
        if (!speed_) return;
        const auto now = std::chrono::steady_clock::now();
        if (!started_) {
            started_ = true;
            first_ = timestamp_ns;
            start_ = now;
            return;
        }
        if (timestamp_ns <= first_) return;
        const auto due = start_ + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                      static_cast<double>(timestamp_ns - first_) / *speed_));
        // In slices, so that Ctrl-C during a long quiet stretch of the capture stops promptly.
        while (!g_interrupted && due > std::chrono::steady_clock::now() + std::chrono::milliseconds(1))
            std::this_thread::sleep_until(std::min(due, std::chrono::steady_clock::now() + std::chrono::milliseconds(100)));
    }

private:
    std::optional<double> speed_;
    // Plain fields rather than an optional: g++ 12 at -O2 warns (wrongly) that an optional may be read
    // uninitialized here.
    bool started_ = false;
    std::uint64_t first_ = 0;
    std::chrono::steady_clock::time_point start_;
};

/// "1 TCP connection", "3 TCP connections".
std::string count_text(std::uint64_t count, const std::string& what) {
    return std::to_string(count) + " " + what + (count == 1 ? "" : "s");
}

std::string counters_text(const FollowCounters& c) {
    return count_text(c.messages, "message") + " (" + byte_size_text(c.bytes) + ")";
}

void print_summary(const std::string& file, const ReplaySummary& s) {
    std::printf("%s: %s, %s, %s, %s\n", file.c_str(), count_text(s.frames, "frame").c_str(),
                count_text(s.tcp_connections, "TCP connection").c_str(),
                count_text(s.spice_connections, "SPICE channel connection").c_str(), counters_text(s.total()).c_str());
    for (const auto& [channel, counters] : s.channels)
        std::printf("  %-12s client->server %s, server->client %s\n", channel.to_string().c_str(),
                    counters_text(counters.first).c_str(), counters_text(counters.second).c_str());
    if (s.mid_stream_connections > 0)
        std::printf("  skipped %s without a SPICE link stage that began before the capture (or are not SPICE)\n",
                    count_text(s.mid_stream_connections, "TCP connection").c_str());
    if (s.other_connections > 0)
        std::printf("  skipped %s that are not SPICE\n", count_text(s.other_connections, "TCP connection").c_str());
    if (s.stopped_connections > 0)
        std::printf("  %s could not be followed to the end (see above)\n",
                    count_text(s.stopped_connections, "SPICE connection").c_str());
    for (const auto& [reason, count] : s.skipped_frames)
        std::printf("  skipped %s: %s\n", count_text(count, "frame").c_str(), segment_skip_name(reason));
    if (s.duplicate_bytes > 0 || s.gap_bytes > 0)
        std::printf("  TCP: %s retransmitted (used once), %s never captured\n", byte_size_text(s.duplicate_bytes).c_str(),
                    byte_size_text(s.gap_bytes).c_str());
}

}  // namespace

int replay_command(int argc, char** argv) {
    auto parsed = parse(argc, argv);
    if (const int* code = std::get_if<int>(&parsed)) return *code;
    const ReplayCommandOptions& options = std::get<ReplayCommandOptions>(parsed);

    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* pcap = pcap_open_offline_with_tstamp_precision(options.file.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (pcap == nullptr) {
        std::fprintf(stderr, "spicecap replay: cannot read %s: %s\n", options.file.c_str(), errbuf);
        return 1;
    }
    const int dlt = pcap_datalink(pcap);
    if (!supported_link_type(dlt)) {
        const char* name = pcap_datalink_val_to_name(dlt);
        std::fprintf(stderr,
                     "spicecap replay: %s has link type %d (%s); supported are Ethernet, Linux cooked (SLL, SLL2), "
                     "BSD loopback and raw IP\n",
                     options.file.c_str(), dlt, name ? name : "unknown");
        pcap_close(pcap);
        return 1;
    }

    const auto socket = choose_socket_path(options.socket.empty() ? std::nullopt
                                                                   : std::optional<std::string_view>(options.socket));
    auto sink = ProducerChannelSink::create({.name = "spicecap-replay",
                                             .session_label = options.session_label,
                                             .socket_path = socket.path.string(),
                                             .lossless = true});
    if (!sink) {
        std::fprintf(stderr, "spicecap replay: %s\n", sink.error().c_str());
        pcap_close(pcap);
        return 2;
    }
    if (!(*sink)->connected()) {
        std::fprintf(stderr, "spicecap replay: cannot reach spicecapd at %s (%s); start it with: spicecapd &\n",
                     socket.path.c_str(), (*sink)->last_error().c_str());
        pcap_close(pcap);
        return 1;
    }

    const bool quiet = options.quiet;
    CaptureReplay replay(**sink, [quiet](LogLevel level, const std::string& note) {
        if (level != LogLevel::message) {
            std::fprintf(stderr, "spicecap replay: %s\n", note.c_str());
        } else if (!quiet) {
            std::printf("%s\n", note.c_str());
            std::fflush(stdout);
        }
    });
    Pacer pacer(options.speed);
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);

    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    int status = 0;
    while (!g_interrupted && (status = pcap_next_ex(pcap, &header, &data)) == 1) {
        const std::uint64_t timestamp_ns = static_cast<std::uint64_t>(header->ts.tv_sec) * 1'000'000'000u +
                                           static_cast<std::uint64_t>(header->ts.tv_usec);  // ns: opened with nano precision
        pacer.wait_for(timestamp_ns);
        replay.frame(dlt, timestamp_ns, std::span<const std::uint8_t>(data, header->caplen));
    }
    const bool read_error = status == PCAP_ERROR;
    if (read_error)
        std::fprintf(stderr, "spicecap replay: reading %s failed after %llu frames: %s (replaying what was read)\n",
                     options.file.c_str(), static_cast<unsigned long long>(replay.summary().frames), pcap_geterr(pcap));
    pcap_close(pcap);
    replay.finish();

    const bool flushed = (*sink)->flush(std::chrono::seconds(60));
    print_summary(options.file, replay.summary());
    const auto stats = (*sink)->stats();
    const std::uint64_t reported = replay.summary().total().messages;
    std::printf("delivered to spicecapd: %llu of %llu messages%s\n",
                static_cast<unsigned long long>(stats.delivered_records), static_cast<unsigned long long>(reported),
                g_interrupted ? " (interrupted)" : "");
    if (replay.summary().spice_connections == 0) {
        std::fprintf(stderr,
                     "spicecap replay: no SPICE connection found in %s: SPICE is recognised by its link stage, so the "
                     "capture must include the start of each connection\n",
                     options.file.c_str());
        return 1;
    }
    if (!flushed || stats.delivered_records != reported) {
        std::fprintf(stderr, "spicecap replay: %llu messages did not reach spicecapd (%s)\n",
                     static_cast<unsigned long long>(reported - std::min(reported, stats.delivered_records)),
                     (*sink)->connected() ? "dropped" : ("the daemon went away: " + (*sink)->last_error()).c_str());
        return 1;
    }
    return read_error || g_interrupted ? 1 : 0;
}

}  // namespace spicecap::cli
