// A plaintext SPICE TCP proxy that reports every message passing through it (`spicecap proxy`).
//
// SPICE opens one TCP connection per channel; the proxy accepts each, connects to the real server, and
// copies bytes both ways UNCHANGED, on one Asio io_context (no thread per connection). A read is handed
// to the write first and only then to the connection's SpiceChannelFollower, which cuts the bytes into
// messages for the sink; the sink (the producer library) copies and never blocks, so reporting never
// delays forwarding. When a connection cannot be followed as SPICE, its reporting stops (logged) and its
// bytes keep flowing.
//
// One exception to "forward first": during a connection's link stage (five messages of a few hundred
// bytes) the follower looks at a read before it is forwarded, and each link-stage message is written on its
// own. TCP may merge what a peer sent separately (the client's auth mechanism and ticket arrive in one
// read), and Wireshark's SPICE dissector cannot decode a connection whose link-stage messages share a
// segment; this keeps a capture of the proxy's server side (tcpdump) decodable, as without the proxy.
#pragma once

#include <asio.hpp>

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>

#include "proxy/host_port.hpp"
#include "follow/spice_channel_follower.hpp"
#include "base/log.hpp"

namespace spicecap {

/// How a SpiceProxy is set up.
struct SpiceProxyOptions {
    /// Where clients connect (port 0: any free port, see SpiceProxy::listening_on).
    HostPort listen{};
    /// The real SPICE server, connected once per client connection.
    HostPort server{};
    /// Limits of the SPICE parsers (a larger message stops reporting for its connection, not forwarding).
    SpiceParserLimits parser{};
    /// Bytes read at once per direction of a connection.
    std::size_t read_buffer_bytes = 256 * 1024;
};

/// Receives the proxy's progress lines (LogLevel::message) and problems (warning, error), one line each.
using ProxyLog = std::function<void(LogLevel level, const std::string& line)>;

/// Counters over the proxy's lifetime.
struct ProxyTotals {
    /// Client connections accepted.
    std::uint64_t connections = 0;
    /// Connections still open.
    std::uint64_t open_connections = 0;
    /// Connections whose channel was reported.
    std::uint64_t channels_reported = 0;
    /// Bytes forwarded client -> server and server -> client.
    std::uint64_t bytes_to_server = 0;
    std::uint64_t bytes_to_client = 0;
    /// Messages reported (both directions).
    std::uint64_t messages_reported = 0;
};

class SpiceProxy {
public:
    SpiceProxy(asio::io_context& io, SpiceProxyOptions options, SpiceChannelSink& sink, ProxyLog log);
    /// Closes what is still open (as stop()).
    ~SpiceProxy();
    SpiceProxy(const SpiceProxy&) = delete;
    SpiceProxy& operator=(const SpiceProxy&) = delete;

    /// Resolves the server and starts listening. An error sentence when it cannot (unknown host, port
    /// in use, no permission).
    Expected<Ok, std::string> start();
    /// The address the proxy listens on (after start()).
    asio::ip::tcp::endpoint listening_on() const;
    /// Stops accepting and closes every connection; their channels are closed at the sink. The
    /// io_context then runs out of work.
    void stop();

    ProxyTotals totals() const;

    class Connection;

private:
    void accept();
    void forget(Connection* connection);

    asio::io_context& io_;
    SpiceProxyOptions options_;
    SpiceChannelSink& sink_;
    ProxyLog log_;
    asio::ip::tcp::acceptor acceptor_;
    asio::steady_timer accept_retry_;
    asio::ip::tcp::resolver::results_type server_endpoints_;
    std::list<std::shared_ptr<Connection>> connections_;
    ProxyTotals totals_;
    bool stopped_ = false;
};

}  // namespace spicecap
