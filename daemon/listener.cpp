// Socket folder, stale socket handling, bind and peer credentials (see listener.hpp).
#include "listener.hpp"

#include <cerrno>
#include <chrono>
#include <thread>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.hpp"

namespace spicecap::daemon {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Creates `dir` and missing parents with mode 0700.
Expected<Ok, std::string> make_private_dirs(const std::filesystem::path& dir) {
    if (dir.empty()) return Ok{};
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return Unexpected{dir.string() + " exists and is not a folder"};
        return Ok{};
    }
    if (errno != ENOENT) return Unexpected{"cannot use " + dir.string() + ": " + errno_text(errno)};
    if (auto parent = make_private_dirs(dir.parent_path()); !parent) return parent;
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return Unexpected{"cannot create " + dir.string() + ": " + errno_text(errno)};
    }
    return Ok{};
}

// spicecap's own folder (the default paths): ours, a real folder (not a symlink), mode 0700.
Expected<Ok, std::string> prepare_own_dir(const std::filesystem::path& dir) {
    if (auto made = make_private_dirs(dir); !made) return made;
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) return Unexpected{"cannot use " + dir.string() + ": " + errno_text(errno)};
    if (!S_ISDIR(st.st_mode)) return Unexpected{dir.string() + " is not a folder (a symlink?); refusing to use it"};
    if (st.st_uid != ::geteuid()) {
        return Unexpected{dir.string() + " belongs to uid " + std::to_string(st.st_uid) + ", not to us (uid " +
                          std::to_string(::geteuid()) + "); refusing to use it"};
    }
    if ((st.st_mode & 07777) != 0700 && ::chmod(dir.c_str(), 0700) != 0) {
        return Unexpected{"cannot set " + dir.string() + " to mode 0700: " + errno_text(errno)};
    }
    return Ok{};
}

// Connects to an existing socket file to see whether a daemon is behind it.
// Returns: 1 = a daemon answered (its pid in *pid), 0 = stale, -1 = cannot tell (*error set).
int probe_existing_socket(const std::string& path, pid_t* pid, std::string* error) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *error = "socket(): " + errno_text(errno);
        return -1;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int result;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        if (auto cred = peer_credentials(fd)) *pid = cred->pid;
        result = 1;
    } else if (errno == ECONNREFUSED || errno == ENOENT) {
        result = 0;
    } else {
        *error = "cannot connect to the existing " + path + ": " + errno_text(errno);
        result = -1;
    }
    ::close(fd);
    return result;
}

}  // namespace

std::optional<PeerCredentials> peer_credentials(int fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) return std::nullopt;
    return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

namespace {

std::string already_listening(const std::string& path, pid_t pid) {
    return "another spicecapd" + (pid > 0 ? " (pid " + std::to_string(pid) + ")" : std::string()) +
           " is already listening on " + path;
}

}  // namespace

static Expected<InstanceLock, std::string> acquire_path_lock(const std::string& path) {
    // The holder may be a daemon that is starting (it will listen in a moment) or stopping (it removed
    // its socket and is about to let go): wait up to 2 s while no daemon answers on the socket.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (;;) {
        auto lock = InstanceLock::acquire(path + ".lock");
        if (lock) return std::move(*lock);
        if (lock.error().failure == InstanceLock::Failure::error) return Unexpected{lock.error().message};
        pid_t pid = 0;
        std::string ignored;
        if (probe_existing_socket(path, &pid, &ignored) == 1) return Unexpected{already_listening(path, pid)};
        if (std::chrono::steady_clock::now() >= deadline) {
            return Unexpected{"another spicecapd is starting or stopping on " + path + " (it holds " + path +
                              ".lock and does not answer on the socket)"};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

// Probes and replaces a stale socket, binds and listens; the caller holds the path's lock.
static Expected<Listener, std::string> bind_under_lock(asio::io_context& io, const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) return Unexpected{path + " exists and is not a socket; not touching it"};
        pid_t pid = 0;
        std::string error;
        switch (probe_existing_socket(path, &pid, &error)) {
            case 1:
                return Unexpected{already_listening(path, pid)};
            case 0:
                if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
                    return Unexpected{"cannot remove the stale socket " + path + ": " + errno_text(errno)};
                }
                log(LogLevel::message, "replaced the stale socket ", path, " (no daemon answered on it)");
                break;
            default: return Unexpected{error};
        }
    } else if (errno != ENOENT) {
        return Unexpected{"cannot use " + path + ": " + errno_text(errno)};
    }

    asio::local::stream_protocol::acceptor acceptor(io);
    std::error_code ec;
    acceptor.open(asio::local::stream_protocol{}, ec);
    if (ec) return Unexpected{"cannot create a socket: " + ec.message()};
    // The socket file gets mode 0600 from the moment it exists: bind under a umask that removes the rest.
    const mode_t old_umask = ::umask(0177);
    acceptor.bind(asio::local::stream_protocol::endpoint(path), ec);
    ::umask(old_umask);
    if (ec) return Unexpected{"cannot bind " + path + ": " + ec.message()};
    if (::chmod(path.c_str(), 0600) != 0) return Unexpected{"cannot set " + path + " to mode 0600: " + errno_text(errno)};
    acceptor.listen(128, ec);
    if (ec) return Unexpected{"cannot listen on " + path + ": " + ec.message()};
    if (::lstat(path.c_str(), &st) != 0) return Unexpected{"the socket " + path + " vanished after bind"};
    return Listener{std::move(acceptor), path, st.st_dev, st.st_ino, {}};
}

Expected<Listener, std::string> open_listener(asio::io_context& io, const SocketPathChoice& where) {
    const std::string path = where.path.string();
    if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
        return Unexpected{"socket path " + path + " is too long (" + std::to_string(path.size()) +
                          " bytes; Unix sockets allow " + std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + ")"};
    }
    const auto dir = where.path.parent_path();
    const bool own_dir = where.source == SocketPathSource::xdg_runtime_dir || where.source == SocketPathSource::tmp_fallback;
    if (auto ready = own_dir ? prepare_own_dir(dir) : make_private_dirs(dir); !ready) return Unexpected{ready.error()};

    // Whoever holds the lock owns the path: probing, replacing a stale socket and binding happen under it.
    auto lock = acquire_path_lock(path);
    if (!lock) return Unexpected{lock.error()};
    auto listener = bind_under_lock(io, path);
    if (!listener) {
        lock->remove();  // still held: nobody else's file
        return Unexpected{listener.error()};
    }
    listener->lock = std::move(*lock);
    return listener;
}

void remove_socket_file(Listener& listener) {
    struct stat st {};
    if (::lstat(listener.path.c_str(), &st) == 0 && st.st_dev == listener.device && st.st_ino == listener.inode) {
        ::unlink(listener.path.c_str());
    }
    listener.lock.remove();
}

}  // namespace spicecap::daemon
