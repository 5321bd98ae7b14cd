// Capture filters: real BPF (libpcap's compiler) applied to the frames spicecap synthesizes, so the
// filter box in Wireshark's capture options means what it always means, e.g. `tcp port 10002`.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/expected.hpp"

namespace spicecap {

/// A compiled capture filter for one link type. An empty expression matches everything.
class BpfFilter {
public:
    /// Compiles `expression` for frames of `link_type`; the error is libpcap's own text.
    static Expected<BpfFilter, std::string> compile(std::string_view expression, int link_type,
                                                    int snap_length = 262144);

    BpfFilter(BpfFilter&&) noexcept;
    BpfFilter& operator=(BpfFilter&&) noexcept;
    ~BpfFilter();

    /// True when the frame passes the filter (always, for the empty filter).
    bool matches(std::span<const std::uint8_t> frame) const noexcept;
    /// True when the filter is empty (everything passes) — callers may skip calling matches().
    bool accepts_everything() const noexcept { return program_ == nullptr; }

private:
    struct Program;
    explicit BpfFilter(std::unique_ptr<Program> program);
    std::unique_ptr<Program> program_;
};

}  // namespace spicecap
