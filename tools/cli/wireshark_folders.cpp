// Asking tshark where Wireshark's folders are.
#include "cli/wireshark_folders.hpp"

#include <array>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

namespace spicecap::cli {
namespace {

std::optional<std::string> run_and_read(const std::string& command) {
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return std::nullopt;
    std::string out;
    std::array<char, 4096> buf;
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
    const int status = ::pclose(pipe);
    if (status != 0 && out.empty()) return std::nullopt;
    return out;
}

std::string trim(std::string s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return {};
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

// Reads a whole number at the front of `text` and moves past it; nothing when there is no digit.
std::optional<int> take_number(std::string_view& text) {
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{}) return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    return value;
}

}  // namespace

std::optional<WiresharkVersion> WiresharkVersion::parse(std::string_view version_text) {
    constexpr std::string_view marker = "(Wireshark) ";
    const auto at = version_text.find(marker);
    if (at == std::string_view::npos) return std::nullopt;
    std::string_view rest = version_text.substr(at + marker.size());
    WiresharkVersion v;
    const auto major = take_number(rest);
    if (!major || !rest.starts_with('.')) return std::nullopt;
    rest.remove_prefix(1);
    const auto minor = take_number(rest);
    if (!minor) return std::nullopt;
    v.major = *major;
    v.minor = *minor;
    if (rest.starts_with('.')) {
        rest.remove_prefix(1);
        v.micro = take_number(rest).value_or(0);
    }
    return v;
}

std::string WiresharkVersion::text() const {
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(micro);
}

std::map<std::string, std::string> parse_folders_text(const std::string& text) {
    std::map<std::string, std::string> folders;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        folders.try_emplace(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
    return folders;
}

Expected<WiresharkFolders, std::string> folders_from(const std::map<std::string, std::string>& folders,
                                                     const WiresharkVersion& version) {
    WiresharkFolders out;
    out.version = version;
    const auto get = [&](const char* key) -> std::string {
        const auto it = folders.find(key);
        return it == folders.end() ? std::string() : it->second;
    };
    if (const auto personal = get("Personal Extcap path"); !personal.empty()) {
        out.personal_extcap = personal;  // Wireshark 4.2 and later say it themselves
    } else if (const auto config = get("Personal configuration"); !config.empty()) {
        out.personal_extcap = std::filesystem::path(config) / "extcap";  // 4.0 and 4.1
    }
    if (const auto global = get("Global Extcap path"); !global.empty()) {
        out.global_extcap = global;  // 4.2 and later
    } else {
        out.global_extcap = get("Extcap path");  // 4.0 and 4.1
    }
    out.personal_lua = get("Personal Lua Plugins");
    out.global_lua = get("Global Lua Plugins");
    out.global_configuration = get("Global configuration");
    if (out.personal_extcap.empty() || out.global_extcap.empty()) {
        return Unexpected{std::string("`tshark -G folders` named no extcap folders (neither \"Personal Extcap path\" "
                                      "and \"Global Extcap path\" nor \"Extcap path\")")};
    }
    return out;
}

std::set<std::filesystem::path> lua_scripts_in_plugins_text(const std::string& text) {
    std::set<std::filesystem::path> scripts;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        // "usb_vsock.lua<TAB><TAB>lua script<TAB>/home/me/.local/lib/wireshark/plugins/usb_vsock.lua"
        // (4.6 says "Lua script").
        auto kind = line.find("\tlua script\t");
        if (kind == std::string::npos) kind = line.find("\tLua script\t");
        if (kind == std::string::npos) continue;
        if (auto path = trim(line.substr(kind + 12)); !path.empty()) scripts.insert(std::move(path));
    }
    return scripts;
}

bool root_loads_personal_lua(const WiresharkVersion& version, const std::string& init_lua) {
    if (version.at_least(4, 2)) return false;
    static const std::regex allowed(R"((^|\n)[ \t]*run_user_scripts_when_superuser[ \t]*=[ \t]*true\b)");
    return std::regex_search(init_lua, allowed);
}

Expected<WiresharkFolders, std::string> query_wireshark_folders() {
    const auto version_text = run_and_read("tshark --version 2>/dev/null");
    if (!version_text) {
        return Unexpected{std::string(
            "tshark was not found: install Wireshark's command-line tools (apt-get install tshark) and try again")};
    }
    const auto version = WiresharkVersion::parse(*version_text);
    if (!version) {
        return Unexpected{"`tshark --version` named no Wireshark version: " +
                          version_text->substr(0, version_text->find('\n'))};
    }
    const auto folders_text = run_and_read("tshark -G folders 2>/dev/null");
    if (!folders_text) return Unexpected{std::string("`tshark -G folders` failed")};
    return folders_from(parse_folders_text(*folders_text), *version);
}

std::optional<std::set<std::filesystem::path>> query_loaded_lua_scripts() {
    const auto text = run_and_read("tshark -G plugins 2>/dev/null");
    if (!text) return std::nullopt;
    return lua_scripts_in_plugins_text(*text);
}

}  // namespace spicecap::cli
