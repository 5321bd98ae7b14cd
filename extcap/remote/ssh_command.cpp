// ssh command lines and what their failures mean (see ssh_command.hpp).
#include "ssh_command.hpp"

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstring>

#include <unistd.h>

namespace spicecap::extcap {
namespace {

constexpr std::string_view kPrivateKeyHint = "check the user name, set SSH identity file, or add the key to ssh-agent "
                                             "(the capture cannot ask for a password or passphrase)";

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

std::string trimmed(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r\n.");
    return std::string(text.substr(first, last + 1 - first));
}

/// A line quoted in a sentence is at most this long: Wireshark shows only the first 1024 bytes of stderr.
constexpr std::size_t kQuotedLineLimit = 300;

/// The lines of `text` that say something, trimmed, control characters made spaces, cut to a length that
/// keeps the sentence whole in Wireshark's dialog (the text comes from another host).
std::vector<std::string> lines_of(std::string_view text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        std::string line = trimmed(text.substr(start, end - start));
        for (char& c : line) {
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
        }
        if (line.size() > kQuotedLineLimit) line = line.substr(0, kQuotedLineLimit) + "...";
        if (!line.empty()) lines.push_back(std::move(line));
        start = end + 1;
    }
    return lines;
}

/// The first line containing `part`, trimmed; empty if none.
std::string line_with(std::string_view text, std::string_view part) {
    for (auto& line : lines_of(text)) {
        if (contains(line, part)) return line;
    }
    return {};
}

/// What follows the last `marker` on its line ("ssh: connect to host h port 22: Connection refused" ->
/// "Connection refused").
std::string after(const std::string& line, std::string_view marker) {
    const auto at = line.rfind(marker);
    return at == std::string::npos ? std::string() : trimmed(std::string_view(line).substr(at + marker.size()));
}

/// The last line of ssh's stderr that says something, for failures without a known form.
std::string last_line(std::string_view text) {
    const auto lines = lines_of(text);
    return lines.empty() ? std::string() : lines.back();
}

/// "ssh -p 2222 user@host": what to type in a terminal to accept a host key.
std::string interactive_ssh(const RemoteOptions& remote) {
    auto destination = parse_ssh_destination(remote.destination);
    if (!destination) return "ssh " + remote.destination;
    std::string command = "ssh ";
    if (destination->port) command += "-p " + std::to_string(*destination->port) + " ";
    return command + destination->destination;
}

/// The host part of the destination as known_hosts names it ("host", "[host]:2222").
std::string known_hosts_name(const RemoteOptions& remote) {
    auto destination = parse_ssh_destination(remote.destination);
    if (!destination) return remote.destination;
    std::string host = destination->destination.substr(destination->destination.rfind('@') + 1);
    return destination->port ? "[" + host + "]:" + std::to_string(*destination->port) : host;
}

/// ssh's own failures (exit status 255).
std::string explain_ssh_failure(const RemoteOptions& remote, const SshOutcome& outcome) {
    const std::string& err = outcome.stderr_text;
    const std::string& host = remote.destination;
    if (contains(err, "REMOTE HOST IDENTIFICATION HAS CHANGED") || contains(err, "Host key for ")) {
        return "ssh refused " + host + ": its host key has changed since it was recorded in known_hosts (a reinstalled " +
               "host, or someone in between); if the change is expected, remove the old key with `ssh-keygen -R " +
               shell_word(known_hosts_name(remote)) + "` and accept the new one by running `" + interactive_ssh(remote) +
               "` in a terminal";
    }
    if (contains(err, "Host key verification failed") || contains(err, "host key is known for")) {
        return "ssh refused " + host + ": its host key is not in known_hosts; check and accept it once by running `" +
               interactive_ssh(remote) + "` in a terminal, then start the capture again";
    }
    if (const auto line = line_with(err, "Load key "); !line.empty()) {
        return "ssh cannot use the SSH identity file " + remote.identity_file + " (" + after(line, ": ") + "); " +
               std::string(kPrivateKeyHint);
    }
    if (const auto line = line_with(err, "Permission denied"); !line.empty()) {
        const auto methods = line.find('(');
        return "ssh could not log in to " + host + ": authentication refused" +
               (methods != std::string::npos ? " " + line.substr(methods) : std::string()) + "; " +
               std::string(kPrivateKeyHint);
    }
    if (contains(err, "Too many authentication failures")) {
        return "ssh could not log in to " + host + ": authentication refused (too many keys tried); set SSH identity file";
    }
    if (const auto line = line_with(err, "Could not resolve hostname"); !line.empty()) {
        return "ssh cannot connect to " + host + ": the host name does not resolve (" + after(line, ": ") + ")";
    }
    if (const auto line = line_with(err, "connect to host "); !line.empty()) {
        return "ssh cannot connect to " + host + ": " + after(line, ": ");
    }
    if (outcome.had_output) return "the SSH connection to " + host + " was lost (" + last_line(err) + ")";
    if (contains(err, "kex_exchange_identification") || contains(err, "Connection closed by") ||
        contains(err, "Connection reset by") || contains(err, "Connection timed out")) {
        return "ssh cannot connect to " + host + ": the connection ended while it was being set up (" + last_line(err) + ")";
    }
    const std::string line = last_line(err);
    return "ssh to " + host + " failed" + (line.empty() ? std::string(" (exit status 255)") : ": " + line);
}

/// The remote command's failures: its shell's, or spicecap's own sentence.
std::string explain_remote_failure(const RemoteOptions& remote, const SshOutcome& outcome) {
    const std::string& host = remote.destination;
    const std::string program = remote.spicecap_program();
    const int status = *outcome.exit_status;
    const std::string shell_said = last_line(outcome.stderr_text);
    if (status == 127) {
        // The shell's "command not found": no spicecap there (or not where the option says).
        const bool on_path = program.find('/') == std::string::npos;
        return host + " has no " + program + (on_path ? " on its PATH" : std::string()) + " (" + shell_said +
               "); install spicecap there" +
               (on_path ? ", or set Remote spicecap program to where it is" : ", or correct Remote spicecap program");
    }
    if (status == 126) return program + " on " + host + " cannot be run (" + shell_said + ")";
    // spicecap says what went wrong in one line, "spicecap stream: ..." (or "spicecap: ..." for a command an
    // older spicecap does not have): that sentence, once, naming the host.
    for (const auto& line : lines_of(outcome.stderr_text)) {
        if (!line.starts_with("spicecap")) continue;
        const auto colon = line.find(": ");
        if (colon == std::string::npos) continue;
        std::string sentence = "on " + host + ", " + line.substr(0, colon) + " says: " + line.substr(colon + 2);
        // A usage error from the remote spicecap: most likely it is older than this one.
        if (status == 2) sentence += " (is the spicecap on " + host + " older than this one?)";
        return sentence;
    }
    return program + " on " + host + " ended with exit status " + std::to_string(status) +
           (shell_said.empty() ? std::string() : " (" + shell_said + ")");
}

}  // namespace

