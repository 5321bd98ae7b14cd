// spicecap-extcap's argument table: Wireshark's calls as 4.0 makes them, our dialog options, and
// arguments we do not know (ignored, never fatal).
#include <doctest/doctest.h>

#include "extcap_discovery.hpp"
#include "extcap_options.hpp"
#include "spice/spice_channel.hpp"

using namespace spicecap::extcap;

namespace {
ExtcapOptions parse_ok(std::vector<std::string> args) {
    auto parsed = parse_extcap_options(args);
    REQUIRE_MESSAGE(parsed, (parsed ? "" : parsed.error()));
    return *parsed;
}
}  // namespace

TEST_CASE("discovery call as Wireshark 4.0 makes it lists the interfaces") {
    const auto o = parse_ok({"--extcap-interfaces", "--extcap-version=4.0"});
    CHECK(o.action == Action::interfaces);
    CHECK(o.wireshark_version == "4.0");
    const auto text = interfaces_text();
    CHECK(text.find("interface {value=spice}{display=SPICE capture}") != std::string::npos);
    CHECK(text.find("interface {value=usbvsock}{display=USB vsock capture}") != std::string::npos);
}

TEST_CASE("dlts and config name the interface's link type and options") {
    auto o = parse_ok({"--extcap-dlts", "--extcap-interface", "spice"});
    CHECK(o.action == Action::dlts);
    CHECK(dlts_text(o).find("dlt {number=1}") != std::string::npos);
    o = parse_ok({"--extcap-dlts", "--extcap-interface", "usbvsock", "--link-type", "150"});
    CHECK(dlts_text(o).find("dlt {number=150}{name=USER3}") != std::string::npos);

    o = parse_ok({"--extcap-config", "--extcap-interface", "spice"});
    CHECK(o.action == Action::config);
    const auto config = config_text(o);
    for (const char* call : {"--socket", "--session", "--history", "--server-port", "--handshake", "--log-level",
                             "--log-file"}) {
        CHECK_MESSAGE(config.find(std::string("{call=") + call + "}") != std::string::npos, call);
    }
    // One checkbox per channel of the shared table (tunnel included), each on by default: Wireshark 4.0 shows
    // a boolean's default (a multicheck started all unchecked).
    for (std::uint8_t type = 1; type <= spicecap::kMaxSpiceChannelType; ++type) {
        const std::string name(*spicecap::spice_channel_name(type));
        CHECK_MESSAGE(config.find("{call=--channel-" + name + "}{display=" + name + " channel}{type=boolean}{default=true}") !=
                          std::string::npos,
                      name);
    }
    CHECK(config.find("{call=--channel-tunnel}") != std::string::npos);
    CHECK(config.find("{type=multicheck}") == std::string::npos);
    // Defaults Wireshark 4.0 can restore: Log level is a validated text field, not a selector.
    CHECK(config.find("{call=--log-level}{display=Log level}{type=string}{default=message}") != std::string::npos);
    CHECK(config.find("{required=true}") == std::string::npos);
    CHECK(config.find("{reload=true}") != std::string::npos);
    const auto vsock_config = config_text(parse_ok({"--extcap-config", "--extcap-interface", "usbvsock"}));
    CHECK(vsock_config.find("{call=--link-type}") != std::string::npos);
    CHECK(vsock_config.find("{call=--channel-main}") == std::string::npos);
}

TEST_CASE("the dialog's channel checkboxes take channels away") {
    auto o = parse_ok({"--capture", "--extcap-interface", "spice", "--fifo", "f", "--channel-main", "true",
                       "--channel-inputs", "false", "--channel-cursor=false"});
    std::vector<std::uint8_t> expected;
    for (std::uint8_t t = 1; t <= spicecap::kMaxSpiceChannelType; ++t) {
        if (t != 3 && t != 4) expected.push_back(t);
    }
    CHECK(o.capture.channels == expected);
    // All on (the default): no channel list, which means every channel.
    o = parse_ok({"--capture", "--extcap-interface", "spice", "--fifo", "f", "--channel-main", "true"});
    CHECK(o.capture.channels.empty());
    // With --channels, the boxes narrow that list.
    o = parse_ok({"--capture", "--extcap-interface", "spice", "--fifo", "f", "--channels", "main,inputs",
                  "--channel-inputs", "false"});
    CHECK(o.capture.channels == std::vector<std::uint8_t>{1});
    // Every box off is an error, not "everything".
    std::vector<std::string> all_off{"--capture", "--extcap-interface", "spice", "--fifo", "f"};
    for (std::uint8_t t = 1; t <= spicecap::kMaxSpiceChannelType; ++t) {
        all_off.push_back("--channel-" + std::string(*spicecap::spice_channel_name(t)));
        all_off.push_back("false");
    }
    CHECK_FALSE(parse_extcap_options(all_off));
}

