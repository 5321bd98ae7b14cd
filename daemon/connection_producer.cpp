// A producer connection: a session, then RECORD and EVENT frames until it hangs up (docs/protocol.md §6).
// Frames are processed a whole read at a time, and subscribers are woken once per read, not per record.
#include <asio/use_awaitable.hpp>

#include "connection.hpp"
#include "log.hpp"

namespace spicecap::daemon {

asio::awaitable<void> Connection::run_producer(const ProducerHello& hello) {
    auto session = hub_.open_session(hello);
    if (!session) {
        refuse(session.error());
        co_return;
    }
    role_ = Role::producer;
    hello_timer_.cancel();
    leave_other_slot();
    session_ = *session;  // owned from here on: end() closes it
    producer_name_ = hello.name + (hello.pid ? " pid " + std::to_string(hello.pid) : std::string());
    log(LogLevel::info, describe(), ": session started");
    const auto max_frame = hub_.limits().max_frame_bytes;
    const nlohmann::json accepted = {{"ok", true}, {"session", session_->id}, {"max_frame_bytes", max_frame}};
    if (co_await reply(accepted)) {
        decoder_.set_max_frame_bytes(max_frame);
        bool warned_unknown_event = false;
        bool running = true;
        while (running) {
            const std::uint64_t now = wall_clock_ns();
            bool ingested = false;
            for (;;) {
                auto frame = decoder_.next();
                if (!frame) {
                    fail("protocol error: " + frame.error().message);
                    running = false;
                    break;
                }
                if (!frame.value()) break;
                const FrameView& f = **frame;
                Expected<Ok, std::string> done = Ok{};
                if (f.type == FrameType::record) {
                    done = hub_.ingest_record(*session_, f, now);
                } else if (f.type == FrameType::event) {
                    if (f.encoded.size() > kMaxJsonFrameBytes) {
                        done = Unexpected{"EVENT of " + std::to_string(f.encoded.size()) + " bytes exceeds the limit of " +
                                          std::to_string(kMaxJsonFrameBytes)};
                    } else {
                        std::string unknown;
                        done = hub_.ingest_event(*session_, f, now, &unknown);
                        if (!unknown.empty() && !warned_unknown_event) {
                            warned_unknown_event = true;
                            log(LogLevel::message, describe(), ": ignoring unknown event \"", unknown,
                                "\" (and further unknown events from it)");
                        }
                    }
                } else {
                    done = Unexpected{"protocol error: producers send RECORD and EVENT frames, not " +
                                      std::string(frame_type_name(f.type))};
                }
                ingested = true;
                if (!done) {
                    fail(done.error());
                    running = false;
                    break;
                }
            }
            if (ingested) hub_.ingest_done(now);
            if (running && !co_await read_more()) running = false;
        }
    }
    // The session ends in end(), which also runs when this coroutine throws.
}

}  // namespace spicecap::daemon
