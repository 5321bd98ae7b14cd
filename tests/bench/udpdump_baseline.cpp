// The baseline of design §9: Wireshark's own extcap for traffic an application pushes, udpdump, fed the
// same 64 B messages over UDP on 127.0.0.1 and read from its FIFO the same way.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "bench_payload.hpp"
#include "scenarios.hpp"

namespace spicecap::bench {
namespace {

using Clock = std::chrono::steady_clock;

// In flight at most: small enough that the datagrams always fit in udpdump's socket receive buffer (the
// default 208 KiB holds a few hundred small datagrams), so a loss is udpdump's, not the buffer's.
constexpr std::uint64_t kWindowDatagrams = 128;
// No progress for this long with a full window: what is in flight is taken as lost and sending goes on.
constexpr auto kPresumeLostAfter = std::chrono::milliseconds(50);

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

// Whether a UDP socket can bind 127.0.0.1:port (0: any free port); the port bound, or 0 if it is taken.
std::uint16_t try_bind_udp(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = loopback(port);
    std::uint16_t bound = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        socklen_t length = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length);
        bound = ntohs(a.sin_port);
    }
    ::close(fd);
    return bound;
}

}  // namespace

std::optional<DeliveryResult> run_udpdump_throughput(const BenchContext& context, std::size_t message_bytes) {
    if (context.programs.udpdump.empty()) return std::nullopt;
    const std::uint16_t port = try_bind_udp(0);
    const auto fifo = make_fifo(context.dir, "udpdump");
    PcapStreamReader reader(fifo, false);
    ChildProcess udpdump({context.programs.udpdump, "--capture", "--extcap-interface", "udpdump", "--port",
                          std::to_string(port), "--fifo", fifo},
                         context.dir / "udpdump.log");
    // Ready when its pcap header is out and it holds the port.
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!reader.header_seen() || try_bind_udp(port) != 0) {
        if (!udpdump.running() || Clock::now() > deadline) throw std::runtime_error("udpdump did not start; see udpdump.log");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }

    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const sockaddr_in to = loopback(port);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) throw std::runtime_error("UDP connect failed");
    auto message = make_bench_message(message_bytes);
    const auto duration = context.throughput_duration();

    const auto start = Clock::now();
    std::uint64_t sent = 0;
    std::uint64_t presumed_lost = 0;
    while (Clock::now() - start < duration) {
        auto waiting_since = Clock::now();
        std::uint64_t read = reader.messages();
        while (sent - read - presumed_lost >= kWindowDatagrams) {
            std::this_thread::sleep_for(std::chrono::microseconds(20));
            if (const auto now_read = reader.messages(); now_read != read) {
                read = now_read;
                waiting_since = Clock::now();
            } else if (Clock::now() - waiting_since > kPresumeLostAfter) {
                presumed_lost = sent - read;
            }
        }
        BenchPayloadHeader{.sequence = sent, .sent_ns = 0}.write_to(message);
        if (::send(fd, message.data(), message.size(), 0) == static_cast<ssize_t>(message.size())) {
            ++sent;
        } else if (errno != EINTR && errno != ENOBUFS && errno != EAGAIN) {
            ::close(fd);
            throw std::runtime_error(std::string("sending to udpdump: ") + std::strerror(errno));
        }
    }
    ::close(fd);
    // Everything in flight must come out (or is lost) before udpdump is stopped.
    std::uint64_t seen = reader.messages();
    for (auto last_change = Clock::now(); seen < sent && Clock::now() - last_change < std::chrono::milliseconds(500);) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (reader.messages() != seen) {
            seen = reader.messages();
            last_change = Clock::now();
        }
    }
    const auto end = reader.last_message_time();
    const double udpdump_cpu = process_cpu_seconds(udpdump.pid()).value_or(0);
    udpdump.stop();
    const PcapStreamTotals totals = reader.finish(std::chrono::seconds(5));
    if (!totals.error.empty()) throw std::runtime_error("reading udpdump's FIFO: " + totals.error);

    DeliveryResult r;
    r.message_bytes = message_bytes;
    r.sent = sent;
    r.received = totals.messages;
    r.seconds = std::chrono::duration<double>(end - start).count();
    r.records_per_second = r.seconds > 0 ? static_cast<double>(r.received) / r.seconds : 0;
    r.megabytes_per_second = r.records_per_second * static_cast<double>(message_bytes) / 1e6;
    r.lost = sent - std::min(sent, r.received);
    r.sequence_breaks = totals.sequence_breaks;
    if (r.received > 0) {
        r.extcap_cpu_us = udpdump_cpu * 1e6 / static_cast<double>(r.received);
        r.reader_cpu_us = totals.cpu_seconds * 1e6 / static_cast<double>(r.received);
    }
    r.method = "flow-controlled, window " + std::to_string(kWindowDatagrams) + " datagrams";
    return r;
}

}  // namespace spicecap::bench
