// The listening socket (docs/protocol.md §1): a private folder (0700), the socket file (0600), one daemon
// per path (held by a lock file next to the socket; a live socket means another daemon, a dead one is
// stale and replaced), and the peer's credentials of each accepted connection.
#pragma once

#include <string>
#include <sys/types.h>

#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>

#include "instance_lock.hpp"
#include "base/expected.hpp"
#include "wire/socket_path.hpp"

namespace spicecap::daemon {

/// A bound, listening socket and what is needed to remove it again.
struct Listener {
    /// The acceptor (listening).
    asio::local::stream_protocol::acceptor acceptor;
    /// The socket file.
    std::string path;
    /// The socket file's device and inode right after bind: remove_socket_file only removes this file,
    /// never one that another daemon put in its place since.
    dev_t device = 0;
    ino_t inode = 0;
    /// "<path>.lock", held while this daemon owns the path.
    InstanceLock lock;
};

/// Prepares the folder, deals with an existing socket file, binds and listens. The error is one sentence.
Expected<Listener, std::string> open_listener(asio::io_context& io, const SocketPathChoice& where);

/// Removes the socket file if it is still the one open_listener created, then the lock file.
void remove_socket_file(Listener& listener);

/// The connecting process's credentials (SO_PEERCRED).
struct PeerCredentials {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
};
/// Reads SO_PEERCRED of a connected Unix socket; nullopt if the kernel does not say.
std::optional<PeerCredentials> peer_credentials(int fd);

}  // namespace spicecap::daemon
