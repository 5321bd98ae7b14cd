// Waiting in tests for something another thread or process does: poll a condition until it holds or a
// deadline passes. Only a failure waits the whole timeout.
#pragma once

#include <chrono>
#include <thread>

namespace spicecap::test {

/// Polls `done` every 2 ms; true as soon as it holds, false once `timeout` has passed without it.
template <class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

}  // namespace spicecap::test