Expected<SshDestination, std::string> parse_ssh_destination(std::string_view text) {
    const std::string typed(text);
    const auto invalid = [&typed](std::string_view why) {
        return Unexpected{"the SSH destination '" + typed + "' " + std::string(why) +
                          " (write user@host, host:port or a Host of your ssh config)"};
    };
    if (text.starts_with("ssh://")) text.remove_prefix(6);
    if (text.empty()) return invalid("is empty");
    if (text.front() == '-') return invalid("starts with '-'");
    if (std::any_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t' || c == '/' || c < ' '; })) {
        return invalid("has a space, a slash or a control character");
    }
    SshDestination out;
    const auto at = text.rfind('@');
    const std::string user = at == std::string_view::npos ? std::string() : std::string(text.substr(0, at + 1));
    std::string_view host = at == std::string_view::npos ? text : text.substr(at + 1);
    std::optional<std::string_view> port;
    if (host.starts_with('[')) {
        // [v6 address] or [v6 address]:port
        const auto close = host.find(']');
        if (close == std::string_view::npos) return invalid("has '[' without ']'");
        if (close + 1 < host.size()) {
            if (host[close + 1] != ':') return invalid("has something after ']' that is not :port");
            port = host.substr(close + 2);
        }
        host = host.substr(1, close - 1);
    } else if (std::count(host.begin(), host.end(), ':') == 1) {
        // host:port (several colons: a bare IPv6 address)
        const auto colon = host.find(':');
        port = host.substr(colon + 1);
        host = host.substr(0, colon);
    }
    if (host.empty()) return invalid("has no host");
    if (port) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), value);
        if (port->empty() || ec != std::errc{} || end != port->data() + port->size() || value < 1 || value > 65535) {
            return invalid("has a port that is not a number from 1 to 65535");
        }
        out.port = static_cast<std::uint16_t>(value);
    }
    out.destination = user + std::string(host);
    return out;
}

