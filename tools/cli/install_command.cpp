// `spicecap install` / `spicecap uninstall`: register the extcap and the Lua dissector with the
// Wireshark that is installed, in the folders tshark names (personal by default, global with --system).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

#include "cli/argument_reader.hpp"
#include "cli/commands.hpp"
#include "cli/wireshark_folders.hpp"

namespace fs = std::filesystem;

namespace spicecap::cli {
namespace {

constexpr const char* kExtcapName = "spicecap-extcap";
constexpr const char* kLuaName = "usb_vsock.lua";

struct InstallOptions {
    bool system = false;
    bool copy = false;
};

fs::path self_directory() {
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path(".") : exe.parent_path();
}

// The extcap built or installed beside this program: build tree (build/tools -> build/extcap), or an
// installed layout (bin -> lib/.../wireshark/extcap), under any prefix, else the configured prefix.
std::optional<fs::path> find_extcap() {
    if (const char* env = std::getenv("SPICECAP_EXTCAP"); env && *env) return fs::path(env);
    const fs::path self = self_directory();
    for (const fs::path& candidate : {self / kExtcapName, self / ".." / "extcap" / kExtcapName,
                                      self / SPICECAP_BIN_TO_EXTCAP_DIR / kExtcapName,
                                      fs::path(SPICECAP_INSTALLED_EXTCAP_DIR) / kExtcapName}) {
        std::error_code ec;
        if (fs::is_regular_file(candidate, ec)) return fs::canonical(candidate, ec);
    }
    return std::nullopt;
}

std::optional<fs::path> find_lua() {
    const fs::path self = self_directory();
    for (const fs::path& candidate : {self / SPICECAP_BIN_TO_DATA_DIR / kLuaName,
                                      fs::path(SPICECAP_INSTALLED_DATA_DIR) / kLuaName,
                                      fs::path(SPICECAP_SOURCE_DIR) / "packaging" / "wireshark" / kLuaName}) {
        std::error_code ec;
        if (fs::is_regular_file(candidate, ec)) return fs::canonical(candidate, ec);
    }
    return std::nullopt;
}

// Places `source` at `target` (symlink or copy). Returns false (after printing why) on failure.
bool place(const fs::path& source, const fs::path& target, bool copy) {
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
        std::fprintf(stderr, "spicecap: cannot create %s: %s\n", target.parent_path().c_str(), ec.message().c_str());
        return false;
    }
    if (!copy && fs::is_symlink(target, ec) && fs::read_symlink(target, ec) == source) {
        std::printf("already installed: %s -> %s\n", target.c_str(), source.c_str());
        return true;
    }
    if (fs::exists(fs::symlink_status(target, ec))) fs::remove(target, ec);
    if (copy) {
        fs::copy_file(source, target, fs::copy_options::overwrite_existing, ec);
    } else {
        fs::create_symlink(source, target, ec);
    }
    if (ec) {
        std::fprintf(stderr, "spicecap: cannot install %s: %s\n", target.c_str(), ec.message().c_str());
        return false;
    }
    std::printf("installed %s %s %s\n", target.c_str(), copy ? "(copy of)" : "->", source.c_str());
    return true;
}

bool remove_installed(const fs::path& target) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(target, ec))) {
        std::printf("not installed: %s\n", target.c_str());
        return true;
    }
    fs::remove(target, ec);
    if (ec) {
        std::fprintf(stderr, "spicecap: cannot remove %s: %s\n", target.c_str(), ec.message().c_str());
        return false;
    }
    std::printf("removed %s\n", target.c_str());
    return true;
}

// The --help text of `spicecap install` or `spicecap uninstall`.
std::string usage_of(std::string_view command) {
    const bool install = command == "install";
    return "usage: spicecap " + std::string(command) + " [--system]" + (install ? " [--copy]" : "") + "\n\n" +
           (install ? "Registers" : "Removes") +
           " the spicecap extcap (\"SPICE capture\", \"USB vsock capture\") and the USB vsock Lua\n"
           "dissector " + (install ? "in" : "from") +
           " the folders the installed Wireshark uses, as `tshark -G folders` reports them.\n\n"
           "  --system   the global folders (needs root) instead of your personal ones\n" +
           (install ? "  --copy     copy the files instead of symlinking them\n" : "");
}

// Parses the arguments; returns the exit code to leave with instead of options when done or wrong.
std::variant<InstallOptions, int> parse(int argc, char** argv) {
    const std::string_view command = argv[0];
    const std::string usage = usage_of(command);
    InstallOptions options;
    ArgumentReader args(argc, argv);
    while (args.next()) {
        if (const auto done = args.help_or_version(usage)) return *done;
        const std::string_view arg = args.arg();
        if (arg == "--system") {
            options.system = true;
        } else if (arg == "--copy" && command == "install") {
            options.copy = true;
        } else {
            return args.fail("unknown option '" + std::string(arg) + "'");
        }
    }
    return options;
}

}  // namespace

int install_command(int argc, char** argv) {
    const auto parsed = parse(argc, argv);
    if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
    const auto* options = &std::get<InstallOptions>(parsed);
    const auto folders = query_wireshark_folders();
    if (!folders) {
        std::fprintf(stderr, "spicecap install: %s\n", folders.error().c_str());
        return 1;
    }
    const auto extcap = find_extcap();
    if (!extcap) {
        std::fprintf(stderr, "spicecap install: spicecap-extcap was not found next to this program; build it "
                             "(cmake --build build) or set SPICECAP_EXTCAP to its path\n");
        return 1;
    }
    std::printf("Wireshark %s\n", folders->version.c_str());
    const fs::path extcap_dir = options->system ? folders->global_extcap : folders->personal_extcap;
    bool ok = place(*extcap, extcap_dir / kExtcapName, options->copy);
    if (const auto lua = find_lua()) {
        const fs::path lua_dir = options->system ? folders->global_lua : folders->personal_lua;
        ok = place(*lua, lua_dir / kLuaName, options->copy) && ok;
    } else {
        std::printf("the USB vsock Lua dissector (%s) was not found; skipped\n", kLuaName);
    }
    if (ok) std::printf("done: `tshark -D` (or Wireshark's interface list) now shows SPICE capture and USB vsock capture\n");
    return ok ? 0 : 1;
}

int uninstall_command(int argc, char** argv) {
    const auto parsed = parse(argc, argv);
    if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
    const auto* options = &std::get<InstallOptions>(parsed);
    const auto folders = query_wireshark_folders();
    if (!folders) {
        std::fprintf(stderr, "spicecap uninstall: %s\n", folders.error().c_str());
        return 1;
    }
    const fs::path extcap_dir = options->system ? folders->global_extcap : folders->personal_extcap;
    const fs::path lua_dir = options->system ? folders->global_lua : folders->personal_lua;
    const bool ok = remove_installed(extcap_dir / kExtcapName) & remove_installed(lua_dir / kLuaName);
    return ok ? 0 : 1;
}

}  // namespace spicecap::cli
