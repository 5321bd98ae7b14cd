// Where the frame encoders (SPICE over synthesized TCP, USB vsock pseudo-header records) put each
// link-layer frame they make.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

namespace spicecap {

/// Receives each link-layer frame with its timestamp (ns since the Unix epoch). The span is only valid
/// during the call.
using FrameSink = std::function<void(std::uint64_t timestamp_ns, std::span<const std::uint8_t> frame)>;

}  // namespace spicecap
