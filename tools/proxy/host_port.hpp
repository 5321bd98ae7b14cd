// "HOST:PORT" as users type it on the command line: `localhost:5900`, `127.0.0.1:5930`, `[::1]:5930`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/expected.hpp"

namespace spicecap {

/// A host name or address and a TCP port, not resolved yet.
struct HostPort {
    /// Host name, IPv4 address, or IPv6 address without brackets.
    std::string host;
    /// TCP port, 1..65535 (0 only where a caller allows "any free port").
    std::uint16_t port = 0;

    /// "host:port", with brackets around an IPv6 address.
    std::string to_string() const;
    /// Parses "HOST:PORT" or "[IPV6]:PORT". `allow_port_zero` accepts port 0 ("pick a free port").
    static Expected<HostPort, std::string> parse(std::string_view text, bool allow_port_zero = false);
};

}  // namespace spicecap
