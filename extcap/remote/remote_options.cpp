// The Remote option table (see remote_options.hpp).
#include "remote_options.hpp"

#include <algorithm>
#include <array>

namespace spicecap::extcap {
namespace {

/// One Remote option: its call, where its value goes, and what the dialog and --help say about it.
struct RemoteOption {
    std::string_view call;
    std::string RemoteOptions::*field;
    /// The dialog's `arg {number=N}`: after the capture options (0..6), the Debug group (7, 8) and the
    /// per-channel boxes (20..30), with room for more capture options.
    int dialog_number;
    std::string_view label;
    /// The rest of the dialog line: type, placeholder.
    std::string_view dialog_type;
    std::string_view value_name;
    std::string_view help;
};

constexpr std::array<RemoteOption, 4> kRemoteOptions{{
    {"--remote-host", &RemoteOptions::destination, 40, "SSH destination",
     "{type=string}{placeholder=empty: this machine}", "DEST",
     "capture on this host over SSH: user@host, host:port or a Host of your ssh config (the system's ssh runs "
     "spicecap stream there, with your known_hosts, keys and agent); empty: this machine"},
    {"--remote-identity", &RemoteOptions::identity_file, 41, "SSH identity file", "{type=fileselect}{mustexist=true}",
     "FILE", "private key for ssh (ssh -i, only this key); empty: ssh's own keys and agent"},
    {"--remote-socket", &RemoteOptions::socket, 42, "Remote daemon socket",
     "{type=string}{placeholder=default on the remote host}", "PATH",
     "spicecapd's socket on the remote host; empty: the usual one of the remote user"},
    {"--remote-spicecap", &RemoteOptions::spicecap, 43, "Remote spicecap program",
     "{type=string}{placeholder=spicecap}", "PATH", "the spicecap program on the remote host; empty: spicecap on its PATH"},
}};

const RemoteOption* find(std::string_view call) {
    for (const auto& option : kRemoteOptions) {
        if (option.call == call) return &option;
    }
    return nullptr;
}

}  // namespace

bool is_remote_option(std::string_view call) { return find(call) != nullptr; }

bool apply_remote_option(RemoteOptions& remote, std::string_view call, const std::string& value) {
    const RemoteOption* option = find(call);
    if (option == nullptr) return false;
    // A value pasted with a space or newline around it still works.
    const auto first = value.find_first_not_of(" \t\r\n");
    const auto last = value.find_last_not_of(" \t\r\n");
    remote.*(option->field) = first == std::string::npos ? std::string() : value.substr(first, last + 1 - first);
    return true;
}

std::string remote_options_extcap_config() {
    std::string out;
    for (const auto& option : kRemoteOptions) {
        out += "arg {number=" + std::to_string(option.dialog_number) + "}{call=" + std::string(option.call) +
               "}{display=" + std::string(option.label) + "}" + std::string(option.dialog_type) + "{tooltip=" +
               std::string(option.help) + "}{group=Remote}\n";
    }
    return out;
}

std::string remote_options_usage() {
    std::string out;
    for (const auto& option : kRemoteOptions) {
        std::string left = "  " + std::string(option.call) + " " + std::string(option.value_name);
        left.resize(std::max<std::size_t>(left.size() + 2, 24), ' ');
        out += left + std::string(option.help) + "\n";
    }
    return out;
}

}  // namespace spicecap::extcap
