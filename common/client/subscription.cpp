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

void Subscription::end(const std::string& why) {
    closed_ = true;
    handler_->on_end(why);
}

bool Subscription::deliver(const FrameView& frame) {
    // Anything the daemon sends that breaks the protocol ends the subscription the same way: the stream
    // cannot be trusted past it (a wrong record would decode as garbage; a lost drop or event would leave
    // sequence numbers or channel state wrong without a word).
    switch (frame.type) {
        case FrameType::record: {
            auto record = Record::parse(frame.body);
            if (!record) {
                end("spicecapd sent an invalid RECORD: " + record.error().message);
                return false;
            }
            handler_->on_record(*record);
            return true;
        }
        case FrameType::drop: {
            auto notice = DropNotice::parse(frame.body);
            if (!notice) {
                end("spicecapd sent an invalid DROP: " + notice.error().message);
                return false;
            }
            handler_->on_drop(*notice);
            return true;
        }
        case FrameType::event: {
            auto event = parse_event(frame.text());
            if (!event) {
                end("spicecapd sent an invalid EVENT: " + event.error());
                return false;
            }
            if (!std::holds_alternative<UnknownEvent>(event->what)) handler_->on_event(*event);
            return true;
        }
        default:
            return true;  // nothing else is meant for subscribers; ignored as the protocol says
    }
}

void Subscription::read_more() {
    for (;;) {
        auto next = decoder_.next();
        if (!next) return end("spicecapd sent an invalid frame: " + next.error().message);
        if (!*next) break;
        if (!deliver(**next) || closed_) return;
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
