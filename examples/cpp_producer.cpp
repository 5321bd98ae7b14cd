// A minimal spicecap producer in C++: reports a SPICE display channel's messages from two threads (one
// per direction, as a client does) to spicecapd, then prints what became of them. With no daemon running it
// does the same calls, which then cost nothing, and exits 0.
//
//     cmake -S . -B build -DCMAKE_PREFIX_PATH=/where/spicecap/is && cmake --build build
//     ./build/cpp_producer [session-label]
#include <spicecap/producer.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <thread>

int main(int argc, char** argv) {
    spicecap::ProducerOptions options;
    options.name = "cpp_producer";
    options.session_label = argc > 1 ? argv[1] : "example";
    spicecap::Producer producer(options);
    if (!producer.capturing()) std::cout << "cpp_producer: not capturing (" << producer.last_error() << ")\n";

    const spicecap::SpiceChannel display{spicecap::spice_channel::display, 0};
    producer.channel_opened(display, spicecap::HeaderMode::mini);

    // Mini-header messages: SPICE_MSGC_ACK (2, client -> server, no body) and SPICE_MSG_PING
    // (4, server -> client: id u32, timestamp u64).
    const std::array<std::uint8_t, 6> ack = {2, 0, 0, 0, 0, 0};
    std::array<std::uint8_t, 6 + 12> ping = {4, 0, 12, 0, 0, 0};
    std::thread client([&] {
        for (int i = 0; i < 100; ++i) producer.packet_sent(display, ack);
    });
    std::thread server([&] {
        for (std::uint8_t i = 0; i < 100; ++i) {
            ping[6] = i;  // ping id
            producer.packet_received(display, ping);
        }
    });
    client.join();
    server.join();
    producer.channel_closed(display);

    if (!producer.flush(std::chrono::seconds(1))) std::cout << "cpp_producer: the daemon did not take everything within 1 s\n";
    const spicecap::ProducerStats stats = producer.stats();
    std::cout << "cpp_producer: accepted " << stats.accepted_records << ", delivered " << stats.delivered_records
              << ", dropped " << stats.dropped_records << " (session " << stats.session << ")\n";
    return 0;
}
