// Reading the fields of the protocol's JSON bodies (HELLO, EVENT) with one wording for what is wrong:
// a missing field, a mistyped one, a number out of range, a string too long.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/expected.hpp"

namespace spicecap::json_fields {

/// The unsigned integer field `key` of `object` within [0, max]; nothing if absent, an error if mistyped.
Expected<std::optional<std::uint64_t>, std::string> optional_uint(const nlohmann::json& object, const char* key,
                                                                  std::uint64_t max);
/// Like optional_uint, but absence is an error too.
Expected<std::uint64_t, std::string> required_uint(const nlohmann::json& object, const char* key, std::uint64_t max);
/// The string field `key` of at most `max_bytes` bytes; nothing if absent, an error if mistyped or too long.
Expected<std::optional<std::string>, std::string> optional_string(const nlohmann::json& object, const char* key,
                                                                  std::size_t max_bytes);

}  // namespace spicecap::json_fields
