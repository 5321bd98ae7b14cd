// The capture option table: one definition per option, from which every command line, --help and the
// extcap dialog are made. Every value it shows reads back to itself, the arguments it renders for a
// remote `spicecap stream` give back the same options, and a bad value names its option.
#include <doctest/doctest.h>

#include <algorithm>

#include "capture/capture_options.hpp"

using namespace spicecap;
using namespace spicecap::capture;

namespace {

CaptureOptions read_arguments(StreamKind kind, const std::vector<std::string>& arguments) {
    CaptureOptions options;
    options.kind = kind;
    for (const std::string& argument : arguments) {
        REQUIRE(argument.starts_with("--"));
        const auto eq = argument.find('=');
        std::string name = argument.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
        std::string value = eq == std::string::npos ? "" : argument.substr(eq + 1);
        if (name.starts_with("no-")) {
            name = name.substr(3);
            value = "false";
        }
        const CaptureOption* option = find_capture_option(name);
        REQUIRE_MESSAGE(option != nullptr, argument);
        REQUIRE(apply_capture_option(options, *option, value));
    }
    return options;
}

bool same(const CaptureOptions& a, const CaptureOptions& b) {
    for (const auto& option : capture_option_table()) {
        if (capture_option_value(a, option) != capture_option_value(b, option)) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("every option's value reads back to itself") {
    const CaptureOptions defaults;
    for (const auto& option : capture_option_table()) {
        CAPTURE(option.name);
        REQUIRE(static_cast<bool>(option.read));
        REQUIRE(static_cast<bool>(option.show));
        CaptureOptions read;
        REQUIRE(apply_capture_option(read, option, capture_option_value(defaults, option)));
        CHECK(capture_option_value(read, option) == capture_option_value(defaults, option));
    }
}

TEST_CASE("the arguments rendered for a remote capture give back the same options") {
    CaptureOptions spice;
    spice.socket = "/run/user/1000/spicecap/other.sock";
    spice.channels = {2, 3};
    spice.session = 42;
    spice.history_seconds = 30;
    spice.server_port = 5931;
    spice.handshake = false;
    spice.filter = "tcp port 10002";
    spice.format = OutputFormat::pcap;
    const auto arguments = capture_arguments(spice);
    CHECK(std::find(arguments.begin(), arguments.end(), "--no-handshake") != arguments.end());
    CHECK(same(read_arguments(StreamKind::spice, arguments), spice));
    // Defaults are left out.
    CHECK(capture_arguments(CaptureOptions{}).empty());
    // USB vsock options only where they apply.
    CaptureOptions vsock;
    vsock.kind = StreamKind::usb_vsock;
    vsock.link_type = 150;
    vsock.server_port = 9999;  // a SPICE option: not rendered for a USB vsock capture
    CHECK(capture_arguments(vsock) == std::vector<std::string>{"--link-type=150"});
}

TEST_CASE("a bad value is one sentence naming its option") {
    CaptureOptions options;
    const std::pair<const char*, const char*> bad[] = {
        {"history", "x"}, {"server-port", "0"}, {"link-type", "146"}, {"session", "-1"},
        {"channels", "main,bogus"}, {"handshake", "maybe"}, {"format", "json"},
    };
    for (const auto& [name, value] : bad) {
        CAPTURE(name);
        auto read = apply_capture_option(options, *find_capture_option(name), value);
        REQUIRE_FALSE(read);
        CHECK(read.error().find(std::string("--") + name) != std::string::npos);
    }
}

TEST_CASE("--help and the dialog come from the table") {
    const std::string usage = capture_options_usage(std::nullopt, OptionSyntax::command);
    const std::string dialog = capture_options_extcap_config(StreamKind::spice);
    for (const auto& option : capture_option_table()) {
        CAPTURE(option.name);
        CHECK(usage.find("--" + std::string(option.name)) != std::string::npos);
        if (option.dialog_number >= 0 && applies_to(option, StreamKind::spice) && option.kind != ValueKind::channel_list) {
            CHECK(dialog.find("{call=--" + std::string(option.name) + "}") != std::string::npos);
        }
    }
    CHECK(usage.find("--handshake, --no-handshake") != std::string::npos);
    CHECK(capture_options_usage(std::nullopt, OptionSyntax::extcap).find("--filter") == std::string::npos);
}
