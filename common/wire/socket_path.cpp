// The default socket path rule (docs/protocol.md §1).
#include "wire/socket_path.hpp"

#include <cstdlib>
#include <string>

#include <unistd.h>

namespace spicecap {

namespace {

// An environment variable's value, treating an empty one as unset.
std::optional<std::string_view> env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string_view{value};
}

}  // namespace

SocketPathChoice choose_socket_path(std::optional<std::string_view> command_line) {
    if (command_line && !command_line->empty()) return {std::filesystem::path{*command_line}, SocketPathSource::command_line};
    if (auto from_env = env("SPICECAP_SOCKET")) return {std::filesystem::path{*from_env}, SocketPathSource::environment};
    // The XDG base directory spec says to ignore a relative XDG_RUNTIME_DIR.
    if (auto runtime = env("XDG_RUNTIME_DIR"); runtime && runtime->front() == '/') {
        return {std::filesystem::path{*runtime} / "spicecap" / "spicecapd.sock", SocketPathSource::xdg_runtime_dir};
    }
    return {std::filesystem::path{"/tmp/spicecap-" + std::to_string(::getuid())} / "spicecapd.sock",
            SocketPathSource::tmp_fallback};
}

std::filesystem::path socket_path(std::optional<std::string_view> command_line) {
    return choose_socket_path(command_line).path;
}

std::string_view socket_path_source_name(SocketPathSource source) noexcept {
    switch (source) {
        case SocketPathSource::command_line: return "--socket";
        case SocketPathSource::environment: return "$SPICECAP_SOCKET";
        case SocketPathSource::xdg_runtime_dir: return "$XDG_RUNTIME_DIR";
        case SocketPathSource::tmp_fallback: return "/tmp fallback";
    }
    return "unknown";
}

}  // namespace spicecap
