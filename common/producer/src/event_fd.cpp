#include "event_fd.hpp"

#include <cerrno>
#include <cstdint>
#include <system_error>

#include <sys/eventfd.h>
#include <unistd.h>

namespace spicecap::producer_detail {

EventFd::EventFd() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

EventFd::~EventFd() { ::close(fd_); }

void EventFd::notify() const noexcept {
    const std::uint64_t one = 1;
    // Only fails with EAGAIN when the counter is about to overflow, and then the fd is readable anyway.
    [[maybe_unused]] auto written = ::write(fd_, &one, sizeof one);
}

void EventFd::clear() const noexcept {
    std::uint64_t value;
    [[maybe_unused]] auto read = ::read(fd_, &value, sizeof value);
}

}  // namespace spicecap::producer_detail
