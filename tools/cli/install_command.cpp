// `spicecap install` / `spicecap uninstall`: register the extcap and the Lua dissector with the
// Wireshark that is installed, in the folders tshark names (personal by default, global with --system).
// Where each goes, by Wireshark version and user, is docs/wireshark-versions.md.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
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
    bool shadow_global = false;
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

bool exists_or_dangles(const fs::path& path) {
    std::error_code ec;
    return fs::exists(fs::symlink_status(path, ec));
}

std::string read_whole(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Whether `target` is what `spicecap install` makes of `source`: a link to it, or a copy of its bytes.
bool is_installed_from(const fs::path& target, const fs::path& source) {
    std::error_code ec;
    if (fs::is_symlink(target, ec)) return fs::equivalent(target, source, ec);
    return fs::is_regular_file(target, ec) && read_whole(target) == read_whole(source);
}

// Places `source` at `target` (symlink or copy). Returns false (after printing why) on failure. The new
// file is made beside the target and renamed over it, so that two installs at once both succeed and
// Wireshark never sees a half-written file.
bool place(const fs::path& source, const fs::path& target, bool copy) {
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
        std::fprintf(stderr, "spicecap: cannot create %s: %s%s\n", target.parent_path().c_str(), ec.message().c_str(),
                     ::geteuid() == 0 ? "" : " (a global folder needs root)");
        return false;
    }
    if (!copy && fs::is_symlink(target, ec) && fs::read_symlink(target, ec) == source) {
        std::printf("already installed: %s -> %s\n", target.c_str(), source.c_str());
        return true;
    }
    const fs::path temporary = target.string() + ".spicecap-" + std::to_string(::getpid());
    fs::remove(temporary, ec);
    if (copy) {
        fs::copy_file(source, temporary, fs::copy_options::overwrite_existing, ec);
    } else {
        fs::create_symlink(source, temporary, ec);
    }
    if (!ec) fs::rename(temporary, target, ec);
    if (ec) {
        std::error_code ignored;
        fs::remove(temporary, ignored);
        std::fprintf(stderr, "spicecap: cannot install %s: %s\n", target.c_str(), ec.message().c_str());
        return false;
    }
    std::printf("installed %s %s %s\n", target.c_str(), copy ? "(copy of)" : "->", source.c_str());
    return true;
}

