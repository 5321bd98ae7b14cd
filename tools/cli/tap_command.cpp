// `spicecap tap [options] -- COMMAND [ARGS...]`: runs COMMAND (by exec: same pid, its exit status, its
// signals) with libspicecap-tap.so added to LD_PRELOAD, so that an unmodified SPICE client or server
// (remote-viewer, qemu) reports every message of every channel, TLS included. docs/tap.md.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/argument_reader.hpp"
#include "cli/commands.hpp"
#include "wire/socket_path.hpp"

namespace spicecap::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLibraryName = "libspicecap-tap.so";

constexpr const char* kUsage =
    "usage: spicecap tap [options] [--] COMMAND [ARGS...]\n\n"
    "Runs COMMAND with libspicecap-tap.so preloaded, so that every SPICE connection it makes or accepts\n"
    "(plain, or TLS through OpenSSL) is reported to spicecapd and shows live in Wireshark's \"SPICE capture\":\n"
    "a SPICE client such as remote-viewer, or a SPICE server such as qemu, unmodified. COMMAND replaces\n"
    "spicecap (same process id, exit status and signals); programs it starts are tapped too. With no daemon\n"
    "running COMMAND runs as usual and is reported from the moment the daemon starts.\n\n"
    "  --session LABEL   session label in Wireshark's session list; default: the program's name\n"
    "  --name NAME       producer name shown by spicecap status; default: the program's name\n"
    "  --socket PATH     daemon socket (default: $SPICECAP_SOCKET, $XDG_RUNTIME_DIR/spicecap/spicecapd.sock,\n"
    "                    else /tmp/spicecap-$UID/spicecapd.sock)\n"
    "  --verbose         COMMAND logs each SPICE channel it opens and closes on stderr\n"
    "  --version         print the version\n\n"
    "Example: spicecap tap --session vm1 -- remote-viewer spice://localhost?tls-port=5901\n";

struct TapOptions {
    std::string session;
    std::string name;
    std::string socket;
    bool verbose = false;
    /// argv index of COMMAND.
    int command = 0;
};

/// Options end at "--" or at the first argument that is not an option (COMMAND).
std::optional<int> parse(int argc, char** argv, TapOptions& o) {
    int end = 1;
    while (end < argc && std::string_view(argv[end]) != "--" && argv[end][0] == '-') {
        const std::string_view arg = argv[end];
        const bool takes_value = (arg == "--session" || arg == "--name" || arg == "--socket");
        end += takes_value ? 2 : 1;
    }
    o.command = end < argc && std::string_view(argv[end]) == "--" ? end + 1 : end;
    ArgumentReader args(std::min(end, argc), argv);
    while (args.next()) {
        if (const auto done = args.help_or_version(kUsage)) return *done;
        const std::string_view arg = args.arg();
        if (arg == "--session") {
            if (const auto failed = args.text(o.session, "a label")) return *failed;
        } else if (arg == "--name") {
            if (const auto failed = args.text(o.name, "a name")) return *failed;
            if (o.name.empty() || o.name.size() > 128) return args.fail("--name takes 1 to 128 bytes");
        } else if (arg == "--socket") {
            if (const auto failed = args.text(o.socket, "a path")) return *failed;
        } else if (arg == "--verbose") {
            o.verbose = true;
        } else {
            return args.fail("unknown option '" + std::string(arg) + "'");
        }
    }
    if (o.session.size() > 256) return args.fail("--session takes at most 256 bytes");
    if (o.command >= argc) return args.fail("name the program to run: spicecap tap [options] -- COMMAND [ARGS...]");
    return std::nullopt;
}

fs::path self_directory() {
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path(".") : exe.parent_path();
}

/// The library built beside this program (build/tools/tap/) or installed beside libspicecap
/// (bin -> lib/<multiarch>/spicecap/, see tools/tap/CMakeLists.txt) under any prefix, else the configured
/// prefix's.
std::optional<fs::path> find_library() {
    const fs::path self = self_directory();
    for (const fs::path& candidate : {self / "tap" / kLibraryName,
                                      self / SPICECAP_BIN_TO_LIB_DIR / "spicecap" / kLibraryName,
                                      fs::path(SPICECAP_INSTALLED_LIB_DIR) / "spicecap" / kLibraryName}) {
        std::error_code ec;
        if (fs::is_regular_file(candidate, ec)) return fs::canonical(candidate, ec);
    }
    return std::nullopt;
}

}  // namespace

int tap_command(int argc, char** argv) {
    TapOptions o;
    if (const auto done = parse(argc, argv, o)) return *done;

    const auto library = find_library();
    if (!library) {
        std::fprintf(stderr,
                     "spicecap tap: cannot find %s (looked in %s/tap, %s/%s/spicecap and %s/spicecap); reinstall "
                     "spicecap or run the spicecap of a complete build folder\n",
                     kLibraryName, self_directory().c_str(), self_directory().c_str(), SPICECAP_BIN_TO_LIB_DIR,
                     SPICECAP_INSTALLED_LIB_DIR);
        return 1;
    }
    // ld.so splits LD_PRELOAD at spaces and colons: such a path cannot be preloaded at all.
    if (library->string().find_first_of(": \t") != std::string::npos) {
        std::fprintf(stderr, "spicecap tap: %s cannot be preloaded: LD_PRELOAD cannot hold a path with ':' or "
                             "spaces; install spicecap under a folder without them\n", library->c_str());
        return 1;
    }
    std::string preload = library->string();
    if (const char* before = std::getenv("LD_PRELOAD"); before != nullptr && *before != '\0')
        preload += std::string(":") + before;

    if (!o.socket.empty()) {
        std::error_code ec;
        const fs::path absolute = fs::absolute(o.socket, ec);  // COMMAND may change its folder
        ::setenv("SPICECAP_SOCKET", (ec ? fs::path(o.socket) : absolute).c_str(), 1);
    }
    if (!o.session.empty()) ::setenv("SPICECAP_TAP_SESSION", o.session.c_str(), 1);
    if (!o.name.empty()) ::setenv("SPICECAP_TAP_NAME", o.name.c_str(), 1);
    if (o.verbose) ::setenv("SPICECAP_TAP_VERBOSE", "1", 1);
    ::setenv("LD_PRELOAD", preload.c_str(), 1);

    const fs::path socket = socket_path(std::nullopt);
    std::error_code ec;
    if (!fs::exists(socket, ec)) {
        std::fprintf(stderr, "spicecap tap: no spicecapd at %s yet: %s runs anyway and is reported once the "
                             "daemon runs (start it with: spicecapd &)\n", socket.c_str(), argv[o.command]);
    }

    ::execvp(argv[o.command], argv + o.command);
    const int error = errno;
    std::fprintf(stderr, "spicecap tap: cannot run %s: %s\n", argv[o.command], std::strerror(error));
    return error == ENOENT ? 127 : 126;  // what a shell returns for a command not found / not runnable
}

}  // namespace spicecap::cli
