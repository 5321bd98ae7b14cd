// Subscriber connection: HELLO, REPLY, then frames to a handler; idle notifications for flushing.
#include "client/subscription.hpp"

#include <sys/socket.h>

namespace spicecap {
namespace {

// A subscriber reads in large chunks: at millions of small records a second, fewer reads matter.
constexpr std::size_t kReadChunk = 256 * 1024;
constexpr int kReplyTimeoutSeconds = 5;

}  // namespace

nlohmann::json subscription_hello(const SubscriptionRequest& request) {
    nlohmann::json hello = {{"version", 1},
                            {"role", "subscriber"},
                            {"kind", std::string(stream_kind_name(request.kind))},
                            {"history_seconds", request.history_seconds}};
    if (!request.channels.empty()) {
        nlohmann::json names = nlohmann::json::array();
        for (auto type : request.channels) {
            if (const auto name = spice_channel_name(type)) names.push_back(std::string(*name));
        }
        hello["channels"] = std::move(names);
    }
    if (request.session) hello["sessions"] = {*request.session};
    return hello;
}

Subscription::Subscription(asio::io_context& io) : socket_(io) {}

Expected<std::unique_ptr<Subscription>, std::string> Subscription::open(asio::io_context& io,
                                                                        const std::filesystem::path& socket,
                                                                        const SubscriptionRequest& request) {
    std::unique_ptr<Subscription> s(new Subscription(io));
    asio::error_code ec;
    s->socket_.connect(asio::local::stream_protocol::endpoint(socket.string()), ec);
    if (ec) {
        return Unexpected{"cannot reach spicecapd at " + socket.string() + " (" + ec.message() +
                          "): start it with `spicecapd &` or `systemctl --user start spicecapd`, then try again."};
    }
    ByteBuffer out;
    append_frame(out, FrameType::hello, subscription_hello(request).dump());
    asio::write(s->socket_, asio::buffer(out), ec);
    if (ec) return Unexpected{"cannot talk to spicecapd at " + socket.string() + ": " + ec.message()};

    // The REPLY comes at once; a daemon that does not answer is not one we can use.
    const timeval timeout{kReplyTimeoutSeconds, 0};
    ::setsockopt(s->socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    for (;;) {
        auto next = s->decoder_.next();
        if (!next) return Unexpected{"spicecapd sent something that is not the spicecap protocol: " + next.error().message};
        if (*next) {
            const FrameView& frame = **next;
            if (frame.type != FrameType::reply) return Unexpected{std::string("spicecapd did not answer the subscription")};
            const auto reply = nlohmann::json::parse(frame.text(), nullptr, false);
            if (!reply.is_object() || !reply.value("ok", false)) {
                const std::string why = reply.is_object() ? reply.value("error", "no reason given") : "bad reply";
                return Unexpected{"spicecapd refused the subscription: " + why};
            }
            break;
        }
        auto space = s->decoder_.prepare(4096);
        const std::size_t n = s->socket_.read_some(asio::buffer(space.data(), space.size()), ec);
        if (ec) return Unexpected{"spicecapd closed the connection before answering (" + ec.message() + ")"};
        s->decoder_.commit(n);
    }
    const timeval no_timeout{0, 0};
    ::setsockopt(s->socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &no_timeout, sizeof no_timeout);
    return s;
}

void Subscription::start(SubscriptionHandler& handler) {
    handler_ = &handler;
    // Frames that arrived together with the REPLY are handled first.
    read_more();
}

void Subscription::close() {
    closed_ = true;
    asio::error_code ignored;
    socket_.close(ignored);
}

void Subscription::read_more() {
    for (;;) {
        auto next = decoder_.next();
        if (!next) {
            closed_ = true;
            handler_->on_end("spicecapd sent an invalid frame: " + next.error().message);
            return;
        }
        if (!*next) break;
        const FrameView& frame = **next;
        switch (frame.type) {
            case FrameType::record:
                if (auto record = Record::parse(frame.body)) {
                    handler_->on_record(*record);
                } else {
                    closed_ = true;
                    handler_->on_end("spicecapd sent an invalid record: " + record.error().message);
                    return;
                }
                break;
            case FrameType::drop:
                if (auto notice = DropNotice::parse(frame.body)) handler_->on_drop(*notice);
                break;
            case FrameType::event:
                handler_->on_event(nlohmann::json::parse(frame.text(), nullptr, false));
                break;
            default:
                break;  // nothing else is meant for subscribers; ignore it as the protocol says
        }
        if (closed_) return;
    }
    asio::error_code ec;
    if (socket_.available(ec) == 0) {
        handler_->on_idle();
        if (closed_) return;
    }
    auto space = decoder_.prepare(kReadChunk);
    socket_.async_read_some(asio::buffer(space.data(), space.size()), [this](const asio::error_code& error,
                                                                             std::size_t n) {
        if (closed_) return;
        if (error) {
            closed_ = true;
            handler_->on_end(error == asio::error::eof
                                 ? "spicecapd closed the connection (was it stopped or restarted?)"
                                 : "lost the connection to spicecapd: " + error.message());
            return;
        }
        decoder_.commit(n);
        read_more();
    });
}

}  // namespace spicecap
