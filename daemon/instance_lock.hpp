// One daemon per socket path, even when two start in the same instant: an exclusive flock(2) on
// "<socket>.lock", taken before the existing socket is probed and held for the daemon's lifetime. Without
// it, two daemons could both find a stale socket, both unlink it and both bind, and one of them would be
// listening on a file nobody can reach.
#pragma once

#include <string>

#include "base/expected.hpp"

namespace spicecap::daemon {

/// A held lock file. Movable, not copyable; the destructor releases the lock (the file stays unless
/// remove() was called, so that a daemon killed with -9 never leaves a lock behind: the kernel drops it).
class InstanceLock {
public:
    /// Why acquire() failed.
    enum class Failure {
        /// Another process holds the lock: a daemon is running or starting on this path.
        held_by_another,
        /// The lock file cannot be created or locked (the message says why).
        error,
    };
    struct Error {
        Failure failure;
        std::string message;
    };

    /// Holds nothing (a Listener before its lock is handed over).
    InstanceLock() noexcept = default;
    /// Takes the lock on `lock_path` without waiting.
    static Expected<InstanceLock, Error> acquire(const std::string& lock_path);

    InstanceLock(InstanceLock&& other) noexcept;
    InstanceLock& operator=(InstanceLock&& other) noexcept;
    InstanceLock(const InstanceLock&) = delete;
    InstanceLock& operator=(const InstanceLock&) = delete;
    ~InstanceLock();

    /// Removes the lock file while the lock is still held (on a clean shutdown), so nothing is left behind;
    /// only once, and only if the path still names the file this lock holds.
    /// A daemon that opened the old file meanwhile notices, after locking it, that it is no longer the
    /// file at the path, and tries again.
    void remove() noexcept;

    const std::string& path() const noexcept { return path_; }

private:
    InstanceLock(int fd, std::string path) noexcept : fd_(fd), path_(std::move(path)) {}
    int fd_ = -1;
    bool removed_ = false;
    std::string path_;
};

}  // namespace spicecap::daemon
