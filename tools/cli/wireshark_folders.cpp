// Asking tshark where Wireshark's folders are.
#include "cli/wireshark_folders.hpp"

#include <array>
#include <cstdio>
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

}  // namespace

std::map<std::string, std::string> parse_folders_text(const std::string& text) {
    std::map<std::string, std::string> folders;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        // Several "MaxMind database path" lines may appear; the first of each key wins.
        folders.try_emplace(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
    return folders;
}

Expected<WiresharkFolders, std::string> folders_from(const std::map<std::string, std::string>& folders,
                                                     const std::string& version) {
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
    out.global_extcap = get("Extcap path");
    out.personal_lua = get("Personal Lua Plugins");
    out.global_lua = get("Global Lua Plugins");
    if (out.personal_extcap.empty() || out.global_extcap.empty()) {
        return Unexpected{std::string("tshark -G folders did not name the extcap folders")};
    }
    return out;
}

Expected<WiresharkFolders, std::string> query_wireshark_folders() {
    const auto version_text = run_and_read("tshark --version 2>/dev/null");
    if (!version_text) {
        return Unexpected{std::string(
            "tshark was not found: install Wireshark's command-line tools (apt-get install tshark) and try again")};
    }
    // "TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as 4.0.17-0+deb12u3)."
    std::string version;
    if (const auto at = version_text->find("(Wireshark) "); at != std::string::npos) {
        std::istringstream(version_text->substr(at + 12)) >> version;
    }
    const auto folders_text = run_and_read("tshark -G folders 2>/dev/null");
    if (!folders_text) return Unexpected{std::string("`tshark -G folders` failed")};
    return folders_from(parse_folders_text(*folders_text), version);
}

}  // namespace spicecap::cli
