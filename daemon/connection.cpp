// Connection setup, HELLO, frame reading and closing (see connection.hpp).
#include "connection.hpp"

#include <chrono>

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <sys/socket.h>

#include "coroutine_spawn.hpp"
#include "log.hpp"

namespace spicecap::daemon {

namespace {
constexpr std::size_t kReadChunk = 256 * 1024;
}

Connection::Connection(Hub& hub, Socket socket, std::uint64_t number, PeerCredentials peer,
                       std::function<void(std::uint64_t)> on_finished)
    : hub_(hub),
      socket_(std::move(socket)),
      number_(number),
      peer_(peer),
      on_finished_(std::move(on_finished)),
      decoder_(kMaxJsonFrameBytes),
      hello_timer_(socket_.get_executor()),
      wake_timer_(socket_.get_executor()) {}

void Connection::start() {
    auto self = shared_from_this();
    hello_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(kHelloTimeoutSeconds)));
    hello_timer_.async_wait([weak = std::weak_ptr<Connection>(self)](std::error_code ec) {
        if (ec) return;
        if (auto c = weak.lock(); c && c->role_ == Role::unknown) c->fail("no HELLO within the time limit");
    });
    spawn_coroutine(
        socket_.get_executor(), run(), [self] { return self->describe(); },
        // A connection whose coroutine threw costs that connection only: it is cleaned up like any other.
        [self](bool) { self->end(); });
}

void Connection::end() {
    closed_ = true;
    close_socket();
    end_role();
    leave_other_slot();
    if (on_finished_) on_finished_(number_);
}

void Connection::end_role() {
    // Each step is guarded on its own: cleaning up after a failure must not fail the cleanup of the rest.
    if (session_ != nullptr) {
        log(LogLevel::info, describe(), ": session ended after ", session_->records, " records (", session_->bytes,
            " bytes)");
        Session* session = std::exchange(session_, nullptr);
        try {
            hub_.close_session(*session);
        } catch (const std::exception& e) {
            log(LogLevel::error, "session ", session->id, ": closing it failed: ", e.what());
        }
    }
    if (subscriber_) {
        subscriber_->wake = nullptr;
        log(LogLevel::info, describe(), ": unsubscribed after ", subscriber_->delivered_records(), " records, ",
            subscriber_->dropped_records(), " dropped");
        hub_.remove_subscriber(*subscriber_);
        subscriber_.reset();
    }
}

void Connection::stop() {
    closed_ = true;
    close_socket();
}

std::string Connection::describe() const {
    std::string who;
    switch (role_) {
        case Role::unknown: who = "connection"; break;
        case Role::producer: who = "producer"; break;
        case Role::subscriber: who = "subscriber"; break;
        case Role::control: who = "control"; break;
    }
    who += " #" + std::to_string(number_) + " (pid " + std::to_string(peer_.pid);
    if (session_ != nullptr) {
        who += ", " + producer_name_ + ", session " + std::to_string(session_->id);
        if (!session_->label.empty()) who += " \"" + session_->label + "\"";
    }
    if (subscriber_) who += ", subscriber id " + std::to_string(subscriber_->id());
    return who + ")";
}

void Connection::close_socket() {
    std::error_code ignored;
    hello_timer_.cancel();
    wake_timer_.cancel();
    if (socket_.is_open()) {
        socket_.shutdown(Socket::shutdown_both, ignored);
        socket_.close(ignored);
    }
}

void Connection::fail(const std::string& reason) {
    if (closed_) return;
    hub_.totals().protocol_errors += 1;
    refuse(reason);
}

void Connection::refuse(const std::string& reason) {
    if (closed_) return;
    closed_ = true;
    log(LogLevel::warning, describe(), ": closed: ", reason);
    // Best effort: tell the client why, if that cannot block and does not cut into a frame being written.
    if (!writing_ && socket_.is_open()) {
        ByteBuffer frame;
        append_frame(frame, FrameType::reply, std::string_view(nlohmann::json{{"ok", false}, {"error", reason}}.dump()));
        [[maybe_unused]] auto sent = ::send(socket_.native_handle(), frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    close_socket();
}

void Connection::leave_other_slot() {
    if (in_other_slot_) {
        in_other_slot_ = false;
        hub_.remove_other();
    }
}

asio::awaitable<bool> Connection::read_more() {
    if (closed_) co_return false;
    auto space = decoder_.prepare(kReadChunk);
    std::error_code ec;
    const std::size_t n = co_await socket_.async_read_some(asio::buffer(space.data(), space.size()),
                                                           asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) co_return false;
    if (ec) {
        if (ec == asio::error::eof) {
            if (auto end = decoder_.finish(); !end) {
                fail("protocol error: " + end.error().message);
                co_return false;
            }
        } else {
            log(LogLevel::info, describe(), ": read failed: ", ec.message());
        }
        closed_ = true;
        close_socket();
        co_return false;
    }
    decoder_.commit(n);
    co_return true;
}

asio::awaitable<std::optional<FrameView>> Connection::next_frame() {
    for (;;) {
        auto frame = decoder_.next();
        if (!frame) {
            fail("protocol error: " + frame.error().message);
            co_return std::nullopt;
        }
        if (frame.value()) co_return *frame.value();
        if (!co_await read_more()) co_return std::nullopt;
    }
}

asio::awaitable<bool> Connection::reply(const nlohmann::json& body) {
    ByteBuffer frame;
    append_frame(frame, FrameType::reply, std::string_view(body.dump()));
    std::error_code ec;
    writing_ = true;
    co_await asio::async_write(socket_, asio::buffer(frame), asio::redirect_error(asio::use_awaitable, ec));
    writing_ = false;
    if (ec) {
        if (!closed_) log(LogLevel::info, describe(), ": write failed: ", ec.message());
        closed_ = true;
        close_socket();
        co_return false;
    }
    co_return true;
}

asio::awaitable<void> Connection::run() {
    log(LogLevel::debug, describe(), ": connected");
    auto frame = co_await next_frame();
    if (frame) {
        if (frame->type != FrameType::hello) {
            fail("protocol error: the first frame is " + std::string(frame_type_name(frame->type)) + ", not HELLO");
        } else if (auto hello = parse_hello(frame->text()); !hello) {
            fail("bad HELLO: " + hello.error());
        } else if (auto* p = std::get_if<ProducerHello>(&*hello)) {
            co_await run_producer(*p);
        } else if (auto* s = std::get_if<SubscriberHello>(&*hello)) {
            co_await run_subscriber(*s);
        } else {
            co_await run_control();
        }
    } else if (!closed_) {
        log(LogLevel::debug, describe(), ": closed before HELLO");
    }
}

}  // namespace spicecap::daemon
