// `spicecap install` reads what tshark says about its folders and plugins. Every form it must understand is
// a fixture captured from the real tshark of Debian 12 (4.0), 13 (4.4) and sid (4.6), as root and as a user
// (tests/unit/fixtures/tshark/README.md), so that a wording change shows up here, not on a user's machine.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "cli/wireshark_folders.hpp"

using namespace spicecap::cli;
namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& name) {
    const fs::path path = fs::path(SPICECAP_SOURCE_DIR) / "tests" / "unit" / "fixtures" / "tshark" / name;
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "missing fixture " << path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

WiresharkVersion version_of(const std::string& release) {
    const auto v = WiresharkVersion::parse(fixture(release + "-version.txt"));
    REQUIRE(v.has_value());
    return *v;
}

WiresharkFolders folders_of(const std::string& release, const std::string& who) {
    const auto folders = folders_from(parse_folders_text(fixture(release + "-folders-" + who + ".txt")), version_of(release));
    REQUIRE_MESSAGE(folders.has_value(), folders.error());
    return *folders;
}

constexpr const char* kDebianLua = "/usr/lib/x86_64-linux-gnu/wireshark/plugins";

}  // namespace

TEST_CASE("tshark --version: the release number of 4.0 (packaged) and 4.4 and 4.6 (plain)") {
    const auto v40 = version_of("4.0.17");
    CHECK(v40.text() == "4.0.17");
    CHECK(v40.at_least(4, 0));
    CHECK_FALSE(v40.at_least(4, 2));
    CHECK(version_of("4.4.19").text() == "4.4.19");
    CHECK(version_of("4.6.9").text() == "4.6.9");
    CHECK(version_of("4.6.9").at_least(4, 2));
    CHECK(WiresharkVersion::parse("TShark (Wireshark) 5.0.\n")->at_least(4, 6));
    CHECK_FALSE(WiresharkVersion::parse("tshark: command not found").has_value());
    CHECK_FALSE(WiresharkVersion::parse("TShark (Wireshark) dev").has_value());
}

TEST_CASE("tshark -G folders of 4.0: Extcap path is global and the personal folder is the configuration's") {
    for (const auto& [who, home] : {std::pair{"root", "/root"}, std::pair{"user", "/home/tester"}}) {
        CAPTURE(who);
        const auto f = folders_of("4.0.17", who);
        CHECK(f.personal_extcap == std::string(home) + "/.config/wireshark/extcap");
        CHECK(f.global_extcap == "/usr/lib/x86_64-linux-gnu/wireshark/extcap");
        CHECK(f.personal_lua == std::string(home) + "/.local/lib/wireshark/plugins");
        CHECK(f.global_lua == kDebianLua);
        CHECK(f.global_configuration == "/usr/share/wireshark");
        CHECK(f.has_lua());
    }
}

TEST_CASE("tshark -G folders of 4.4: Personal Extcap path and Global Extcap path") {
    for (const auto& [who, home] : {std::pair{"root", "/root"}, std::pair{"user", "/home/tester"}}) {
        CAPTURE(who);
        const auto f = folders_of("4.4.19", who);
        CHECK(f.personal_extcap == std::string(home) + "/.local/lib/wireshark/extcap");
        CHECK(f.global_extcap == "/usr/lib/x86_64-linux-gnu/wireshark/extcap");
        CHECK(f.personal_lua == std::string(home) + "/.local/lib/wireshark/plugins");
        CHECK(f.global_lua == kDebianLua);
    }
}

TEST_CASE("tshark -G folders of 4.6: the global extcap folder is /usr/libexec/wireshark/extcap") {
    for (const auto& [who, home] : {std::pair{"root", "/root"}, std::pair{"user", "/home/tester"}}) {
        CAPTURE(who);
        const auto f = folders_of("4.6.9", who);
        CHECK(f.personal_extcap == std::string(home) + "/.local/lib/wireshark/extcap");
        CHECK(f.global_extcap == "/usr/libexec/wireshark/extcap");
        CHECK(f.personal_lua == std::string(home) + "/.local/lib/wireshark/plugins");
        CHECK(f.global_lua == kDebianLua);
    }
}

TEST_CASE("tshark -G folders with WIRESHARK_EXTCAP_DIR: 4.4 and 4.6 report it as the global extcap folder") {
    for (const char* release : {"4.4.19", "4.6.9"}) {
        CAPTURE(release);
        const auto f = folders_of(release, "user-WIRESHARK_EXTCAP_DIR");
        CHECK(f.global_extcap == "/opt/extcap");
        CHECK(f.personal_extcap == "/home/tester/.local/lib/wireshark/extcap");
    }
}

TEST_CASE("tshark -G folders: a Wireshark without Lua has no Lua folders and other text is an error") {
    auto text = fixture("4.4.19-folders-user.txt");
    std::string without_lua;
    for (std::size_t start = 0, end; start < text.size(); start = end + 1) {
        end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const auto line = text.substr(start, end - start);
        if (line.find("Lua Plugins") == std::string::npos) without_lua += line + "\n";
    }
    const auto f = folders_from(parse_folders_text(without_lua), version_of("4.4.19"));
    REQUIRE(f.has_value());
    CHECK_FALSE(f->has_lua());
    CHECK(f->personal_extcap == "/home/tester/.local/lib/wireshark/extcap");

    const auto nonsense = folders_from(parse_folders_text("tshark: invalid -G option\n"), version_of("4.4.19"));
    REQUIRE_FALSE(nonsense.has_value());
    CHECK(nonsense.error().find("named no extcap folders") != std::string::npos);
    // Keys repeat (MaxMind database path): the first value is kept.
    CHECK(parse_folders_text(fixture("4.6.9-folders-root.txt")).at("MaxMind database path") == "/usr/share/GeoIP");
}

TEST_CASE("tshark -G plugins: the Lua scripts loaded as 4.0 and 4.4 (lua script) and 4.6 (Lua script) list them") {
    for (const char* release : {"4.0.17", "4.4.19", "4.6.9"}) {
        CAPTURE(release);
        const auto scripts = lua_scripts_in_plugins_text(fixture(std::string(release) + "-plugins-user.txt"));
        CHECK(scripts == std::set<fs::path>{"/home/tester/.local/lib/wireshark/plugins/usb_vsock.lua"});
    }
    CHECK(lua_scripts_in_plugins_text("ethercat.so\t0.1.0\tdissector\t/usr/lib/x/ethercat.so\n").empty());
}

TEST_CASE("root's Wireshark loads personal Lua plugins only on 4.0 and 4.1 with an init.lua that allows it") {
    // The lines of Debian 12's /usr/share/wireshark/init.lua (Wireshark 4.0) that decide it.
    const std::string debian_4_0 =
        "-- Set enable_lua to false to disable Lua support.\nenable_lua = true\n\n"
        "-- the Lua Evaluate menu option in the GUI.\nrun_user_scripts_when_superuser = true\n";
    CHECK(root_loads_personal_lua(version_of("4.0.17"), debian_4_0));
    CHECK_FALSE(root_loads_personal_lua(version_of("4.0.17"), ""));
    CHECK_FALSE(root_loads_personal_lua(version_of("4.0.17"), "-- run_user_scripts_when_superuser = true\n"));
    CHECK_FALSE(root_loads_personal_lua(version_of("4.0.17"), "run_user_scripts_when_superuser = false\n"));
    CHECK_FALSE(root_loads_personal_lua(version_of("4.4.19"), debian_4_0));
    CHECK_FALSE(root_loads_personal_lua(version_of("4.6.9"), ""));
}
