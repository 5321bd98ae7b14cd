// Session selector values from the daemon's `sessions` control request.
#include "session_list.hpp"

#include <nlohmann/json.hpp>

#include "extcap_discovery.hpp"
#include "client/control_client.hpp"

namespace spicecap::extcap {
namespace {

std::string escape_value(std::string text) {
    // Extcap values are delimited by braces.
    for (char& c : text) {
        if (c == '{' || c == '}') c = '_';
    }
    return text;
}

}  // namespace

std::string session_values_text(const ExtcapOptions& options, Log& log) {
    const auto arg = std::to_string(capture::find_capture_option("session")->dialog_number);
    std::string out = "value {arg=" + arg + "}{value=all}{display=All sessions}{default=true}\n";
    const auto path = options.capture.socket_path();
    // The options dialog waits for this answer: a daemon that does not answer quickly gets none.
    ControlClient client;
    if (auto connected = client.connect(path.string(), 2000); !connected) {
        log.warning(connected.error());
        return out;
    }
    const auto reply = client.request({{"command", "sessions"}});
    if (!reply) {
        log.warning(reply.error());
        return out;
    }
    // Only sessions that carry this interface's kind of traffic: a SPICE capture of a USB vsock session
    // would show nothing.
    const std::string kind = options.interface == kVsockInterface ? "usbvsock" : "spice";
    const auto carries_kind = [&kind](const nlohmann::json& session) {
        for (const auto& channel : session.value("channels", nlohmann::json::array())) {
            if (channel.is_object() && channel.value("kind", std::string()) == kind) return true;
        }
        return false;
    };
    for (const auto& session : reply->value("sessions", nlohmann::json::array())) {
        if (!session.is_object() || !session.contains("id") || !carries_kind(session)) continue;
        const auto id = session["id"].get<std::uint64_t>();
        // Appended, not `"#" + std::to_string(id) + ...`: GCC 12 -O3 warns wrongly (-Wrestrict) on that.
        std::string display = "#";
        display.append(std::to_string(id)).append(" ").append(session.value("name", std::string()));
        display.append(" ").append(session.value("label", std::string()));
        if (session.contains("pid")) display += " (pid " + std::to_string(session.value("pid", 0)) + ")";
        out += "value {arg=" + arg + "}{value=" + std::to_string(id) + "}{display=" + escape_value(display) +
               "}{default=false}\n";
    }
    return out;
}

}  // namespace spicecap::extcap
