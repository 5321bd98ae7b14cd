// Session selector values from the daemon's `sessions` control request: asked here, or with a Remote
// destination, asked there through ssh and `spicecap sessions` (the same JSON array).
#include "session_list.hpp"

#include <nlohmann/json.hpp>

#include "extcap_discovery.hpp"
#include "client/control_client.hpp"
#include "remote/ssh_command.hpp"
#include "remote/ssh_process.hpp"

namespace spicecap::extcap {
namespace {

// The options dialog waits for the answer: a daemon that does not answer quickly gets none, and ssh gets
// its connection timeout and a little more.
constexpr int kLocalTimeoutMs = 2000;
constexpr auto kRemoteTimeout = std::chrono::seconds(12);

std::string escape_value(std::string text) {
    // Extcap values are delimited by braces and lines: a label may hold neither (nor other control bytes).
    for (char& c : text) {
        if (c == '{' || c == '}' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '_';
    }
    return text;
}

/// The sessions of the daemon on this machine.
Expected<nlohmann::json, std::string> local_sessions(const ExtcapOptions& options) {
    ControlClient client;
    if (auto connected = client.connect(options.capture.socket_path().string(), kLocalTimeoutMs); !connected) {
        return Unexpected{connected.error()};
    }
    auto reply = client.request({{"command", "sessions"}});
    if (!reply) return Unexpected{reply.error()};
    return reply->value("sessions", nlohmann::json::array());
}

/// The sessions of the daemon at the Remote destination, from `spicecap sessions` run there.
Expected<nlohmann::json, std::string> remote_sessions(const ExtcapOptions& options) {
    const RemoteOptions& remote = options.remote;
    std::vector<std::string> arguments;
    if (!remote.socket.empty()) arguments = {"--socket", remote.socket};
    auto argv = ssh_command_line(remote, remote_spicecap_command(remote, "sessions", arguments));
    if (!argv) return Unexpected{argv.error()};
    auto result = run_ssh(*argv, kRemoteTimeout);
    if (!result) return Unexpected{"ssh to " + remote.destination + ": " + result.error()};
    if (result->outcome.exit_status != 0) return Unexpected{explain_ssh_outcome(remote, result->outcome)};
    auto sessions = sessions_from_output(result->output);
    if (!sessions) {
        return Unexpected{"spicecap sessions on " + remote.destination + " printed something that is not a session list"};
    }
    return *sessions;
}

}  // namespace

std::string session_values_text(const ExtcapOptions& options, Log& log) {
    const auto sessions = options.remote.enabled() ? remote_sessions(options) : local_sessions(options);
    if (!sessions) log.warning(sessions.error());
    return session_values(sessions ? *sessions : nlohmann::json::array(), options.interface);
}

std::string session_values(const nlohmann::json& sessions, std::string_view interface) {
    const auto arg = std::to_string(capture::find_capture_option("session")->dialog_number);
    std::string out = "value {arg=" + arg + "}{value=all}{display=All sessions}{default=true}\n";
    if (!sessions.is_array()) return out;
    // Only sessions that carry this interface's kind of traffic: a SPICE capture of a USB vsock session
    // would show nothing.
    const std::string kind = interface == kVsockInterface ? "usbvsock" : "spice";
    const auto carries_kind = [&kind](const nlohmann::json& session) {
        const auto channels = session.find("channels");
        if (channels == session.end() || !channels->is_array()) return false;
        for (const auto& channel : *channels) {
            if (channel.is_object() && channel.value("kind", std::string()) == kind) return true;
        }
        return false;
    };
    for (const auto& session : sessions) {
        // A session object of another form (another spicecap version over ssh) is left out, not fatal.
        try {
            if (!session.is_object() || !session.contains("id") || !carries_kind(session)) continue;
            const auto id = session["id"].get<std::uint64_t>();
            // Appended, not `"#" + std::to_string(id) + ...`: GCC 12 -O3 warns wrongly (-Wrestrict) on that.
            std::string display = "#";
            display.append(std::to_string(id)).append(" ").append(session.value("name", std::string()));
            display.append(" ").append(session.value("label", std::string()));
            if (session.contains("pid")) display += " (pid " + std::to_string(session.value("pid", 0)) + ")";
            out += "value {arg=" + arg + "}{value=" + std::to_string(id) + "}{display=" + escape_value(display) +
                   "}{default=false}\n";
        } catch (const nlohmann::json::exception&) {
            continue;
        }
    }
    return out;
}

std::optional<nlohmann::json> sessions_from_output(std::string_view output) {
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.remove_suffix(1);
    const auto line_start = output.rfind('\n');
    auto sessions = nlohmann::json::parse(line_start == std::string_view::npos ? output : output.substr(line_start + 1),
                                          nullptr, false);
    if (!sessions.is_array()) return std::nullopt;
    return sessions;
}

}  // namespace spicecap::extcap
