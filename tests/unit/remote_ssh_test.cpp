// The extcap's remote capture pieces that need no SSH server (tests/e2e/remote_*_test.sh run the real one):
// destinations, the remote command line as a real shell reads it, capture options passed on unchanged, the
// ssh command line, the Remote options in the dialog, and OpenSSH 9.2's own failure texts explained.
#include <doctest/doctest.h>

#include <cstdio>
#include <memory>

#include "cli/argument_reader.hpp"
#include "cli/capture_arguments.hpp"
#include "extcap_discovery.hpp"
#include "extcap_options.hpp"
#include "session_list.hpp"
#include "remote/ssh_command.hpp"

using namespace spicecap;
using namespace spicecap::extcap;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// The words /bin/sh makes of `command_line` (NUL-separated by printf).
std::vector<std::string> shell_words(const std::string& command_line) {
    const std::string script = "set -- " + command_line + "; printf '%s\\0' \"$@\"";
    const std::string call = "/bin/sh -c '" + [&] {
        std::string quoted;
        for (char c : script) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
        return quoted;
    }() + "'";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(call.c_str(), "r"), ::pclose);
    REQUIRE(pipe);
    std::string out;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe.get())) > 0;) out.append(buffer, n);
    std::vector<std::string> words;
    for (std::size_t start = 0, end; (end = out.find('\0', start)) != std::string::npos; start = end + 1) {
        words.push_back(out.substr(start, end - start));
    }
    return words;
}

RemoteOptions remote_to(std::string destination) {
    RemoteOptions remote;
    remote.destination = std::move(destination);
    return remote;
}

SshOutcome exited(int status, std::string stderr_text, bool had_output = false) {
    SshOutcome outcome;
    outcome.exit_status = status;
    outcome.stderr_text = std::move(stderr_text);
    outcome.had_output = had_output;
    return outcome;
}

}  // namespace

TEST_CASE("SSH destinations with user and port and IPv6 and ssh URIs") {
    struct Case {
        const char* text;
        const char* destination;
        int port;  // 0: none
    };
    for (const Case& c : {Case{"lab-host", "lab-host", 0}, Case{"me@lab-host", "me@lab-host", 0},
                          Case{"lab-host:2222", "lab-host", 2222}, Case{"me@10.0.0.5:22", "me@10.0.0.5", 22},
                          Case{"[2001:db8::1]:2200", "2001:db8::1", 2200}, Case{"me@[2001:db8::1]", "me@2001:db8::1", 0},
                          Case{"2001:db8::1", "2001:db8::1", 0}, Case{"ssh://me@lab-host:2022", "me@lab-host", 2022}}) {
        auto parsed = parse_ssh_destination(c.text);
        REQUIRE_MESSAGE(parsed, c.text);
        CHECK_MESSAGE(parsed->destination == c.destination, c.text);
        CHECK_MESSAGE(parsed->port.value_or(0) == c.port, c.text);
    }
    for (const char* bad : {"", "-oProxyCommand=x", "host:0", "host:70000", "host:ssh", "host:", "me@", "a b",
                            "[::1", "[::1]x", "host/x"}) {
        auto parsed = parse_ssh_destination(bad);
        CHECK_MESSAGE(!parsed, bad);
        if (!parsed) CHECK(has(parsed.error(), "the SSH destination '"));
    }
}

TEST_CASE("the remote command line is read back word for word by a real shell") {
    for (const std::string word : {"plain", "tcp port 10002", "it's", "$HOME", "a\"b", "`id`", "x;y", "", "~", "*",
                                   "back\\slash", "new\nline"}) {
        const auto words = shell_words(shell_word(word));
        REQUIRE_MESSAGE(words.size() == 1, word);
        CHECK(words[0] == word);
    }
    RemoteOptions remote = remote_to("h");
    CHECK(remote_spicecap_command(remote, "stream", {"--filter=tcp port 1"}) == "exec spicecap stream '--filter=tcp port 1'");
    remote.spicecap = "~/bin/spice cap";
    CHECK(remote_spicecap_command(remote, "sessions", {}) == "exec ~/'bin/spice cap' sessions");
}

