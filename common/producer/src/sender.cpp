// The producer's one background thread: connects to the daemon (with backoff while there is none), says
// HELLO, then writes whatever the reporting threads buffered, until the connection breaks or the producer
// stops. Everything that can wait (connect, the REPLY, a full socket, idling) also watches the stop
// eventfd, so stopping takes bounded time whatever the daemon does.
#include <algorithm>
#include <exception>

#include <poll.h>

#include "producer_impl.hpp"

namespace spicecap {

namespace {

using std::chrono::milliseconds;

/// Delay before the next connection attempt: 100 ms after a failure, doubling up to 2 s, back to 100 ms
/// after a connection was accepted.
class ReconnectBackoff {
public:
    milliseconds next() noexcept {
        const milliseconds delay = delay_;
        delay_ = std::min(delay_ * 2, kMax);
        return delay;
    }
    void reset() noexcept { delay_ = kFirst; }

private:
    static constexpr milliseconds kFirst{100};
    static constexpr milliseconds kMax{2000};
    milliseconds delay_ = kFirst;
};

/// With a value above 0 (a build of the library for one program may define it: libspicecap-tap.so does),
/// the sender, woken again within this many microseconds of its last write, waits for the rest of that
/// time before writing: a steady stream of small messages then costs one wake-up and one write per
/// interval instead of per message, and each message waits at most this long. 0: every wake-up writes
/// at once (the library's latency target, design §9).
#ifndef SPICECAP_PRODUCER_GATHER_US
#define SPICECAP_PRODUCER_GATHER_US 0
#endif
constexpr std::chrono::microseconds kGather{SPICECAP_PRODUCER_GATHER_US};

/// How long a daemon may take to answer the HELLO of a background attempt before it counts as failed.
constexpr milliseconds kHelloTimeout{5000};

}  // namespace

void Producer::Impl::go_online(const producer_detail::DaemonConnection& connection) {
    // A RECORD's length field counts its type byte and header too.
    constexpr std::uint32_t kLengthAbovePayload = 1 + RecordHeader::kSize;
    const std::uint32_t max_frame = connection.accepted().max_frame_bytes;
    // The open channels' events go first; then the reporting calls see the connection.
    channels.open_with_replay(buffer, max_frame > kLengthAbovePayload ? max_frame - kLengthAbovePayload : 0);
    {
        std::lock_guard lock(status_mutex_);
        ++connections_;
        connected_ = true;
        session_ = connection.accepted().session;
    }
    state_.fetch_or(kConnected, std::memory_order_relaxed);
}

void Producer::Impl::go_offline() noexcept {
    // Calls stop being recorded first, then what is still pending is counted as dropped.
    state_.fetch_and(static_cast<std::uint8_t>(~kConnected), std::memory_order_relaxed);
    buffer.close();
    std::lock_guard lock(status_mutex_);
    connected_ = false;
    session_ = 0;
}

void Producer::Impl::run_sender(std::optional<producer_detail::DaemonConnection> connection) noexcept {
    ReconnectBackoff backoff;
    while (!stopping_.load()) {
        try {
            if (!connection) {
                auto attempt = producer_detail::DaemonConnection::open(socket_path, hello_json_, kHelloTimeout, stop_);
                if (!attempt) {
                    set_last_error(attempt.error());
                    wait_unless_stopped(backoff.next());
                    continue;
                }
                connection.emplace(std::move(attempt).value());
                go_online(*connection);
            }
            backoff.reset();
            const bool stopped = serve(*connection);
            go_offline();
            if (!stopped) set_last_error(connection->end_reason());
            connection.reset();
            if (!stopped) wait_unless_stopped(backoff.next());
        } catch (const std::exception& error) {  // std::bad_alloc, most likely: try again later
            go_offline();
            connection.reset();
            set_last_error(std::string{"producer sender: "} + error.what());
            wait_unless_stopped(backoff.next());
        }
    }
}

bool Producer::Impl::serve(producer_detail::DaemonConnection& connection) {
    producer_detail::Batch batch;
    buffer.reserve_full_size(batch.bytes);  // it is swapped with the pending buffer: both must be full size
    auto last_write = std::chrono::steady_clock::time_point{};
    while (true) {
        if (!buffer.take(batch)) {
            switch (connection.wait_idle(data_ready, stop_)) {
                case producer_detail::DaemonConnection::Wake::stop: return true;
                case producer_detail::DaemonConnection::Wake::closed: return false;
                case producer_detail::DaemonConnection::Wake::data_ready:
                    data_ready.clear();
                    if (kGather.count() > 0 && !gather_until(last_write + kGather)) return true;
                    continue;
            }
        }
        if (kGather.count() > 0) last_write = std::chrono::steady_clock::now();
        const auto result = connection.write_all(batch.bytes, stop_);
        buffer.settle(batch, result.written);
        switch (result.outcome) {
            case producer_detail::DaemonConnection::WriteOutcome::complete: break;
            case producer_detail::DaemonConnection::WriteOutcome::stopped: return true;
            case producer_detail::DaemonConnection::WriteOutcome::broken: return false;
        }
    }
}

bool Producer::Impl::gather_until(std::chrono::steady_clock::time_point until) const noexcept {
    const auto rest = until - std::chrono::steady_clock::now();
    if (rest <= std::chrono::steady_clock::duration::zero()) return true;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(rest).count();
    const timespec wait{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    pollfd fd = {stop_.fd(), POLLIN, 0};
    return ::ppoll(&fd, 1, &wait, nullptr) <= 0;
}

void Producer::Impl::wait_unless_stopped(milliseconds delay) const noexcept {
    pollfd fd = {stop_.fd(), POLLIN, 0};
    ::poll(&fd, 1, static_cast<int>(delay.count()));
}

}  // namespace spicecap
