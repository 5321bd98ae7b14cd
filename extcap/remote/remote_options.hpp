// The extcap's "Remote" options: capture from a spicecapd on another host, through the system's ssh running
// `spicecap stream` there (docs/remote.md). Defined once here: the dialog lines, the --help lines and the
// parsing all come from the same table.
#pragma once

#include <string>
#include <string_view>

namespace spicecap::extcap {

/// Where a capture runs. Empty destination: on this machine, as always.
struct RemoteOptions {
    /// --remote-host: the SSH destination as a person types it: "host", "user@host", "host:port",
    /// "user@host:port", "[v6 address]:port", or a Host of ~/.ssh/config.
    std::string destination;
    /// --remote-identity: a private key file for ssh (-i, with IdentitiesOnly); empty = ssh's own choice.
    std::string identity_file;
    /// --remote-socket: spicecapd's socket on the remote host; empty = the usual rule there.
    std::string socket;
    /// --remote-spicecap: the spicecap program on the remote host; empty = "spicecap" on its PATH.
    std::string spicecap;

    bool enabled() const noexcept { return !destination.empty(); }
    /// The remote program to run: `spicecap` unless set.
    std::string spicecap_program() const { return spicecap.empty() ? std::string("spicecap") : spicecap; }
};

/// True when `call` ("--remote-host") is a Remote option; then `value` is stored into `remote`.
bool apply_remote_option(RemoteOptions& remote, std::string_view call, const std::string& value);
/// True when `call` names a Remote option (every one takes a value).
bool is_remote_option(std::string_view call);

/// The `arg` lines of --extcap-config for the Remote group (the same for both interfaces).
std::string remote_options_extcap_config();
/// --help lines for the Remote options.
std::string remote_options_usage();

}  // namespace spicecap::extcap