TEST_CASE("every capture option goes to the remote spicecap stream unchanged") {
    capture::CaptureOptions options;
    options.kind = StreamKind::spice;
    options.socket = "/local/only.sock";
    options.channels = {2, 3};
    options.session = 7;
    options.history_seconds = 30;
    options.server_port = 5931;
    options.handshake = false;
    options.filter = "tcp port 10002 and not host '10.0.0.9'";
    RemoteOptions remote = remote_to("h");
    remote.socket = "/run/user/1000/spicecap/spicecapd.sock";

    auto arguments = remote_stream_arguments(options, remote, true);
    // As the remote shell hands them to spicecap stream, then read as spicecap stream reads them.
    auto words = shell_words(remote_spicecap_command(remote, "stream", arguments));
    REQUIRE(words.size() == arguments.size() + 3);
    CHECK(words[0] == "exec");
    CHECK(words[2] == "stream");
    std::vector<char*> argv = {const_cast<char*>("stream")};
    for (std::size_t i = 3; i < words.size(); ++i) argv.push_back(words[i].data());
    cli::ArgumentReader args(static_cast<int>(argv.size()), argv.data());
    capture::CaptureOptions read_back;
    bool live_view = false;
    std::string interface;
    while (args.next()) {
        if (cli::read_capture_argument(args, read_back) == cli::CaptureArgument::taken) continue;
        if (args.arg() == "--interface") interface = std::string(*args.value());
        else if (args.arg() == "--live-view") live_view = true;
        else FAIL("unexpected argument " << args.arg());
    }
    CHECK(interface == "spice");
    CHECK(live_view);
    CHECK(read_back.socket == remote.socket);  // the remote daemon's socket, not the local one
    for (const auto& option : capture::capture_option_table()) {
        if (option.name == "socket") continue;
        CHECK_MESSAGE(capture::capture_option_value(read_back, option) == capture::capture_option_value(options, option),
                      option.name);
    }

    // USB vsock: its own interface name, its link type, nothing of SPICE.
    options = {};
    options.kind = StreamKind::usb_vsock;
    options.link_type = 150;
    arguments = remote_stream_arguments(options, remote_to("h"), false);
    CHECK(arguments == std::vector<std::string>{"--interface", "usbvsock", "--link-type=150"});
}

TEST_CASE("the ssh command line has batch mode and the port and identity before the command") {
    RemoteOptions remote = remote_to("me@lab:2222");
    auto argv = ssh_command_line(remote, "exec spicecap sessions");
    REQUIRE(argv);
    const std::string joined = [&] {
        std::string all;
        for (const auto& a : *argv) all += a + " ";
        return all;
    }();
    CHECK((*argv)[0] == "ssh");
    CHECK(has(joined, "-o BatchMode=yes "));
    CHECK(has(joined, "-p 2222 "));
    CHECK(!has(joined, "StrictHostKeyChecking"));
    CHECK(!has(joined, "UserKnownHostsFile"));
    CHECK(argv->back() == "exec spicecap sessions");
    CHECK((*argv)[argv->size() - 2] == "me@lab");
    CHECK((*argv)[argv->size() - 3] == "--");

    remote.identity_file = "/nonexistent/id_ed25519";
    argv = ssh_command_line(remote, "true");
    REQUIRE(!argv);
    CHECK(has(argv.error(), "cannot read the SSH identity file /nonexistent/id_ed25519"));
}

TEST_CASE("the Remote options are parsed and offered in the dialog of both interfaces and in --help") {
    auto parsed = parse_extcap_options({"--capture", "--extcap-interface", "usbvsock", "--fifo", "/tmp/f",
                                        "--remote-host", " me@lab\n", "--remote-identity=/k", "--remote-socket", "/s",
                                        "--remote-spicecap", "/opt/spicecap"});
    REQUIRE(parsed);
    CHECK(parsed->remote.destination == "me@lab");
    CHECK(parsed->remote.identity_file == "/k");
    CHECK(parsed->remote.socket == "/s");
    CHECK(parsed->remote.spicecap_program() == "/opt/spicecap");
    CHECK(parsed->ignored.empty());
    CHECK(!parse_extcap_options({"--extcap-interface", "spice", "--remote-host"}));

    for (const char* interface : {"spice", "usbvsock"}) {
        auto config = config_text(*parse_extcap_options({"--extcap-config", "--extcap-interface", interface}));
        for (const char* call : {"--remote-host", "--remote-identity", "--remote-socket", "--remote-spicecap"}) {
            CHECK_MESSAGE(has(config, std::string("{call=") + call + "}"), call);
        }
        CHECK(has(config, "{type=fileselect}{mustexist=true}"));
        CHECK(has(config, "{group=Remote}"));
    }
    CHECK(has(extcap_usage(), "--remote-host DEST"));
}

