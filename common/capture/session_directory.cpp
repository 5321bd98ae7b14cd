// Producer names for session ids (see session_directory.hpp).
#include "capture/session_directory.hpp"

#include "client/control_client.hpp"

namespace spicecap::capture {
namespace {

// A local daemon answers in well under a millisecond; one that does not answer soon costs a comment, not a
// stalled capture.
constexpr int kAnswerTimeoutMs = 1000;

}  // namespace

const std::string& SessionDirectory::describe(std::uint32_t session) {
    if (auto it = known_.find(session); it != known_.end()) return it->second;
    ask_daemon();
    // Unknown to the daemon (or no answer): remembered as such, so the daemon is asked once per session.
    return known_.try_emplace(session, "session #" + std::to_string(session)).first->second;
}

void SessionDirectory::ask_daemon() {
    ControlClient client;
    if (!client.connect(socket_.string(), kAnswerTimeoutMs)) return;
    const auto reply = client.request({{"command", "sessions"}});
    if (!reply) return;
    for (const auto& s : reply->value("sessions", nlohmann::json::array())) {
        if (!s.is_object() || !s.contains("id") || !s["id"].is_number_unsigned()) continue;
        std::string text = s.value("name", std::string("a producer"));
        if (const auto pid = s.value("pid", 0LL); pid > 0) text += " pid " + std::to_string(pid);
        if (const auto label = s.value("label", std::string()); !label.empty()) text += " \u00b7 session " + label;
        known_[s["id"].get<std::uint32_t>()] = std::move(text);
    }
}

}  // namespace spicecap::capture
