// Accepting, peer checks, the retention tick and shutdown (see server.hpp).
#include "server.hpp"

#include <chrono>
#include <csignal>

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <unistd.h>

#include "connection.hpp"
#include "coroutine_spawn.hpp"
#include "log.hpp"

namespace spicecap::daemon {

Server::Server(asio::io_context& io, Listener listener, const DaemonLimits& limits)
    : io_(io),
      listener_(std::move(listener)),
      hub_(limits, listener_.path),
      signals_(io, SIGTERM, SIGINT),
      tick_(io) {}

Server::~Server() { remove_socket_file(listener_); }

void Server::start() {
    signals_.async_wait([this](std::error_code ec, int signal_number) {
        if (!ec) shutdown(signal_number);
    });
    start_accepting();
    spawn_coroutine(io_, tick_loop(), [] { return std::string("the history tick"); }, {});
}

void Server::start_accepting() {
    // accept_loop() survives what one connection's setup throws; should the loop itself end by an
    // exception, it is started again: a daemon that stops accepting silently is the worst failure.
    spawn_coroutine(io_, accept_loop(), [] { return std::string("accepting connections"); }, [this](bool failed) {
        if (failed && !stopping_) start_accepting();
    });
}

asio::awaitable<void> Server::accept_loop() {
    const uid_t own_uid = ::geteuid();
    while (!stopping_) {
        std::error_code ec;
        Connection::Socket socket = co_await listener_.acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (stopping_) break;
        if (!ec) {
            try {
                admit(std::move(socket), own_uid);
                continue;
            } catch (const std::exception& e) {
                // E.g. out of memory for one more connection: that connection is lost, accepting goes on.
                log(LogLevel::error, "setting up a new connection failed: ", e.what());
            }
        } else {
            // Out of file descriptors or similar: say so and retry shortly instead of spinning.
            log(LogLevel::error, "accept failed: ", ec.message());
        }
        asio::steady_timer pause(io_, std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

void Server::admit(Connection::Socket socket, uid_t own_uid) {
    std::error_code ec;
    const std::uint64_t number = next_connection_++;
    auto peer = peer_credentials(socket.native_handle());
    if (!peer || peer->uid != own_uid) {
        hub_.totals().refused_connections += 1;
        log(LogLevel::warning, "connection #", number, " refused: peer uid ",
            peer ? std::to_string(peer->uid) : std::string("unknown"), " (pid ", peer ? peer->pid : 0,
            ") is not the daemon's uid ", own_uid);
        socket.close(ec);
        return;
    }
    if (!hub_.try_add_other()) {
        hub_.totals().refused_connections += 1;
        log(LogLevel::warning, "connection #", number, " (pid ", peer->pid,
            ") refused: too many connections without HELLO or control (limit ", hub_.limits().max_other_connections,
            ")");
        socket.close(ec);
        return;
    }
    try {
        auto connection = std::make_shared<Connection>(hub_, std::move(socket), number, *peer,
                                                       [this](std::uint64_t n) { connections_.erase(n); });
        connections_.emplace(number, connection);
        connection->start();
    } catch (...) {
        // The connection never started, so it never gives its slot back itself.
        connections_.erase(number);
        hub_.remove_other();
        throw;
    }
}

asio::awaitable<void> Server::tick_loop() {
    while (!stopping_) {
        tick_.expires_after(std::chrono::seconds(1));
        std::error_code ec;
        co_await tick_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (stopping_) break;
        try {
            hub_.enforce_retention(wall_clock_ns());
        } catch (const std::exception& e) {
            log(LogLevel::error, "history retention failed: ", e.what(), "; trying again in a second");
        }
    }
}

void Server::shutdown(int signal_number) {
    if (stopping_) return;
    stopping_ = true;
    log(LogLevel::message, "received ", signal_number == SIGTERM ? "SIGTERM" : "SIGINT", ", shutting down");
    std::error_code ignored;
    listener_.acceptor.close(ignored);
    remove_socket_file(listener_);
    tick_.cancel();
    auto connections = connections_;  // stop() may make connections forget themselves
    for (auto& [number, weak] : connections) {
        if (auto c = weak.lock()) c->stop();
    }
    signals_.cancel();
}

}  // namespace spicecap::daemon
