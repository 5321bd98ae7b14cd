// The socket path rule: --socket, then $SPICECAP_SOCKET, then $XDG_RUNTIME_DIR, then /tmp/spicecap-$UID.
#include <doctest/doctest.h>

#include "wire/socket_path.hpp"

#include <cstdlib>
#include <optional>
#include <string>

#include <unistd.h>

using namespace spicecap;

namespace {

// Sets (or unsets, with nullopt) an environment variable for one scope and restores it afterwards.
class ScopedEnv {
public:
    ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value) ::setenv(name, value->c_str(), 1);
        else ::unsetenv(name);
    }
    ~ScopedEnv() {
        if (old_) ::setenv(name_, old_->c_str(), 1);
        else ::unsetenv(name_);
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("socket path: --socket wins over everything") {
    ScopedEnv a("SPICECAP_SOCKET", "/env/s.sock");
    ScopedEnv b("XDG_RUNTIME_DIR", "/run/user/1000");
    auto choice = choose_socket_path("/cli/s.sock");
    CHECK(choice.path == "/cli/s.sock");
    CHECK(choice.source == SocketPathSource::command_line);
    CHECK(socket_path("relative.sock") == "relative.sock");
}

TEST_CASE("socket path: SPICECAP_SOCKET comes next") {
    ScopedEnv a("SPICECAP_SOCKET", "/env/s.sock");
    ScopedEnv b("XDG_RUNTIME_DIR", "/run/user/1000");
    auto choice = choose_socket_path(std::nullopt);
    CHECK(choice.path == "/env/s.sock");
    CHECK(choice.source == SocketPathSource::environment);
    // An empty --socket counts as not given.
    CHECK(choose_socket_path("").source == SocketPathSource::environment);
}

TEST_CASE("socket path: XDG_RUNTIME_DIR then the /tmp fallback") {
    ScopedEnv a("SPICECAP_SOCKET", "");  // empty counts as unset
    {
        ScopedEnv b("XDG_RUNTIME_DIR", "/run/user/1000");
        auto choice = choose_socket_path(std::nullopt);
        CHECK(choice.path == "/run/user/1000/spicecap/spicecapd.sock");
        CHECK(choice.source == SocketPathSource::xdg_runtime_dir);
    }
    const std::string fallback = "/tmp/spicecap-" + std::to_string(::getuid()) + "/spicecapd.sock";
    {
        ScopedEnv b("XDG_RUNTIME_DIR", std::nullopt);
        auto choice = choose_socket_path(std::nullopt);
        CHECK(choice.path == fallback);
        CHECK(choice.source == SocketPathSource::tmp_fallback);
    }
    {
        ScopedEnv b("XDG_RUNTIME_DIR", "relative/dir");  // the XDG spec says to ignore relative paths
        CHECK(choose_socket_path(std::nullopt).path == fallback);
    }
    {
        ScopedEnv b("XDG_RUNTIME_DIR", "");
        CHECK(choose_socket_path(std::nullopt).path == fallback);
    }
}

TEST_CASE("socket path: source names") {
    CHECK(socket_path_source_name(SocketPathSource::command_line) == "--socket");
    CHECK(socket_path_source_name(SocketPathSource::environment) == "$SPICECAP_SOCKET");
    CHECK(socket_path_source_name(SocketPathSource::xdg_runtime_dir) == "$XDG_RUNTIME_DIR");
    CHECK(socket_path_source_name(SocketPathSource::tmp_fallback) == "/tmp fallback");
}
