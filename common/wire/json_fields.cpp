// JSON body fields (see json_fields.hpp).
#include "wire/json_fields.hpp"

namespace spicecap::json_fields {

using nlohmann::json;

Expected<std::optional<std::uint64_t>, std::string> optional_uint(const json& object, const char* key,
                                                                  std::uint64_t max) {
    auto it = object.find(key);
    if (it == object.end()) return std::optional<std::uint64_t>{};
    if (!it->is_number_integer() || (!it->is_number_unsigned() && it->get<std::int64_t>() < 0)) {
        return Unexpected{std::string("\"") + key + "\" must be an integer >= 0"};
    }
    const auto value = it->get<std::uint64_t>();
    if (value > max) return Unexpected{std::string("\"") + key + "\" must be at most " + std::to_string(max)};
    return std::optional<std::uint64_t>{value};
}

Expected<std::uint64_t, std::string> required_uint(const json& object, const char* key, std::uint64_t max) {
    auto value = optional_uint(object, key, max);
    if (!value) return Unexpected{value.error()};
    if (!value.value()) return Unexpected{std::string("missing \"") + key + "\""};
    return **value;
}

Expected<std::optional<std::string>, std::string> optional_string(const json& object, const char* key,
                                                                  std::size_t max_bytes) {
    auto it = object.find(key);
    if (it == object.end()) return std::optional<std::string>{};
    if (!it->is_string()) return Unexpected{std::string("\"") + key + "\" must be a string"};
    auto text = it->get<std::string>();
    if (text.size() > max_bytes) {
        return Unexpected{std::string("\"") + key + "\" is longer than " + std::to_string(max_bytes) + " bytes"};
    }
    return std::optional<std::string>{std::move(text)};
}

}  // namespace spicecap::json_fields
