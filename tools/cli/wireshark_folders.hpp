// Where the installed Wireshark looks for extcaps and Lua plugins, as tshark itself reports it
// (`tshark --version`, `tshark -G folders`, `tshark -G plugins`), so `spicecap install` never guesses.
//
// What differs by version (docs/wireshark-versions.md has the whole table):
//   4.0, 4.1  "Extcap path" is the global folder; the personal one is "Personal configuration"/extcap.
//   4.2+      "Personal Extcap path" (~/.local/lib/wireshark/extcap) and "Global Extcap path".
//   4.4+      for a user, WIRESHARK_EXTCAP_DIR replaces the global folder (and -G folders says so).
//   4.6       the global folder moved to /usr/libexec/wireshark/extcap (Debian sid, Fedora, Arch).
//   Lua       "Personal Lua Plugins" / "Global Lua Plugins" in every version; both lines are missing
//             when Wireshark was built without Lua.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "base/expected.hpp"

namespace spicecap::cli {

/// A Wireshark release number, as `tshark --version` prints it.
struct WiresharkVersion {
    int major = 0;
    int minor = 0;
    int micro = 0;

    /// From the first line of `tshark --version`: "TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as ...)."
    /// or "TShark (Wireshark) 4.4.19.". Nothing when the text names no version.
    static std::optional<WiresharkVersion> parse(std::string_view version_text);
    /// "4.4.19".
    std::string text() const;
    bool at_least(int want_major, int want_minor) const {
        return major != want_major ? major > want_major : minor >= want_minor;
    }
};

struct WiresharkFolders {
    WiresharkVersion version;
    /// The personal extcap folder: "Personal Extcap path" (4.2+), else "Personal configuration"/extcap.
    std::filesystem::path personal_extcap;
    /// The global extcap folder: "Global Extcap path" (4.2+), else "Extcap path".
    std::filesystem::path global_extcap;
    /// "Personal Lua Plugins" and "Global Lua Plugins"; both empty when Wireshark has no Lua.
    std::filesystem::path personal_lua;
    std::filesystem::path global_lua;
    /// "Global configuration" (/usr/share/wireshark), where 4.0 and 4.1 read their init.lua.
    std::filesystem::path global_configuration;

    bool has_lua() const { return !personal_lua.empty() && !global_lua.empty(); }
};

/// Parses the text of `tshark -G folders` (key, colon, tabs, value per line). Several lines with one key
/// (e.g. "MaxMind database path"): the first wins.
std::map<std::string, std::string> parse_folders_text(const std::string& text);

/// Builds WiresharkFolders from the parsed folders text and the version; an error sentence when the text
/// names no extcap folders (not the output of `tshark -G folders`).
Expected<WiresharkFolders, std::string> folders_from(const std::map<std::string, std::string>& folders,
                                                     const WiresharkVersion& version);

/// The Lua scripts named in the text of `tshark -G plugins` ("name<TAB><TAB>lua script<TAB>path" lines):
/// the paths Wireshark loaded them from, as it shows them (symlinks not resolved).
std::set<std::filesystem::path> lua_scripts_in_plugins_text(const std::string& text);

/// Whether a Wireshark run by root loads Lua plugins from the personal folder. Wireshark loads personal
/// scripts (and -X lua_script:) as root only when the global init.lua says
/// `run_user_scripts_when_superuser = true`: 4.0 and 4.1 read it from the global configuration folder, and
/// Debian's says so; 4.2 and later ship none and load personal Lua plugins as root never (a hand-written
/// init.lua allowing it only makes 4.4 fail to load them: "module not found"). `init_lua` is the text of
/// the global init.lua, empty when there is none.
bool root_loads_personal_lua(const WiresharkVersion& version, const std::string& init_lua);

/// Runs tshark (from PATH) and answers; an error sentence if tshark is missing or says nothing useful.
Expected<WiresharkFolders, std::string> query_wireshark_folders();

/// The Lua scripts the installed tshark loads now (`tshark -G plugins`); nothing when it cannot be run.
std::optional<std::set<std::filesystem::path>> query_loaded_lua_scripts();

}  // namespace spicecap::cli
