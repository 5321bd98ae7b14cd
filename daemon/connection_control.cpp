// A control connection (docs/protocol.md §9): REQUEST in, REPLY out, as many as it likes.
#include "connection.hpp"
#include "log.hpp"

namespace spicecap::daemon {

asio::awaitable<void> Connection::run_control() {
    role_ = Role::control;
    hello_timer_.cancel();
    const nlohmann::json accepted = {{"ok", true}};  // (g++ 12 mis-compiles braced JSON inside co_await)
    if (!co_await reply(accepted)) co_return;
    while (auto frame = co_await next_frame()) {
        if (frame->type != FrameType::request) {
            fail("protocol error: control clients send REQUEST frames, not " + std::string(frame_type_name(frame->type)));
            co_return;
        }
        auto command = parse_request(frame->text());
        if (!command) {
            fail("bad REQUEST: " + command.error());
            co_return;
        }
        nlohmann::json answer;
        if (*command == "status") answer = {{"ok", true}, {"status", hub_.status_json(wall_clock_ns())}};
        else if (*command == "sessions") answer = {{"ok", true}, {"sessions", hub_.sessions_json()}};
        else answer = {{"ok", false}, {"error", "unknown command \"" + *command + "\""}};
        log(LogLevel::debug, describe(), ": ", *command);
        if (!co_await reply(answer)) co_return;
    }
}

}  // namespace spicecap::daemon
