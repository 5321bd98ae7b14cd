// Which SPICE data header a channel uses after its link stage. Public (installed with the producer
// headers): producers declare it, and the SPICE protocol code negotiates and parses it.
#pragma once

#include <cstdint>

namespace spicecap {

/// The data header both sides use after the link stage: the 6-byte mini header when both link messages
/// announced SPICE_COMMON_CAP_MINI_HEADER, the 18-byte full header otherwise. Wireshark needs it to decode
/// a channel whose link stage it did not see.
enum class HeaderMode : std::uint8_t {
    /// 6-byte mini headers (type u16, size u32): what current SPICE clients and servers negotiate.
    mini = 0,
    /// 18-byte full headers (serial u64, type u16, size u32, sub_list u32).
    full = 1,
};

}  // namespace spicecap
