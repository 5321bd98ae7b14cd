// What the tap knows about each file descriptor of the process, read on every interposed call: the one
// table lookup a non-SPICE descriptor costs. Lock-free and allocation-free, so it is safe at any time:
// before the library's constructors ran, in a signal handler, in a child between fork and exec.
#pragma once

#include <atomic>
#include <cstdint>

namespace spicecap::tap {

class FdStates {
public:
    /// Descriptors at or above this are never followed (the table stays 64 KiB).
    static constexpr int kSize = 65536;

    enum State : std::uint8_t {
        /// Nothing seen since the descriptor was made (or the tap was loaded): its first bytes decide.
        unknown = 0,
        /// Not SPICE (or no longer followed): every call passes straight through.
        ignored = 1,
        /// A connection object exists (TappedConnections): its first bytes matched "REDQ" so far.
        tracked = 2,
    };

    constexpr FdStates() = default;

    /// The state of `fd`; descriptors outside the table are `ignored`.
    State get(int fd) const noexcept {
        if (fd < 0 || fd >= kSize) return ignored;
        return static_cast<State>(states_[fd].load(std::memory_order_acquire));
    }
    void set(int fd, State state) noexcept {
        if (fd >= 0 && fd < kSize) states_[fd].store(state, std::memory_order_release);
    }
    /// Sets `fd` to `desired` if it is still `expected` (another thread may have decided meanwhile).
    bool change(int fd, State expected, State desired) noexcept {
        if (fd < 0 || fd >= kSize) return false;
        std::uint8_t e = expected;
        return states_[fd].compare_exchange_strong(e, desired, std::memory_order_acq_rel);
    }

private:
    std::atomic<std::uint8_t> states_[kSize]{};
};

}  // namespace spicecap::tap
