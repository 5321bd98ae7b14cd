// Where spicecapd listens (docs/protocol.md §1). Every spicecap program resolves the path the same way:
//   1. the --socket command-line option, when given;
//   2. else $SPICECAP_SOCKET, when set and not empty;
//   3. else $XDG_RUNTIME_DIR/spicecap/spicecapd.sock, when XDG_RUNTIME_DIR is an absolute path;
//   4. else /tmp/spicecap-$UID/spicecapd.sock.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

namespace spicecap {

/// Which rule chose the socket path.
enum class SocketPathSource {
    /// The --socket option.
    command_line,
    /// The SPICECAP_SOCKET environment variable.
    environment,
    /// $XDG_RUNTIME_DIR/spicecap/spicecapd.sock.
    xdg_runtime_dir,
    /// /tmp/spicecap-$UID/spicecapd.sock.
    tmp_fallback,
};

/// A resolved socket path and where it came from.
struct SocketPathChoice {
    /// The socket file.
    std::filesystem::path path;
    /// Which rule chose it. For xdg_runtime_dir and tmp_fallback the parent folder is spicecap's own,
    /// which the daemon creates (or tightens) to mode 0700; a folder named by the user is left alone.
    SocketPathSource source;
};

/// Applies the rules above; `command_line` is the --socket value, if any (an empty one counts as absent).
SocketPathChoice choose_socket_path(std::optional<std::string_view> command_line);

/// Just the path of choose_socket_path().
std::filesystem::path socket_path(std::optional<std::string_view> command_line);

/// "--socket", "$SPICECAP_SOCKET", "$XDG_RUNTIME_DIR", "/tmp fallback": for messages that say where a
/// path came from.
std::string_view socket_path_source_name(SocketPathSource source) noexcept;

}  // namespace spicecap
