// Where the installed Wireshark looks for extcaps and Lua plugins, as tshark itself reports it
// (`tshark -G folders`), so `spicecap install` never guesses.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "base/expected.hpp"

namespace spicecap::cli {

struct WiresharkFolders {
    /// "4.0.17", from `tshark --version`.
    std::string version;
    /// The personal extcap folder: "Personal Extcap path" (4.2+), else "Personal configuration"/extcap.
    std::filesystem::path personal_extcap;
    /// "Extcap path": the global folder.
    std::filesystem::path global_extcap;
    /// "Personal Lua Plugins" and "Global Lua Plugins".
    std::filesystem::path personal_lua;
    std::filesystem::path global_lua;
};

/// Parses the text of `tshark -G folders` (key, colon, tabs, value per line).
std::map<std::string, std::string> parse_folders_text(const std::string& text);

/// Builds WiresharkFolders from the folders text and the version ("4.0.17").
Expected<WiresharkFolders, std::string> folders_from(const std::map<std::string, std::string>& folders,
                                                     const std::string& version);

/// Runs tshark (from PATH) and answers; an error sentence if tshark is missing or says nothing useful.
Expected<WiresharkFolders, std::string> query_wireshark_folders();

}  // namespace spicecap::cli
