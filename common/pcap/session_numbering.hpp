// Sessions in a capture numbered 0, 1, 2... in the order they first appear. The number, not the daemon's
// session id, decides a session's synthesized addresses (SPICE) or link numbers (USB vsock), so the first
// session of every capture looks the same (10.0.0.1 ↔ 10.0.0.2; links 0..255).
#pragma once

#include <cstdint>
#include <unordered_map>

namespace spicecap {

class SessionNumbering {
public:
    /// The number of `session`, given it on first use.
    std::uint32_t number(std::uint32_t session) {
        const auto [it, inserted] = numbers_.try_emplace(session, static_cast<std::uint32_t>(numbers_.size()));
        return it->second;
    }

private:
    std::unordered_map<std::uint32_t, std::uint32_t> numbers_;
};

}  // namespace spicecap
