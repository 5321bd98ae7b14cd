// The load the producer stress tests put on spicecap::Producer, shared by producer_stress_test.cpp (a
// protocol listener as the daemon) and producer_daemon_test.cpp (the real spicecapd).
#pragma once

#include <cstdint>

namespace spicecap::test {

/// Calling threads: one per SPICE channel, as a real client has.
inline constexpr int kLoadThreads = 8;
/// Calls per thread. Sanitizers make every call ~10x slower; the interleavings that matter still happen
/// with fewer calls.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr int kLoadCallsPerThread = 200'000;
#else
inline constexpr int kLoadCallsPerThread = 1'000'000;
#endif
/// The slowest single call allowed (ns) with 8 threads on a shared 2-core machine: below the 5 s HELLO
/// timeout, the shortest wait on the daemon a call could inherit if it ever waited for the sender. Under
/// sanitizers on a loaded machine whole seconds of starvation were seen, so only the 99th percentile is
/// checked there.
inline constexpr std::uint32_t kLoadMaxCallNs = 3'000'000'000u;
/// The 99th percentile allowed (ns): microseconds, where waiting on the daemon would take milliseconds.
inline constexpr std::uint32_t kLoadP99CallNs = 100'000;

}  // namespace spicecap::test
