// SpiceProxy with real loopback sockets: a client and a server played by the test, the proxy between them
// on its own io_context thread, reporting into a recording sink.
#include <doctest/doctest.h>

#include <asio.hpp>

#include <chrono>
#include <mutex>
#include <thread>

#include "recording_channel_sink.hpp"
#include "spice_conversation.hpp"
#include "proxy/spice_proxy.hpp"

using namespace spicecap;
using asio::ip::tcp;
using spicecap::test::RecordingChannelSink;
using Kind = RecordingChannelSink::Event::Kind;

namespace {

const SpiceChannelKey display0{ChannelType::display, 0};

/// The proxy on its own thread, with the test's server behind it.
class ProxyUnderTest {
public:
    explicit ProxyUnderTest(std::uint16_t server_port, std::uint16_t listen_port = 0)
        : proxy_(io_,
                 SpiceProxyOptions{.listen = {"127.0.0.1", listen_port}, .server = {"127.0.0.1", server_port},
                                   .read_buffer_bytes = 4096},
                 sink, [this](LogLevel level, const std::string& line) {
                     std::lock_guard lock(mutex_);
                     lines_.push_back(std::to_string(static_cast<int>(level)) + " " + line);
                 }) {}

    ~ProxyUnderTest() {
        asio::post(io_, [this] { proxy_.stop(); });
        if (runner_.joinable()) runner_.join();
    }

    Expected<Ok, std::string> start() {
        auto started = proxy_.start();
        if (started) runner_ = std::thread([this] { io_.run(); });
        return started;
    }
    void stop() {
        asio::post(io_, [this] { proxy_.stop(); });
    }
    std::uint16_t port() const { return proxy_.listening_on().port(); }

