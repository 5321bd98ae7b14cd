// The running daemon: accepts connections (refusing other uids and connections over the limit), keeps
// the history's age limit with a once-a-second tick, and shuts down cleanly on SIGTERM/SIGINT: stops
// accepting, closes every connection, removes its socket file.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <sys/types.h>

#include "hub.hpp"
#include "listener.hpp"
#include "options.hpp"

namespace spicecap::daemon {

class Connection;

class Server {
public:
    Server(asio::io_context& io, Listener listener, const DaemonLimits& limits);
    ~Server();

    /// Starts accepting, the tick and the signal handlers; io.run() then runs the daemon until a signal.
    void start();

private:
    void start_accepting();
    asio::awaitable<void> accept_loop();
    /// Checks a new connection's peer and the connection limit, then starts it (or refuses it).
    void admit(asio::local::stream_protocol::socket socket, uid_t own_uid);
    asio::awaitable<void> tick_loop();
    void shutdown(int signal_number);

    asio::io_context& io_;
    Listener listener_;
    Hub hub_;
    asio::signal_set signals_;
    asio::steady_timer tick_;
    std::map<std::uint64_t, std::weak_ptr<Connection>> connections_;
    std::uint64_t next_connection_ = 1;
    bool stopping_ = false;
};

}  // namespace spicecap::daemon
