// The physical limit of design §9: the same bytes copied through a pipe by a writer and a reader that do
// nothing else. The extcap's FIFO is such a pipe, so no capture path can beat this.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <thread>
#include <vector>

#include "scenarios.hpp"

namespace spicecap::bench {
namespace {

double thread_cpu_seconds() {
    timespec cpu{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    return static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) / 1e9;
}

}  // namespace

RawPipeResult run_raw_pipe(const BenchContext& context, std::size_t write_bytes) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    const auto duration = context.throughput_duration();

    // The reader reads as the benchmark's pcap reader does (1 MiB reads), with the pipe at its default size,
    // as Wireshark leaves an extcap's FIFO.
    std::uint64_t read_total = 0;
    std::chrono::steady_clock::time_point read_end;
    double reader_cpu = 0;
    std::thread reader([&] {
        std::vector<char> buffer(1 << 20);
        for (;;) {
            const ssize_t n = ::read(fds[0], buffer.data(), buffer.size());
            if (n > 0) {
                read_total += static_cast<std::uint64_t>(n);
            } else if (n == 0 || errno != EINTR) {
                break;
            }
        }
        read_end = std::chrono::steady_clock::now();
        reader_cpu = thread_cpu_seconds();
    });

    std::vector<char> message(write_bytes, 'x');
    const double writer_cpu_before = thread_cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < duration) {
        for (int i = 0; i < 16; ++i) {
            std::size_t done = 0;
            while (done < message.size()) {
                const ssize_t n = ::write(fds[1], message.data() + done, message.size() - done);
                if (n < 0 && errno != EINTR) throw std::runtime_error(std::string("write: ") + std::strerror(errno));
                if (n > 0) done += static_cast<std::size_t>(n);
            }
        }
    }
    const double writer_cpu = thread_cpu_seconds() - writer_cpu_before;
    ::close(fds[1]);
    reader.join();
    ::close(fds[0]);

    RawPipeResult r;
    r.write_bytes = write_bytes;
    r.megabytes_per_second = static_cast<double>(read_total) / std::chrono::duration<double>(read_end - start).count() / 1e6;
    const double writes = static_cast<double>(read_total) / static_cast<double>(write_bytes);
    r.writer_cpu_us = writer_cpu * 1e6 / writes;
    r.reader_cpu_us = reader_cpu * 1e6 / writes;
    return r;
}

}  // namespace spicecap::bench
