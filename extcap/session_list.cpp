// Session selector values from the daemon's `sessions` control request.
#include "session_list.hpp"

#include <asio.hpp>
#include <nlohmann/json.hpp>
#include <sys/socket.h>

#include "extcap_discovery.hpp"
#include "spicecap/frame.hpp"
#include "spicecap/socket_path.hpp"

namespace spicecap::extcap {
namespace {

// Blocking request/answer with a receive timeout: this runs while the options dialog waits.
std::optional<nlohmann::json> ask_daemon(const std::string& path, const nlohmann::json& request, std::string& why) {
    asio::io_context io;
    asio::local::stream_protocol::socket socket(io);
    asio::error_code ec;
    socket.connect(asio::local::stream_protocol::endpoint(path), ec);
    if (ec) {
        why = "cannot reach spicecapd at " + path + ": " + ec.message();
        return std::nullopt;
    }
    const timeval timeout{2, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ByteBuffer out;
    append_frame(out, FrameType::hello, nlohmann::json{{"version", 1}, {"role", "control"}}.dump());
    append_frame(out, FrameType::request, request.dump());
    asio::write(socket, asio::buffer(out), ec);
    FrameDecoder decoder;
    int replies = 0;
    while (!ec) {
        auto next = decoder.next();
        if (!next) break;
        if (*next) {
            if ((**next).type != FrameType::reply) continue;
            auto reply = nlohmann::json::parse((**next).text(), nullptr, false);
            if (++replies == 2) return reply;  // the first answers HELLO
            if (!reply.is_object() || !reply.value("ok", false)) break;
            continue;
        }
        auto space = decoder.prepare(4096);
        const std::size_t n = socket.read_some(asio::buffer(space.data(), space.size()), ec);
        decoder.commit(n);
    }
    why = "spicecapd did not answer the sessions request" + (ec ? ": " + ec.message() : std::string());
    return std::nullopt;
}

std::string escape_value(std::string text) {
    // Extcap values are delimited by braces.
    for (char& c : text) {
        if (c == '{' || c == '}') c = '_';
    }
    return text;
}

}  // namespace

std::string session_values_text(const ExtcapOptions& options, Log& log) {
    const auto arg = std::to_string(kSessionArgNumber);
    std::string out = "value {arg=" + arg + "}{value=all}{display=All sessions}{default=true}\n";
    const auto path = socket_path(options.socket.empty() ? std::nullopt : std::optional<std::string_view>(options.socket));
    std::string why;
    const auto reply = ask_daemon(path.string(), {{"command", "sessions"}}, why);
    if (!reply) {
        log.warning(why);
        return out;
    }
    for (const auto& session : reply->value("sessions", nlohmann::json::array())) {
        if (!session.is_object() || !session.contains("id")) continue;
        const auto id = session["id"].get<std::uint64_t>();
        std::string display = "#" + std::to_string(id) + " " + session.value("name", std::string()) + " " +
                              session.value("label", std::string());
        if (session.contains("pid")) display += " (pid " + std::to_string(session.value("pid", 0)) + ")";
        out += "value {arg=" + arg + "}{value=" + std::to_string(id) + "}{display=" + escape_value(display) +
               "}{default=false}\n";
    }
    return out;
}

}  // namespace spicecap::extcap
