// A subscriber connection (docs/protocol.md §7): writes what its Subscriber has for it, batch after batch,
// and waits (without blocking anything) when it is up to date. A second coroutine watches the socket for
// the subscriber hanging up, or sending anything, which it must not.
#include <chrono>

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "connection.hpp"
#include "coroutine_spawn.hpp"
#include "log.hpp"

namespace spicecap::daemon {

namespace {
// Bytes gathered for one write: large enough for high rates, and a write starts as soon as anything is
// there, so low rates are not delayed.
constexpr std::size_t kWriteBatch = 512 * 1024;
constexpr std::size_t kKeepOutCapacity = 4 * kWriteBatch;
constexpr int kSocketSendBuffer = 4 * 1024 * 1024;
}  // namespace

asio::awaitable<void> Connection::watch_subscriber_input() {
    auto frame = co_await next_frame();
    if (frame) {
        fail("protocol error: subscribers send nothing after HELLO, got " + std::string(frame_type_name(frame->type)));
    } else if (!closed_) {
        closed_ = true;
        close_socket();
    }
    wake_timer_.cancel();
}

asio::awaitable<void> Connection::run_subscriber(const SubscriberHello& hello) {
    auto added = hub_.add_subscriber(hello);
    if (!added) {
        refuse(added.error());
        co_return;
    }
    role_ = Role::subscriber;
    hello_timer_.cancel();
    leave_other_slot();
    subscriber_ = *added;
    log(LogLevel::info, describe(), ": subscribed to ", stream_kind_name(hello.kind),
        hello.channel_names.empty() ? std::string(" (all channels)") : " (" + std::to_string(hello.channel_names.size()) + " channels)",
        ", history ", hello.history_seconds, " s");

    const nlohmann::json accepted = {{"ok", true}, {"subscriber", subscriber_->id()}};
    if (co_await reply(accepted)) {
        // A larger socket buffer means fewer wake-ups per megabyte at high rates (the kernel caps it at
        // net.core.wmem_max; failure just leaves the default).
        std::error_code ignored;
        socket_.set_option(asio::socket_base::send_buffer_size(kSocketSendBuffer), ignored);
        auto self = shared_from_this();
        spawn_coroutine(
            socket_.get_executor(), watch_subscriber_input(), [self] { return self->describe() + " (input)"; },
            [self](bool failed) {
                if (failed) self->stop();
            });
        subscriber_->wake = [this] {
            if (waiting_) wake_timer_.cancel();
        };
        ByteBuffer out;
        while (!closed_) {
            out.clear();
            if (out.capacity() > kKeepOutCapacity) ByteBuffer().swap(out);
            subscriber_->fill(hub_.record_log(), out, kWriteBatch, wall_clock_ns());
            if (out.empty()) {
                waiting_ = true;
                wake_timer_.expires_at(asio::steady_timer::time_point::max());
                std::error_code ec;
                co_await wake_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                waiting_ = false;
                continue;
            }
            std::error_code ec;
            writing_ = true;
            co_await asio::async_write(socket_, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
            writing_ = false;
            if (ec) {
                if (!closed_) log(LogLevel::info, describe(), ": write failed: ", ec.message());
                closed_ = true;
                close_socket();
            }
        }
    }
    // The subscriber is removed in end(), which also runs when this coroutine throws.
}

}  // namespace spicecap::daemon
