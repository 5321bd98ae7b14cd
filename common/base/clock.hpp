// The wall clock spicecap stamps records with: nanoseconds since the Unix epoch (UTC), as RecordHeader
// timestamps and pcap nanosecond timestamps count them.
#pragma once

#include <chrono>
#include <cstdint>

namespace spicecap {

/// Now, in nanoseconds since the Unix epoch (CLOCK_REALTIME).
inline std::uint64_t wall_clock_ns() noexcept {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

}  // namespace spicecap