std::string shell_word(std::string_view word) {
    const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
               c == '.' || c == '/' || c == '=' || c == ',' || c == ':' || c == '@' || c == '+' || c == '%';
    });
    if (plain) return std::string(word);
    std::string quoted = "'";
    for (char c : word) {
        if (c == '\'') quoted += "'\\''";
        else quoted += c;
    }
    return quoted + "'";
}

std::string remote_spicecap_command(const RemoteOptions& remote, std::string_view subcommand,
                                    const std::vector<std::string>& arguments) {
    const std::string program = remote.spicecap_program();
    // "~/bin/spicecap" keeps its meaning: the tilde stays outside the quotes, where the shell expands it.
    std::string command = "exec " + (program.starts_with("~/") ? "~/" + shell_word(program.substr(2)) : shell_word(program));
    command += " " + shell_word(subcommand);
    for (const auto& argument : arguments) command += " " + shell_word(argument);
    return command;
}

std::vector<std::string> remote_stream_arguments(const capture::CaptureOptions& options, const RemoteOptions& remote,
                                                 bool live_view) {
    capture::CaptureOptions there = options;
    // The Daemon socket option names a path on this machine; the Remote one is the path there.
    there.socket = remote.socket;
    std::vector<std::string> arguments = {"--interface", std::string(stream_kind_name(options.kind))};
    for (auto& argument : capture::capture_arguments(there)) arguments.push_back(std::move(argument));
    if (live_view) arguments.emplace_back("--live-view");
    return arguments;
}

Expected<std::vector<std::string>, std::string> ssh_command_line(const RemoteOptions& remote,
                                                                 const std::string& remote_command) {
    auto destination = parse_ssh_destination(remote.destination);
    if (!destination) return Unexpected{destination.error()};
    std::vector<std::string> argv = {
        "ssh",
        // Never ask: there is no terminal, and a prompt would hang the capture. Host keys are checked as the
        // user's config says (StrictHostKeyChecking is left alone), so an unknown key fails instead of
        // being asked about.
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=10",
        // A link that dies without a word ends the capture within 15 s instead of never.
        "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
        // Nothing but the command: no port forwardings of the user's config (a busy local port would fail
        // the capture), no agent or X11 forwarding, no terminal, no escape character in the stream.
        "-o", "ClearAllForwardings=yes", "-a", "-x", "-T", "-e", "none",
    };
    if (destination->port) {
        argv.emplace_back("-p");
        argv.push_back(std::to_string(*destination->port));
    }
    if (!remote.identity_file.empty()) {
        // ssh only warns about a missing identity file and goes on to fail authentication: say it here.
        if (::access(remote.identity_file.c_str(), R_OK) != 0) {
            return Unexpected{"cannot read the SSH identity file " + remote.identity_file + ": " + std::strerror(errno)};
        }
        argv.emplace_back("-i");
        argv.push_back(remote.identity_file);
        argv.emplace_back("-o");
        argv.emplace_back("IdentitiesOnly=yes");
    }
    argv.emplace_back("--");
    argv.push_back(destination->destination);
    argv.push_back(remote_command);
    return argv;
}

std::string explain_ssh_outcome(const RemoteOptions& remote, const SshOutcome& outcome) {
    if (!outcome.exit_status) return "ssh to " + remote.destination + " was ended by signal " + std::to_string(outcome.signal);
    if (*outcome.exit_status == 255) return explain_ssh_failure(remote, outcome);
    if (*outcome.exit_status != 0) return explain_remote_failure(remote, outcome);
    return "the capture on " + remote.destination + " ended there (its spicecap stream stopped); start the capture again";
}

}  // namespace spicecap::extcap