bool remove_installed(const fs::path& target) {
    std::error_code ec;
    if (!exists_or_dangles(target)) {
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

bool running_as_root() { return ::geteuid() == 0 || ::getuid() == 0; }

// Where a personal install puts the Lua dissector so that the Wireshark of this user loads it: the personal
// Lua plugin folder, except for root on a Wireshark that loads personal Lua plugins for no root (4.2+).
fs::path personal_lua_folder(const WiresharkFolders& folders, bool announce) {
    if (!running_as_root() ||
        root_loads_personal_lua(folders.version, read_whole(folders.global_configuration / "init.lua"))) {
        return folders.personal_lua;
    }
    if (announce) {
        std::printf("as root, Wireshark %s loads Lua plugins only from its global folder: the USB vsock dissector "
                    "goes to %s\n", folders.version.text().c_str(), folders.global_lua.c_str());
    }
    return folders.global_lua;
}

// After placing the dissector at `target`: does tshark load it from there? Says so either way.
bool check_loaded(const fs::path& target) {
    const auto loaded = query_loaded_lua_scripts();
    if (loaded && loaded->count(target) > 0) {
        std::printf("checked: tshark -G plugins lists %s\n", target.c_str());
        return true;
    }
    std::fprintf(stderr, "spicecap install: Wireshark does not load %s (`tshark -G plugins` does not list it): USB vsock "
                         "capture would show undecoded frames; see docs/wireshark-versions.md\n", target.c_str());
    return false;
}

// The --help text of `spicecap install` or `spicecap uninstall`.
std::string usage_of(std::string_view command) {
    const bool install = command == "install";
    return "usage: spicecap " + std::string(command) + " [--system]" + (install ? " [--copy] [--shadow-global]" : "") +
           "\n\n" + (install ? "Registers" : "Removes") +
           " the spicecap extcap (\"SPICE capture\", \"USB vsock capture\") and the USB vsock Lua\n"
           "dissector " + (install ? "in" : "from") +
           " the folders the installed Wireshark uses, as `tshark -G folders` reports them: your\n"
           "personal folders, except that root's Wireshark 4.2 and later loads Lua plugins only from its\n"
           "global folder, so as root the dissector goes there.\n\n"
           "  --system         the global folders (needs root) instead of your personal ones\n" +
           (install ? "  --copy           copy the files instead of symlinking them\n"
                      "  --shadow-global  register this build personally even though spicecap is registered for\n"
                      "                   every user (e.g. by the spicecap package): Wireshark then runs this\n"
                      "                   build's extcap, and 4.2 and later warn about the second one at each start\n"
                    : "");
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
        } else if (arg == "--shadow-global" && command == "install") {
            options.shadow_global = true;
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
    std::printf("Wireshark %s\n", folders->version.text().c_str());

    // A registration for every user (the spicecap package, or `spicecap install --system`) already gives
    // everyone both interfaces; a personal one beside it only shadows it (and 4.2+ warn at every start).
    const fs::path global_extcap = folders->global_extcap / kExtcapName;
    const bool registered_globally = !options->system && exists_or_dangles(global_extcap);
    if (registered_globally && !options->shadow_global) {
        std::printf("spicecap is already registered for every user (%s, from the spicecap package or spicecap install "
                    "--system): nothing to add; to run this build's extcap instead, use spicecap install "
                    "--shadow-global\n", global_extcap.c_str());
        return 0;
    }

    const fs::path extcap_dir = options->system ? folders->global_extcap : folders->personal_extcap;
    bool ok = place(*extcap, extcap_dir / kExtcapName, options->copy);
    if (!folders->has_lua()) {
        std::printf("this Wireshark has no Lua support: the USB vsock dissector is skipped (USB vsock capture shows "
                    "undecoded frames)\n");
    } else if (registered_globally && exists_or_dangles(folders->global_lua / kLuaName)) {
        std::printf("the global %s loads before any personal copy: none added\n",
                    (folders->global_lua / kLuaName).c_str());
    } else if (const auto lua = find_lua()) {
        const fs::path lua_dir = options->system ? folders->global_lua : personal_lua_folder(*folders, true);
        ok = place(*lua, lua_dir / kLuaName, options->copy) && check_loaded(lua_dir / kLuaName) && ok;
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
    if (options->system) {
        bool ok = remove_installed(folders->global_extcap / kExtcapName);
        if (folders->has_lua()) ok = remove_installed(folders->global_lua / kLuaName) && ok;
        return ok ? 0 : 1;
    }
    bool ok = remove_installed(folders->personal_extcap / kExtcapName);
    if (folders->has_lua()) ok = remove_installed(folders->personal_lua / kLuaName) && ok;
    // Root's personal install on 4.2+ put the dissector into the global folder: removed when it is this
    // build's (never the package's, which comes with a global extcap, nor anyone else's).
    const fs::path lua_dir = folders->has_lua() ? personal_lua_folder(*folders, false) : fs::path();
    const fs::path global_lua = folders->global_lua / kLuaName;
    if (!lua_dir.empty() && lua_dir == folders->global_lua && exists_or_dangles(global_lua)) {
        const auto lua = find_lua();
        if (!exists_or_dangles(folders->global_extcap / kExtcapName) && lua && is_installed_from(global_lua, *lua)) {
            ok = remove_installed(global_lua) && ok;
        } else {
            std::printf("kept %s: not installed by this spicecap (spicecap uninstall --system removes it)\n",
                        global_lua.c_str());
        }
    }
    return ok ? 0 : 1;
}

}  // namespace spicecap::cli
