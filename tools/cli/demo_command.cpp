// `spicecap demo`: plays a realistic SPICE session (and with --vsock a USB vsock session) through the
// producer library, as a SPICE client built with spicecap would report it. The quick start's producer.
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "cli/argument_reader.hpp"
#include "cli/commands.hpp"
#include "demo/demo_session.hpp"
#include "demo/demo_vsock_session.hpp"
#include "spicecap/producer.hpp"

namespace spicecap::cli {
namespace {

constexpr const char* kUsage =
    "usage: spicecap demo [options]\n\n"
    "Plays a scripted SPICE session — link stages, then main PING/PONG, display DRAW_COPY (some above\n"
    "64 KiB) and video stream frames, inputs key presses and mouse motion, cursor moves — on main, display,\n"
    "inputs and cursor, reported to spicecapd like a real client's traffic. Watch it with Wireshark's\n"
    "\"SPICE capture\" or `tshark -i spice`.\n\n"
    "  --duration SECONDS  how long the steady part lasts (default 10)\n"
    "  --messages N        send exactly N steady messages instead (deterministic, for tests)\n"
    "  --rate R            steady messages per second (default 50)\n"
    "  --vsock             play a USB vsock session instead (watch it with \"USB vsock capture\")\n"
    "  --session LABEL     the session label shown in Wireshark's session list (default \"demo\")\n"
    "  --socket PATH       daemon socket (default: $SPICECAP_SOCKET, $XDG_RUNTIME_DIR/spicecap/spicecapd.sock,\n"
    "                      else /tmp/spicecap-$UID/spicecapd.sock)\n"
    "  --quiet             print only errors\n";

struct DemoOptions {
    double duration_seconds = 10;
    std::optional<std::uint64_t> messages;
    double rate = 50;
    bool vsock = false;
    bool quiet = false;
    std::string session = "demo";
    std::string socket;
};

std::variant<DemoOptions, int> parse(int argc, char** argv) {
    DemoOptions o;
    ArgumentReader args(argc, argv);
    while (args.next()) {
        if (const auto done = args.help_or_version(kUsage)) return *done;
        const std::string_view arg = args.arg();
        if (arg == "--duration") {
            const auto d = args.number(0);
            if (!d) return args.fail("--duration takes seconds");
            o.duration_seconds = *d;
        } else if (arg == "--messages") {
            const auto n = args.integer<std::uint64_t>(0, 1LL << 62);
            if (!n) return args.fail("--messages takes a count");
            o.messages = *n;
        } else if (arg == "--rate") {
            const auto r = args.number(0.001);
            if (!r) return args.fail("--rate takes messages per second, above 0");
            o.rate = *r;
        } else if (arg == "--vsock") {
            o.vsock = true;
        } else if (arg == "--quiet") {
            o.quiet = true;
        } else if (arg == "--session") {
            if (const auto failed = args.text(o.session, "a label")) return *failed;
        } else if (arg == "--socket") {
            if (const auto failed = args.text(o.socket, "a path")) return *failed;
        } else {
            return args.fail("unknown option '" + std::string(arg) + "'");
        }
    }
    return o;
}

// Paces the steady part: `rate` steps a second until `count` steps or `duration` passed.
class Pacer {
public:
    Pacer(const DemoOptions& o) : options_(o), start_(std::chrono::steady_clock::now()) {}
    bool next() {
        if (options_.messages ? done_ >= *options_.messages
                              : std::chrono::steady_clock::now() - start_ >=
                                    std::chrono::duration<double>(options_.duration_seconds)) {
            return false;
        }
        std::this_thread::sleep_until(start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                   std::chrono::duration<double>(done_ / options_.rate)));
        ++done_;
        return true;
    }

private:
    const DemoOptions& options_;
    std::chrono::steady_clock::time_point start_;
    std::uint64_t done_ = 0;
};

struct Tally {
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;
};

void play_spice(Producer& producer, const DemoOptions& options, Tally& tally) {
    DemoSession session;
    const auto perform = [&](const DemoStep& step) {
        const SpiceChannel channel{static_cast<std::uint8_t>(step.channel), 0};
        switch (step.kind) {
            case DemoStep::Kind::channel_opened:
                producer.channel_opened(channel, spicecap::HeaderMode::mini);
                break;
            case DemoStep::Kind::channel_closed:
                producer.channel_closed(channel);
                break;
            case DemoStep::Kind::message:
                if (step.direction == Direction::client_to_server) {
                    producer.packet_sent(channel, step.bytes);
                } else {
                    producer.packet_received(channel, step.bytes);
                }
                ++tally.messages;
                tally.bytes += step.bytes.size();
                break;
        }
    };
    for (const auto& step : session.opening()) perform(step);
    Pacer pacer(options);
    while (pacer.next()) perform(session.next());
    for (const auto& step : session.closing()) perform(step);
}

void play_vsock(Producer& producer, const DemoOptions& options, Tally& tally) {
    DemoVsockSession session;
    const auto perform = [&](const DemoVsockTransfer& t) {
        if (t.direction == Direction::host_to_device) {
            producer.usb_transfer_out(0, t.bytes);
        } else {
            producer.usb_transfer_in(0, t.bytes);
        }
        ++tally.messages;
        tally.bytes += t.bytes.size();
    };
    for (const auto& t : session.opening()) perform(t);
    Pacer pacer(options);
    while (pacer.next()) perform(session.next());
    for (const auto& t : session.closing()) perform(t);
}

}  // namespace

int demo_command(int argc, char** argv) {
    auto parsed = parse(argc, argv);
    if (auto* code = std::get_if<int>(&parsed)) return *code;
    const DemoOptions& options = std::get<DemoOptions>(parsed);

    ProducerOptions producer_options;
    producer_options.name = "spicecap-demo";
    producer_options.session_label = options.session;
    if (!options.socket.empty()) producer_options.socket_path = options.socket;
    producer_options.shutdown_timeout = std::chrono::milliseconds(2000);
    Producer producer(producer_options);
    if (!producer.capturing() && !options.quiet) {
        std::fprintf(stderr,
                     "spicecap demo: no daemon at %s (%s); playing the session anyway, but nothing is captured "
                     "until spicecapd runs\n",
                     producer.socket_path().c_str(), producer.last_error().c_str());
    }
    if (!options.quiet) {
        std::fprintf(stderr, "spicecap demo: playing a %s session \"%s\" (session #%u)\n",
                     options.vsock ? "USB vsock" : "SPICE", options.session.c_str(), producer.stats().session);
    }
    const auto start = std::chrono::steady_clock::now();
    Tally tally;
    if (options.vsock) {
        play_vsock(producer, options, tally);
    } else {
        play_spice(producer, options, tally);
    }
    producer.flush(std::chrono::seconds(5));
    const auto stats = producer.stats();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!options.quiet) {
        std::printf("spicecap demo: %llu %s (%llu bytes) in %.1f s: %llu delivered to spicecapd, %llu dropped\n",
                    static_cast<unsigned long long>(tally.messages), options.vsock ? "USB transfers" : "SPICE messages",
                    static_cast<unsigned long long>(tally.bytes), seconds,
                    static_cast<unsigned long long>(stats.delivered_records),
                    static_cast<unsigned long long>(stats.dropped_records));
    }
    return 0;
}

}  // namespace spicecap::cli
