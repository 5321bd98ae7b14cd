// Byte counts for people: "812 B", "4.5 KiB", "12.3 MiB", in progress lines and summaries.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace spicecap {

inline std::string byte_size_text(std::uint64_t bytes) {
    static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) return std::to_string(bytes) + " B";
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(units)) {
        value /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
    return text;
}

}  // namespace spicecap
