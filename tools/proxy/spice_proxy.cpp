// The SPICE proxy's sockets (see spice_proxy.hpp).
#include "proxy/spice_proxy.hpp"

#include <chrono>
#include <vector>

#include "base/byte_size_text.hpp"
#include "base/clock.hpp"

namespace spicecap {

namespace {

using asio::ip::tcp;

std::string endpoint_text(const tcp::endpoint& e) {
    const std::string host = e.address().to_string();
    return (e.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(e.port());
}

std::string counters_text(const FollowCounters& c) {
    return std::to_string(c.messages) + (c.messages == 1 ? " message" : " messages") + " (" +
           byte_size_text(c.bytes) + ")";
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------

/// One client connection and its connection to the server.
class SpiceProxy::Connection : public std::enable_shared_from_this<SpiceProxy::Connection> {
public:
    Connection(SpiceProxy& proxy, tcp::socket client)
        : proxy_(proxy), client_(std::move(client)), server_(proxy.io_), follower_(proxy.sink_, proxy.options_.parser),
          to_server_{client_, server_, Direction::client_to_server},
          to_client_{server_, client_, Direction::server_to_client}, started_(std::chrono::steady_clock::now()) {
        asio::error_code ec;
        const auto peer = client_.remote_endpoint(ec);
        peer_ = ec ? std::string("a client") : "client " + endpoint_text(peer);
        to_server_.buffer.resize(proxy.options_.read_buffer_bytes);
        to_client_.buffer.resize(proxy.options_.read_buffer_bytes);
    }

    void start() {
        asio::async_connect(server_, proxy_.server_endpoints_,
                            [self = shared_from_this()](const asio::error_code& ec, const tcp::endpoint&) {
                                self->connected(ec);
                            });
    }

    /// Closes both sockets at once (proxy stopping). Safe to call more than once.
    void close() { end("proxy stopping"); }

private:
    /// One way bytes flow: read from `from`, write the same bytes to `to`, read again.
    struct Pump {
        tcp::socket& from;
        tcp::socket& to;
        Direction direction;
        std::vector<std::uint8_t> buffer{};
        bool eof = false;
        std::uint64_t bytes = 0;
        /// Where the pieces of the current read end (the last is the read's size), written one by one.
        std::vector<std::size_t> pieces{};
        std::size_t next_piece = 0;
    };

    void connected(const asio::error_code& ec) {
        if (finished_) return;
        if (ec) {
            proxy_.log_(LogLevel::error, peer_ + ": cannot connect to the server " + proxy_.options_.server.to_string() +
                                             ": " + ec.message() + "; closing the client connection");
            end({});
            return;
        }
        asio::error_code ignored;
        // SPICE messages are small and latency-sensitive (inputs, cursor): never hold bytes back.
        client_.set_option(tcp::no_delay(true), ignored);
        server_.set_option(tcp::no_delay(true), ignored);
        read(to_server_);
        read(to_client_);
    }

    void read(Pump& pump) {
        pump.from.async_read_some(asio::buffer(pump.buffer),
                                  [self = shared_from_this(), &pump](const asio::error_code& ec, std::size_t n) {
                                      self->received(pump, ec, n);
                                  });
    }

    void received(Pump& pump, const asio::error_code& ec, std::size_t n) {
        if (finished_) return;
        if (ec == asio::error::eof) {
            // Half close: pass the FIN on and keep the other direction flowing until it ends too.
            pump.eof = true;
            asio::error_code ignored;
            pump.to.shutdown(tcp::socket::shutdown_send, ignored);
            if (to_server_.eof && to_client_.eof) end({});
            return;
        }
        if (ec) {
            end(ec.message());
            return;
        }
        pump.bytes += n;
        (pump.direction == Direction::client_to_server ? proxy_.totals_.bytes_to_server
                                                            : proxy_.totals_.bytes_to_client) += n;
        const std::span<const std::uint8_t> bytes(pump.buffer.data(), n);
        FollowEvents events;
        if (follower_.in_link_stage(pump.direction)) {
            // The link stage is a few hundred bytes: look first, then forward each link-stage message in
            // its own write, so it keeps its own TCP segment as the peer sent it (see FollowEvents).
            events = follower_.feed(pump.direction, bytes, wall_clock_ns());
            pump.pieces.assign(events.link_stage_ends.begin(), events.link_stage_ends.end());
            pump.pieces.push_back(n);
            pump.next_piece = 0;
            write_pieces(pump, 0);
        } else {
            // Forward first: the write starts (and usually completes) before the bytes are looked at.
            pump.pieces.assign(1, n);
            pump.next_piece = 0;
            write_pieces(pump, 0);
            events = follower_.feed(pump.direction, bytes, wall_clock_ns());
        }
        if (events.opened) {
            ++proxy_.totals_.channels_reported;
            proxy_.log_(LogLevel::message, follower_.channel()->to_string() + " opened (" + peer_ + ", " +
                                               (*follower_.header_mode() == HeaderMode::mini ? "mini" : "full") +
                                               " headers)");
        }
        if (events.stopped)
            proxy_.log_(LogLevel::warning, name() + ": not reported any more (bytes are still forwarded): " +
                                               *events.stopped);
    }

    /// Writes pump.buffer[from, pieces[next_piece]) and the pieces after it one write at a time, then reads
    /// again.
    void write_pieces(Pump& pump, std::size_t from) {
        const std::size_t to = pump.pieces[pump.next_piece];
        asio::async_write(pump.to, asio::buffer(pump.buffer.data() + from, to - from),
                          [self = shared_from_this(), &pump, to](const asio::error_code& ec, std::size_t) {
                              if (self->finished_) return;
                              if (ec) {
                                  self->end(ec.message());
                                  return;
                              }
                              if (++pump.next_piece < pump.pieces.size())
                                  self->write_pieces(pump, to);
                              else
                                  self->read(pump);
                          });
    }

    /// Ends the connection: closes both sockets, closes the channel at the sink, says so. `error` is why
    /// it ended abnormally, empty when both sides closed in turn.
    void end(const std::string& error) {
        if (finished_) return;
        finished_ = true;
        asio::error_code ignored;
        client_.close(ignored);
        server_.close(ignored);
        const bool was_reporting = follower_.reporting();
        follower_.finish();
        const FollowCounters& sent = follower_.reported(Direction::client_to_server);
        const FollowCounters& received = follower_.reported(Direction::server_to_client);
        proxy_.totals_.messages_reported += sent.messages + received.messages;

        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        char duration[32];
        std::snprintf(duration, sizeof duration, "%.1f s", seconds);
        std::string line = name() + " closed after " + duration;
        if (!error.empty()) line += " (" + error + ")";
        if (follower_.channel() && (was_reporting || sent.messages + received.messages > 0)) {
            line += ": " + counters_text(sent) + " to the server, " + counters_text(received) + " to the client";
        } else if (to_server_.bytes + to_client_.bytes > 0) {
            line += ": " + byte_size_text(to_server_.bytes) + " to the server, " + byte_size_text(to_client_.bytes) +
                    " to the client, not reported";
        }
        if (follower_.channel() || to_server_.bytes + to_client_.bytes > 0) proxy_.log_(LogLevel::message, line);
        proxy_.forget(this);
    }

    std::string name() const { return follower_.channel() ? follower_.channel()->to_string() + " (" + peer_ + ")" : peer_; }

    SpiceProxy& proxy_;
    tcp::socket client_;
    tcp::socket server_;
    SpiceChannelFollower follower_;
    Pump to_server_;
    Pump to_client_;
    std::chrono::steady_clock::time_point started_;
    std::string peer_;
    bool finished_ = false;
};

// ---------------------------------------------------------------------------------------------------------

SpiceProxy::SpiceProxy(asio::io_context& io, SpiceProxyOptions options, SpiceChannelSink& sink, ProxyLog log)
    : io_(io), options_(std::move(options)), sink_(sink), log_(std::move(log)), acceptor_(io), accept_retry_(io) {}

SpiceProxy::~SpiceProxy() { stop(); }

Expected<Ok, std::string> SpiceProxy::start() {
    asio::error_code ec;
    tcp::resolver resolver(io_);
    server_endpoints_ = resolver.resolve(options_.server.host, std::to_string(options_.server.port), ec);
    if (ec) return Unexpected{"cannot resolve the server " + options_.server.to_string() + ": " + ec.message()};

    const auto listen = resolver.resolve(options_.listen.host, std::to_string(options_.listen.port),
                                         tcp::resolver::passive, ec);
    if (ec || listen.empty())
        return Unexpected{"cannot resolve the listen address " + options_.listen.to_string() + ": " + ec.message()};
    const tcp::endpoint endpoint = listen.begin()->endpoint();
    const auto fail = [&](const char* what) {
        acceptor_.close();
        return Unexpected{std::string("cannot listen on ") + options_.listen.to_string() + ": " + what + ": " +
                          ec.message()};
    };
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return fail("socket");
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    acceptor_.bind(endpoint, ec);
    if (ec) return fail("bind");
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen");
    accept();
    return Ok{};
}

tcp::endpoint SpiceProxy::listening_on() const {
    asio::error_code ec;
    return acceptor_.local_endpoint(ec);
}

void SpiceProxy::accept() {
    acceptor_.async_accept([this](const asio::error_code& ec, tcp::socket socket) {
        if (stopped_ || ec == asio::error::operation_aborted) return;
        if (ec) {
            // Out of file descriptors and the like: say so and try again shortly instead of spinning.
            log_(LogLevel::warning, "accepting a client connection failed: " + ec.message());
            accept_retry_.expires_after(std::chrono::milliseconds(200));
            accept_retry_.async_wait([this](const asio::error_code& wec) {
                if (!wec && !stopped_) accept();
            });
            return;
        }
        ++totals_.connections;
        auto connection = std::make_shared<Connection>(*this, std::move(socket));
        connections_.push_back(connection);
        connection->start();
        accept();
    });
}

void SpiceProxy::forget(Connection* connection) {
    connections_.remove_if([connection](const std::shared_ptr<Connection>& c) { return c.get() == connection; });
}

void SpiceProxy::stop() {
    if (stopped_) return;
    stopped_ = true;
    asio::error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
    const auto open = connections_;  // closing removes them from the list
    for (const auto& c : open) c->close();
}

ProxyTotals SpiceProxy::totals() const {
    ProxyTotals t = totals_;
    t.open_connections = connections_.size();
    return t;
}

}  // namespace spicecap
