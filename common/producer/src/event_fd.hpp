// A Linux eventfd used as a level-triggered signal between threads: notify() from any thread makes the fd
// readable until clear(), so a thread sleeping in poll() on it (together with a socket) wakes up.
#pragma once

namespace spicecap::producer_detail {

class EventFd {
public:
    /// Throws std::system_error if the kernel refuses an eventfd.
    EventFd();
    ~EventFd();
    EventFd(const EventFd&) = delete;
    EventFd& operator=(const EventFd&) = delete;

    /// Makes the fd readable (async-signal-safe, never blocks).
    void notify() const noexcept;
    /// Makes it unreadable again.
    void clear() const noexcept;
    /// The fd, for poll().
    int fd() const noexcept { return fd_; }

private:
    int fd_;
};

}  // namespace spicecap::producer_detail
