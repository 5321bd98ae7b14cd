// A producer for the end-to-end tests: plays the demo's SPICE session through the producer library,
// plus one 5 MiB DRAW_COPY on the display channel, and writes what it sent so the test can compare it
// with what tshark decodes:
//   OUTDIR/display.c2s.bin, OUTDIR/display.s2c.bin   every byte sent on the display channel, per direction
//   OUTDIR/counts.txt                                 "<channel name> <messages>" per channel
// usage: scripted_producer OUTDIR STEADY_MESSAGES RATE [SECONDS_TO_HOLD_OPEN]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "demo/demo_session.hpp"
#include "spicecap/producer.hpp"
#include "spice/spice_messages.hpp"

using namespace spicecap;
using spicecap::cli::DemoSession;
using spicecap::cli::DemoStep;

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s OUTDIR STEADY_MESSAGES RATE [SECONDS_TO_HOLD_OPEN]\n", argv[0]);
        return 2;
    }
    const std::string out = argv[1];
    const long steady = std::atol(argv[2]);
    const double rate = std::atof(argv[3]);
    const double hold = argc > 4 ? std::atof(argv[4]) : 0;

    ProducerOptions options;
    options.name = "scripted";
    options.session_label = "e2e";
    options.shutdown_timeout = std::chrono::seconds(5);
    Producer producer(options);
    if (!producer.capturing()) {
        std::fprintf(stderr, "scripted_producer: no daemon: %s\n", producer.last_error().c_str());
        return 1;
    }
    std::ofstream c2s(out + "/display.c2s.bin", std::ios::binary);
    std::ofstream s2c(out + "/display.s2c.bin", std::ios::binary);
    std::map<std::string, long> counts;

    const auto perform = [&](const DemoStep& step) {
        const SpiceChannel channel{static_cast<std::uint8_t>(step.channel), 0};
        if (step.kind == DemoStep::Kind::channel_opened) return producer.channel_opened(channel, HeaderMode::mini);
        if (step.kind == DemoStep::Kind::channel_closed) return producer.channel_closed(channel);
        if (step.direction == Direction::client_to_server) {
            producer.packet_sent(channel, step.bytes);
        } else {
            producer.packet_received(channel, step.bytes);
        }
        if (step.channel == ChannelType::display) {
            auto& file = step.direction == Direction::client_to_server ? c2s : s2c;
            file.write(reinterpret_cast<const char*>(step.bytes.data()), static_cast<std::streamsize>(step.bytes.size()));
        }
        ++counts[std::string(channel_name(step.channel))];
    };

    DemoSession session;
    for (const auto& step : session.opening()) perform(step);
    // A 5 MiB screen update: 80 segments that TCP reassembly must put back together.
    SpiceMessageFramer display_server(HeaderMode::mini, 1000);
    DemoStep huge;
    huge.channel = ChannelType::display;
    huge.direction = Direction::server_to_client;
    huge.bytes = display_server.frame(spice::DisplayDrawCopy::with_image_bytes(5 * 1024 * 1024, 77));
    perform(huge);
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < steady; ++i) {
        std::this_thread::sleep_until(start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                  std::chrono::duration<double>(i / rate)));
        perform(session.next());
    }
    if (hold > 0) std::this_thread::sleep_for(std::chrono::duration<double>(hold));
    producer.flush(std::chrono::seconds(10));
    for (const auto& step : session.closing()) perform(step);
    producer.flush(std::chrono::seconds(10));
    std::ofstream count_file(out + "/counts.txt");
    for (const auto& [name, n] : counts) count_file << name << ' ' << n << '\n';
    const auto stats = producer.stats();
    std::printf("scripted_producer: %llu delivered, %llu dropped\n",
                static_cast<unsigned long long>(stats.delivered_records),
                static_cast<unsigned long long>(stats.dropped_records));
    return stats.dropped_records == 0 ? 0 : 1;
}
