// Parsing "HOST:PORT" (see host_port.hpp).
#include "proxy/host_port.hpp"

#include <charconv>

namespace spicecap {

std::string HostPort::to_string() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Expected<HostPort, std::string> HostPort::parse(std::string_view text, bool allow_port_zero) {
    const auto bad = [&](const std::string& why) {
        // Appended, not `"'" + std::string(text) + ...`: GCC 12 -O3 warns wrongly (-Wrestrict) on that.
        return Unexpected{std::string("'").append(text).append("' is not HOST:PORT: ").append(why)};
    };
    HostPort result;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return bad("no ']' after the IPv6 address");
        result.host = std::string(text.substr(1, close - 1));
        if (close + 1 >= text.size() || text[close + 1] != ':') return bad("no ':PORT' after ']'");
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return bad("no ':PORT'");
        result.host = std::string(text.substr(0, colon));
        if (result.host.find(':') != std::string::npos) return bad("write an IPv6 address in brackets, [::1]:5930");
        port = text.substr(colon + 1);
    }
    if (result.host.empty()) return bad("the host is empty");
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535 ||
        (value == 0 && !allow_port_zero))
        return bad("the port must be a number from 1 to 65535");
    result.port = static_cast<std::uint16_t>(value);
    return result;
}

}  // namespace spicecap