TEST_CASE("capture call with every option and a filter") {
    const auto o = parse_ok({"--capture", "--extcap-interface", "spice", "--fifo", "/tmp/x", "--extcap-capture-filter",
                             "tcp port 10003", "--socket", "/run/s.sock", "--channels", "main,display,inputs",
                             "--session", "7", "--history=30", "--server-port", "5931", "--handshake",
                             "--extcap-control-in", "/tmp/in", "--extcap-control-out", "/tmp/out"});
    CHECK(o.action == Action::capture);
    CHECK(o.fifo == "/tmp/x");
    CHECK(o.capture.filter == "tcp port 10003");
    CHECK(o.capture.socket == "/run/s.sock");
    CHECK(o.capture.channels == std::vector<std::uint8_t>{1, 2, 3});
    REQUIRE(o.capture.session);
    CHECK(*o.capture.session == 7);
    CHECK(o.capture.history_seconds == 30);
    CHECK(o.capture.server_port == 5931);
    CHECK(o.capture.handshake);
    CHECK(o.control_in == "/tmp/in");
    CHECK(o.control_out == "/tmp/out");
}

TEST_CASE("filter validation is its own action and capture wins over it") {
    CHECK(parse_ok({"--extcap-capture-filter", "tcp", "--extcap-interface", "spice"}).action == Action::validate_filter);
    CHECK(parse_ok({"--extcap-interface", "spice", "--extcap-capture-filter", "tcp", "--capture", "--fifo", "f"}).action ==
          Action::capture);
}

TEST_CASE("unknown arguments are ignored with their values") {
    const auto o = parse_ok({"--extcap-interfaces", "--some-new-flag", "value", "--another", "--x=1"});
    CHECK(o.action == Action::interfaces);
    CHECK(o.ignored == std::vector<std::string>{"--some-new-flag", "value", "--another", "--x=1"});
}

TEST_CASE("bad values are errors that say what is expected") {
    auto bad = parse_extcap_options({"--capture", "--extcap-interface", "spice", "--fifo", "f", "--server-port", "0"});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().find("--server-port") != std::string::npos);
    bad = parse_extcap_options({"--capture", "--extcap-interface", "spice", "--fifo", "f", "--channels", "main,bogus"});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().find("bogus") != std::string::npos);
    bad = parse_extcap_options({"--capture", "--extcap-interface", "wlan0", "--fifo", "f"});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().find("wlan0") != std::string::npos);
    bad = parse_extcap_options({"--capture", "--extcap-interface", "spice"});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().find("--fifo") != std::string::npos);
    bad = parse_extcap_options({"--capture", "--extcap-interface", "usbvsock", "--fifo", "f", "--link-type", "1"});
    CHECK_FALSE(bad);
    bad = parse_extcap_options({"--socket"});
    CHECK_FALSE(bad);
}

TEST_CASE("session all and a boolflag spelled false") {
    const auto o = parse_ok({"--capture", "--extcap-interface", "spice", "--fifo", "f", "--session", "all",
                             "--handshake=false"});
    CHECK_FALSE(o.capture.session);
    CHECK_FALSE(o.capture.handshake);
}

TEST_CASE("a boolflag Wireshark does not pass is off and the dialog offers the shared defaults") {
    // Wireshark passes a boolflag only when it is on: absent means off, whatever the default.
    const auto o = parse_ok({"--capture", "--extcap-interface", "spice", "--fifo", "f"});
    CHECK_FALSE(o.capture.handshake);
    // The dialog's default is the capture option table's (the spicecap commands use the same).
    const auto config = config_text(parse_ok({"--extcap-config", "--extcap-interface", "spice"}));
    CHECK(config.find("{call=--handshake}{display=Synthetic TCP handshake}{type=boolflag}{default=true}") !=
          std::string::npos);
    CHECK(config.find("{call=--server-port}{display=Server TCP port}{type=integer}{range=1,65535}{default=5930}") !=
          std::string::npos);
}
