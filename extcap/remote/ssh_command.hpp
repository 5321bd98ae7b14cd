// The ssh calls of a remote capture: the system's OpenSSH client with the user's own config, agent and
// known_hosts (host keys are checked as ssh checks them; nothing here turns that off), never asking
// anything (BatchMode: the extcap has no terminal), running one spicecap command on the remote host. And
// what a failed call means, in one sentence naming the part that failed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/expected.hpp"
#include "capture/capture_options.hpp"
#include "remote_options.hpp"

namespace spicecap::extcap {

/// An SSH destination as typed into the Remote option, split the way ssh takes it.
struct SshDestination {
    /// ssh's destination argument: "host", "user@host", "user@2001:db8::1" (without brackets).
    std::string destination;
    /// ssh's -p, when the text gave a port ("host:2222", "[2001:db8::1]:2222").
    std::optional<std::uint16_t> port;
};

/// Reads "host", "user@host", "host:port", "user@host:port", "[v6]:port", "ssh://user@host:port" or a bare
/// IPv6 address. The error is one sentence.
Expected<SshDestination, std::string> parse_ssh_destination(std::string_view text);

/// `word` as one word for the remote user's shell (ssh hands the command to it as one line of text).
std::string shell_word(std::string_view word);

/// The remote command line that runs `spicecap SUBCOMMAND ARGS...` there (the remote spicecap program of
/// `remote`, replacing the shell so that nothing stays behind it).
std::string remote_spicecap_command(const RemoteOptions& remote, std::string_view subcommand,
                                    const std::vector<std::string>& arguments);

/// The arguments of `spicecap stream` for a capture with `options` on the remote host: the interface, the
/// capture options as capture_arguments() renders them (so every option of the table goes through, the
/// ones added later too), the Remote daemon socket in place of the local one, and --live-view for the GUI.
std::vector<std::string> remote_stream_arguments(const capture::CaptureOptions& options, const RemoteOptions& remote,
                                                 bool live_view);

/// The argument vector of the system's ssh running `remote_command` at the Remote destination.
Expected<std::vector<std::string>, std::string> ssh_command_line(const RemoteOptions& remote,
                                                                 const std::string& remote_command);

/// How an ssh call ended.
struct SshOutcome {
    /// ssh's exit status (the remote command's, or 255 for ssh's own failures); nothing if a signal ended it.
    std::optional<int> exit_status;
    /// The signal that ended ssh, if one did.
    int signal = 0;
    /// What ssh and the remote command wrote on stderr (bounded).
    std::string stderr_text;
    /// The remote command's output had started to arrive (a capture stream's header, a session list).
    bool had_output = false;
};

/// One sentence for an ssh call that failed or ended by itself: ssh cannot connect, authentication refused,
/// host key unknown or changed, no spicecap on the remote PATH, or the remote spicecap's own sentence
/// (e.g. no daemon on the remote socket), each naming the destination.
std::string explain_ssh_outcome(const RemoteOptions& remote, const SshOutcome& outcome);

}  // namespace spicecap::extcap
