// HostPort::parse: the --listen and --server arguments of `spicecap proxy`.
#include <doctest/doctest.h>

#include "proxy/host_port.hpp"

using spicecap::HostPort;

TEST_CASE("HOST:PORT parses names and IPv4 and bracketed IPv6 addresses") {
    const auto name = HostPort::parse("localhost:5900");
    REQUIRE(name);
    CHECK(name->host == "localhost");
    CHECK(name->port == 5900);
    const auto v6 = HostPort::parse("[::1]:5930");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->to_string() == "[::1]:5930");
    CHECK(HostPort::parse("127.0.0.1:0", true)->port == 0);
}

TEST_CASE("HOST:PORT errors say what is wrong") {
    CHECK(HostPort::parse("localhost").error().find("no ':PORT'") != std::string::npos);
    CHECK(HostPort::parse(":5900").error().find("host is empty") != std::string::npos);
    CHECK(HostPort::parse("host:99999").error().find("1 to 65535") != std::string::npos);
    CHECK(HostPort::parse("host:59a").error().find("1 to 65535") != std::string::npos);
    CHECK(HostPort::parse("host:0").error().find("1 to 65535") != std::string::npos);
    CHECK(HostPort::parse("::1:5900").error().find("brackets") != std::string::npos);
    CHECK(HostPort::parse("[::1]5900").error().find("no ':PORT'") != std::string::npos);
}