    /// Waits (up to 5 s) until a log line contains `text`.
    bool wait_for_line(const std::string& text) {
        for (int i = 0; i < 500; ++i) {
            {
                std::lock_guard lock(mutex_);
                for (const auto& l : lines_)
                    if (l.find(text) != std::string::npos) return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
    std::string log() {
        std::lock_guard lock(mutex_);
        std::string all;
        for (const auto& l : lines_) all += l + "\n";
        return all;
    }

    RecordingChannelSink sink;

private:
    asio::io_context io_;
    SpiceProxy proxy_;
    std::thread runner_;
    std::mutex mutex_;
    std::vector<std::string> lines_;
};

/// The test's blocking sockets.
struct Peers {
    asio::io_context io;
    tcp::acceptor server_acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    tcp::socket client{io};
    tcp::socket server{io};

    std::uint16_t server_port() const { return server_acceptor.local_endpoint().port(); }
    void connect(std::uint16_t proxy_port) {
        client.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), proxy_port));
        server_acceptor.accept(server);
    }
};

std::vector<std::uint8_t> read_exactly(tcp::socket& from, std::size_t n) {
    std::vector<std::uint8_t> bytes(n);
    asio::read(from, asio::buffer(bytes));
    return bytes;
}

bool reads_eof(tcp::socket& s) {
    std::uint8_t byte;
    asio::error_code ec;
    s.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
}

bool wait_for_closed(RecordingChannelSink& sink, std::size_t count = 1) {
    for (int i = 0; i < 500 && sink.count(Kind::closed) < count; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return sink.count(Kind::closed) >= count;
}

}  // namespace

TEST_CASE("the proxy forwards both directions unchanged and reports every message") {
    Peers peers;
    ProxyUnderTest proxy(peers.server_port());
    REQUIRE(proxy.start());
    peers.connect(proxy.port());

    const auto conversation = test::display_conversation(HeaderMode::mini, 300'000);
    for (const auto& m : conversation.messages) {
        tcp::socket& from = m.direction == Direction::client_to_server ? peers.client : peers.server;
        tcp::socket& to = m.direction == Direction::client_to_server ? peers.server : peers.client;
        asio::write(from, asio::buffer(m.bytes));
        CHECK(read_exactly(to, m.bytes.size()) == m.bytes);  // bytes pass unchanged, message by message
    }
    // The client closes; the proxy passes the FIN on and keeps the server's direction open until it closes.
    peers.client.shutdown(tcp::socket::shutdown_send);
    CHECK(reads_eof(peers.server));
    const std::vector<std::uint8_t> late = SpiceMessageFramer(HeaderMode::mini).frame(spice::Ping{.id = 9});
    asio::write(peers.server, asio::buffer(late));
    CHECK(read_exactly(peers.client, late.size()) == late);
    peers.server.close();
    CHECK(reads_eof(peers.client));

    REQUIRE(wait_for_closed(proxy.sink));
    auto expected_s2c = conversation.of(Direction::server_to_client);
    expected_s2c.push_back(late);
    CHECK(proxy.sink.messages(display0, Direction::client_to_server) ==
          conversation.of(Direction::client_to_server));
    CHECK(proxy.sink.messages(display0, Direction::server_to_client) == expected_s2c);
    const auto events = proxy.sink.events();
    CHECK(events.front().kind == Kind::opened);
    CHECK(events.front().mode == HeaderMode::mini);
    CHECK(proxy.wait_for_line("display:0 opened (client 127.0.0.1:"));
    CHECK(proxy.wait_for_line("mini headers)"));
    INFO(proxy.log());
    // Client: link message, auth mechanism, ticket, 2 PONGs. Server: reply, result, 4 data messages, late PING.
    CHECK(proxy.wait_for_line(": 5 messages ("));
    CHECK(proxy.wait_for_line(" to the server, 7 messages ("));
}

TEST_CASE("bytes that are not SPICE are forwarded but not reported") {
    Peers peers;
    ProxyUnderTest proxy(peers.server_port());
    REQUIRE(proxy.start());
    peers.connect(proxy.port());
    const std::string request = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
    const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    asio::write(peers.client, asio::buffer(request));
    const auto got = read_exactly(peers.server, request.size());
    CHECK(std::string(got.begin(), got.end()) == request);
    asio::write(peers.server, asio::buffer(response));
    const auto back = read_exactly(peers.client, response.size());
    CHECK(std::string(back.begin(), back.end()) == response);
    CHECK(proxy.wait_for_line("not reported any more (bytes are still forwarded)"));
    peers.client.close();
    peers.server.close();
    CHECK(proxy.wait_for_line("not reported"));
    CHECK(proxy.sink.events().empty());
}

TEST_CASE("an unreachable server closes the client connection and says why") {
    std::uint16_t dead_port = 0;
    {
        asio::io_context io;
        tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        dead_port = probe.local_endpoint().port();
    }  // closed: nothing listens there now
    ProxyUnderTest proxy(dead_port);
    REQUIRE(proxy.start());
    asio::io_context io;
    tcp::socket client(io);
    client.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), proxy.port()));
    CHECK(reads_eof(client));
    CHECK(proxy.wait_for_line("cannot connect to the server 127.0.0.1:" + std::to_string(dead_port)));
    CHECK(proxy.wait_for_line("closing the client connection"));
    // The proxy keeps accepting after a failed connection.
    tcp::socket again(io);
    again.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), proxy.port()));
    CHECK(reads_eof(again));
}

TEST_CASE("a listen port in use is a clear error") {
    asio::io_context io;
    tcp::acceptor taken(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    ProxyUnderTest proxy(5930, taken.local_endpoint().port());
    const auto started = proxy.start();
    REQUIRE_FALSE(started);
    CHECK(started.error().find("cannot listen on 127.0.0.1:" + std::to_string(taken.local_endpoint().port())) !=
          std::string::npos);
    CHECK(started.error().find("in use") != std::string::npos);
}

TEST_CASE("stopping the proxy closes open connections and their channels") {
    Peers peers;
    ProxyUnderTest proxy(peers.server_port());
    REQUIRE(proxy.start());
    peers.connect(proxy.port());
    const auto conversation = test::display_conversation(HeaderMode::mini);
    for (std::size_t i = 0; i < 5; ++i) {  // the link stage only
        const auto& m = conversation.messages[i];
        tcp::socket& from = m.direction == Direction::client_to_server ? peers.client : peers.server;
        tcp::socket& to = m.direction == Direction::client_to_server ? peers.server : peers.client;
        asio::write(from, asio::buffer(m.bytes));
        read_exactly(to, m.bytes.size());
    }
    CHECK(proxy.wait_for_line("display:0 opened"));
    proxy.stop();
    CHECK(wait_for_closed(proxy.sink));
    CHECK(reads_eof(peers.client));
    CHECK(reads_eof(peers.server));
    CHECK(proxy.wait_for_line("(proxy stopping)"));
}
