// The per-socket lock file (see instance_lock.hpp).
#include "instance_lock.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace spicecap::daemon {

Expected<InstanceLock, InstanceLock::Error> InstanceLock::acquire(const std::string& lock_path) {
    // A few rounds at most: each retry means another daemon removed the file between our open and lock.
    for (int attempt = 0; attempt < 16; ++attempt) {
        const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            return Unexpected{Error{Failure::error, "cannot open the lock file " + lock_path + ": " + std::strerror(errno)}};
        }
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            const int err = errno;
            ::close(fd);
            if (err == EWOULDBLOCK) return Unexpected{Error{Failure::held_by_another, lock_path + " is locked"}};
            return Unexpected{Error{Failure::error, "cannot lock " + lock_path + ": " + std::strerror(err)}};
        }
        // Locked; but is it still the file at the path? A daemon shutting down removes it under the lock.
        struct stat held {}, named {};
        if (::fstat(fd, &held) == 0 && ::stat(lock_path.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
            held.st_ino == named.st_ino) {
            return InstanceLock(fd, lock_path);
        }
        ::close(fd);
    }
    return Unexpected{Error{Failure::error, "the lock file " + lock_path + " keeps being replaced; is another daemon "
                                            "starting and stopping in a loop?"}};
}

InstanceLock::InstanceLock(InstanceLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), removed_(other.removed_), path_(std::move(other.path_)) {}

InstanceLock& InstanceLock::operator=(InstanceLock&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
        removed_ = other.removed_;
        path_ = std::move(other.path_);
    }
    return *this;
}

InstanceLock::~InstanceLock() {
    if (fd_ >= 0) ::close(fd_);
}

void InstanceLock::remove() noexcept {
    if (fd_ < 0 || removed_) return;
    removed_ = true;
    // Only while the path still names our file: never another daemon's, whatever happened since.
    struct stat held {}, named {};
    if (::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino) {
        ::unlink(path_.c_str());
    }
}

}  // namespace spicecap::daemon