TEST_CASE("OpenSSH's failures explained in one sentence naming the part") {
    const RemoteOptions remote = remote_to("me@127.0.0.1:2222");
    // Texts as OpenSSH 9.2 writes them.
    CHECK(explain_ssh_outcome(remote, exited(255, "No ED25519 host key is known for [127.0.0.1]:2222 and you have "
                                                  "requested strict checking.\r\nHost key verification failed.\r\n")) ==
          "ssh refused me@127.0.0.1:2222: its host key is not in known_hosts; check and accept it once by running "
          "`ssh -p 2222 me@127.0.0.1` in a terminal, then start the capture again");
    const auto changed = explain_ssh_outcome(
        remote, exited(255, "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n"
                            "Host key for [127.0.0.1]:2222 has changed and you have requested strict checking.\r\n"
                            "Host key verification failed.\r\n"));
    CHECK(has(changed, "ssh refused me@127.0.0.1:2222: its host key has changed"));
    CHECK(has(changed, "ssh-keygen -R '[127.0.0.1]:2222'"));
    CHECK(explain_ssh_outcome(remote, exited(255, "me@127.0.0.1: Permission denied (publickey).\r\n"))
              .starts_with("ssh could not log in to me@127.0.0.1:2222: authentication refused (publickey); "));
    CHECK(explain_ssh_outcome(remote, exited(255, "ssh: connect to host 127.0.0.1 port 2222: Connection refused\r\n")) ==
          "ssh cannot connect to me@127.0.0.1:2222: Connection refused");
    CHECK(explain_ssh_outcome(remote_to("nosuchhost.invalid"),
                              exited(255, "ssh: Could not resolve hostname nosuchhost.invalid: Name or service not known\r\n")) ==
          "ssh cannot connect to nosuchhost.invalid: the host name does not resolve (Name or service not known)");
    RemoteOptions with_key = remote;
    with_key.identity_file = "/k";
    CHECK(explain_ssh_outcome(with_key, exited(255, "Load key \"/k\": error in libcrypto\r\n"
                                                    "me@127.0.0.1: Permission denied (publickey).\r\n"))
              .starts_with("ssh cannot use the SSH identity file /k (error in libcrypto); "));
    CHECK(explain_ssh_outcome(remote, exited(255, "Connection to 127.0.0.1 closed by remote host.\r\n", true)) ==
          "the SSH connection to me@127.0.0.1:2222 was lost (Connection to 127.0.0.1 closed by remote host)");

    // The remote side: its shell, then spicecap's own sentence, once, naming the host.
    CHECK(explain_ssh_outcome(remote, exited(127, "sh: 1: exec: spicecap: not found\n")) ==
          "me@127.0.0.1:2222 has no spicecap on its PATH (sh: 1: exec: spicecap: not found); install spicecap there, "
          "or set Remote spicecap program to where it is");
    CHECK(explain_ssh_outcome(remote, exited(1, "spicecap stream: cannot reach spicecapd at /tmp/s.sock (No such file or "
                                                "directory): start it with `spicecapd &`.\n")) ==
          "on me@127.0.0.1:2222, spicecap stream says: cannot reach spicecapd at /tmp/s.sock (No such file or directory): "
          "start it with `spicecapd &`");
    CHECK(has(explain_ssh_outcome(remote, exited(2, "spicecap: unknown command 'stream'\n\nusage: spicecap COMMAND\n")),
              "older than this one"));
    CHECK(has(explain_ssh_outcome(remote, exited(0, "")), "ended there"));
    SshOutcome killed;
    killed.signal = 9;
    CHECK(has(explain_ssh_outcome(remote, killed), "signal 9"));
}

TEST_CASE("the session list from another host reads its last line and its kind with labels that cannot break lines") {
    const auto sessions = sessions_from_output(
        "Welcome to the lab\n"
        R"([{"id":3,"name":"ryll","label":"vm{1}\nvalue {arg=2}{value=9}","pid":42,"channels":[{"kind":"spice"}]},)"
        R"({"id":4,"name":"x","label":"usb","channels":[{"kind":"usbvsock"}]},{"id":"five","channels":[{"kind":"spice"}]},)"
        R"({"id":6,"name":7,"channels":[{"kind":"spice"}]}])"
        "\n");
    REQUIRE(sessions);
    const std::string spice = session_values(*sessions, kSpiceInterface);
    CHECK(spice == "value {arg=2}{value=all}{display=All sessions}{default=true}\n"
                   "value {arg=2}{value=3}{display=#3 ryll vm_1__value _arg=2__value=9_ (pid 42)}{default=false}\n");
    CHECK(has(session_values(*sessions, kVsockInterface), "{value=4}{display=#4 x usb}"));
    CHECK(!sessions_from_output("not json\n"));
    CHECK(!sessions_from_output("{\"sessions\":[]}"));
}
