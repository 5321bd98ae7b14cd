// One client connection: reads its HELLO (within kHelloTimeoutSeconds), answers with a REPLY, then runs
// the role's loop (connection_producer.cpp, connection_subscriber.cpp, connection_control.cpp). A protocol
// error closes this connection only, with one log line giving the reason (docs/protocol.md §3.4).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>

#include "hello.hpp"
#include "hub.hpp"
#include "listener.hpp"
#include "wire/frame.hpp"

namespace spicecap::daemon {

class Connection : public std::enable_shared_from_this<Connection> {
public:
    using Socket = asio::local::stream_protocol::socket;

    /// `on_finished` runs when the connection is done (the server forgets it).
    Connection(Hub& hub, Socket socket, std::uint64_t number, PeerCredentials peer,
               std::function<void(std::uint64_t)> on_finished);

    /// Starts the connection's coroutine.
    void start();
    /// Closes the connection (daemon shutdown): no log line, no REPLY.
    void stop();

private:
    enum class Role { unknown, producer, subscriber, control };

    asio::awaitable<void> run();
    asio::awaitable<void> run_producer(const ProducerHello& hello);
    asio::awaitable<void> run_subscriber(const SubscriberHello& hello);
    asio::awaitable<void> watch_subscriber_input();
    asio::awaitable<void> run_control();

    /// Reads more bytes into the decoder; false at the end of the stream or on error (already handled).
    asio::awaitable<bool> read_more();
    /// The next frame, or nullopt when the connection is over (error already handled).
    asio::awaitable<std::optional<FrameView>> next_frame();
    /// Writes a REPLY; false if the connection broke.
    asio::awaitable<bool> reply(const nlohmann::json& body);

    /// Logs `reason`, sends an error REPLY if that cannot block, and closes. Counts a protocol error.
    void fail(const std::string& reason);
    /// Like fail for refusals that are not the client's fault (limits): logged, answered, closed.
    void refuse(const std::string& reason);
    void close_socket();
    void leave_other_slot();
    /// Runs once the connection's coroutine is over, however it ended (an exception included): closes
    /// the socket, ends the session or subscription, frees the connection slot, tells the server.
    void end();
    /// The role's part of end(): closes the producer's session, removes the subscriber.
    void end_role();
    /// "producer #4 (pid 1234, ryll pid 1234, session 7 "vm1")" for log lines.
    std::string describe() const;

    Hub& hub_;
    Socket socket_;
    std::uint64_t number_;
    PeerCredentials peer_;
    std::function<void(std::uint64_t)> on_finished_;
    FrameDecoder decoder_;
    asio::steady_timer hello_timer_;
    asio::steady_timer wake_timer_;
    Role role_ = Role::unknown;
    bool in_other_slot_ = true;
    bool closed_ = false;
    bool writing_ = false;
    bool waiting_ = false;
    Session* session_ = nullptr;
    std::string producer_name_;
    std::shared_ptr<Subscriber> subscriber_;
};

}  // namespace spicecap::daemon
