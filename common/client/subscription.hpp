// The subscriber side of the wire protocol (docs/protocol.md §7): connect to spicecapd, subscribe, and
// hand every RECORD, DROP and EVENT to a handler as it arrives. Shared by the extcap and `spicecap record`.
#pragma once

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/expected.hpp"
#include "wire/frame.hpp"
#include "wire/events.hpp"
#include "wire/record.hpp"

namespace spicecap {

/// What a subscriber asks for (the subscriber HELLO).
struct SubscriptionRequest {
    /// SPICE or USB vsock records.
    StreamKind kind = StreamKind::spice;
    /// SPICE channel types; empty = all.
    std::vector<std::uint8_t> channels;
    /// One session id, or all sessions.
    std::optional<std::uint32_t> session;
    /// Replay this much history before going live.
    std::uint32_t history_seconds = 0;
};

/// The HELLO body for a request.
nlohmann::json subscription_hello(const SubscriptionRequest& request);

/// Receives what the daemon sends. Called on the io_context's thread.
class SubscriptionHandler {
public:
    virtual ~SubscriptionHandler() = default;
    virtual void on_record(const Record& record) = 0;
    virtual void on_drop(const DropNotice& notice) = 0;
    /// An event the protocol defines (unknown ones are ignored, as docs/protocol.md §7.3 says).
    virtual void on_event(const Event& event) = 0;
    /// Everything the daemon had sent so far is handled: the moment to flush output.
    virtual void on_idle() = 0;
    /// The subscription ended: the daemon went away, or sent something that breaks the protocol (an invalid
    /// frame, RECORD, DROP or EVENT: one sentence says which). Never called after close().
    virtual void on_end(const std::string& why) = 0;
};

class Subscription {
public:
    /// Connects to the daemon at `socket` and subscribes (waits at most a few seconds for the answer).
    /// The error is one sentence; for an unreachable daemon it says how to start one.
    static Expected<std::unique_ptr<Subscription>, std::string> open(asio::io_context& io,
                                                                     const std::filesystem::path& socket,
                                                                     const SubscriptionRequest& request);

    /// Starts reading; handler calls follow until on_end or close(). `handler` must outlive the reading.
    void start(SubscriptionHandler& handler);
    /// Stops reading and closes the connection.
    void close();
    /// Stops handing frames to the handler after the current one (e.g. the output failed).
    bool closed() const noexcept { return closed_; }

private:
    explicit Subscription(asio::io_context& io);
    void read_more();
    /// Hands one frame to the handler; false (after on_end) if it breaks the protocol.
    bool deliver(const FrameView& frame);
    void end(const std::string& why);

    asio::local::stream_protocol::socket socket_;
    FrameDecoder decoder_;
    SubscriptionHandler* handler_ = nullptr;
    bool closed_ = false;
};

}  // namespace spicecap
