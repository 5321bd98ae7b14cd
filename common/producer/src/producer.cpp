// spicecap::Producer: validating the options, the reporting calls (encode into the send buffer, wake the
// sender when it idles), and the status queries. The sender thread itself is in sender.cpp.
#include <ctime>
#include <stdexcept>

#include <unistd.h>

#include "producer_impl.hpp"
#include "producer_messages.hpp"
#include "wire/record.hpp"
#include "wire/socket_path.hpp"
#include "base/clock.hpp"

namespace spicecap {

namespace {

const ProducerOptions& validated(const ProducerOptions& options) {
    if (options.name.empty() || options.name.size() > producer_detail::kMaxNameBytes) {
        throw std::invalid_argument("spicecap::Producer: the name must be 1.." +
                                    std::to_string(producer_detail::kMaxNameBytes) + " bytes");
    }
    if (options.session_label.size() > producer_detail::kMaxSessionLabelBytes) {
        throw std::invalid_argument("spicecap::Producer: the session label must be at most " +
                                    std::to_string(producer_detail::kMaxSessionLabelBytes) + " bytes");
    }
    return options;
}

std::string resolve_socket_path(const std::optional<std::string>& requested) {
    if (requested && !requested->empty()) return *requested;
    return socket_path(std::nullopt).string();
}

}  // namespace

// ---- Producer::Impl (construction and status; the sender loop is in sender.cpp) ----

Producer::Impl::Impl(const ProducerOptions& options, std::atomic<std::uint8_t>& state)
    : socket_path(resolve_socket_path(options.socket_path)),
      buffer(options.buffer_bytes),
      hello_json_(producer_detail::producer_hello_json(options.name, static_cast<long>(::getpid()), options.session_label)),
      shutdown_timeout_(options.shutdown_timeout),
      state_(state) {
    std::optional<producer_detail::DaemonConnection> connection;
    auto attempt = producer_detail::DaemonConnection::open(socket_path, hello_json_, options.connect_timeout, stop_);
    if (attempt) {
        connection.emplace(std::move(attempt).value());
        go_online(*connection);
    } else {
        set_last_error(attempt.error());
    }
    sender_ = std::thread([this, first = std::move(connection)]() mutable { run_sender(std::move(first)); });
}

Producer::Impl::~Impl() {
    buffer.wait_until_flushed(std::chrono::steady_clock::now() + shutdown_timeout_);
    stopping_.store(true);
    stop_.notify();
    sender_.join();
    buffer.close();  // the sender closed it already; this keeps the invariant obvious
}

void Producer::Impl::set_last_error(std::string text) noexcept {
    std::lock_guard lock(status_mutex_);
    last_error_ = std::move(text);
}

void Producer::Impl::read_status(ProducerStats& stats) const {
    std::lock_guard lock(status_mutex_);
    stats.connections = connections_;
    stats.session = session_;
    stats.connected = connected_;
}

std::string Producer::Impl::last_error() const {
    std::lock_guard lock(status_mutex_);
    return last_error_;
}

// ---- Producer ----

Producer::Producer(ProducerOptions options)
    : state_(options.enabled ? kEnabled : 0), impl_(std::make_unique<Impl>(validated(options), state_)) {
    static_assert(Impl::kEnabled == kEnabled && Impl::kConnected == kConnected);
}

Producer::~Producer() = default;

void Producer::record_spice(std::uint8_t direction, SpiceChannel channel, const void* data, std::size_t size,
                            std::uint64_t timestamp_ns) noexcept {
    if (!producer_detail::ChannelRegistry::valid_type(channel.type) || (data == nullptr && size != 0)) {
        impl_->wake_sender_if(impl_->buffer.reject_invalid(size));
        return;
    }
    RecordHeader header;
    header.kind = StreamKind::spice;
    header.direction = static_cast<Direction>(direction);
    header.channel_type = channel.type;
    header.channel_id = channel.id;
    header.timestamp_ns = timestamp_ns != 0 ? timestamp_ns : wall_clock_ns();
    header.flags = impl_->channels.record_flags(channel);
    impl_->wake_sender_if(impl_->buffer.append_record(header, {static_cast<const std::uint8_t*>(data), size}));
}

void Producer::record_usb(std::uint8_t direction, std::uint8_t link, const void* data, std::size_t size,
                          std::uint64_t timestamp_ns) noexcept {
    if (data == nullptr && size != 0) {
        impl_->wake_sender_if(impl_->buffer.reject_invalid(size));
        return;
    }
    RecordHeader header;
    header.kind = StreamKind::usb_vsock;
    header.direction = static_cast<Direction>(direction);
    header.channel_type = 0;
    header.channel_id = link;
    header.timestamp_ns = timestamp_ns != 0 ? timestamp_ns : wall_clock_ns();
    impl_->wake_sender_if(impl_->buffer.append_record(header, {static_cast<const std::uint8_t*>(data), size}));
}

void Producer::channel_opened(SpiceChannel channel, HeaderMode header) noexcept {
    if (!producer_detail::ChannelRegistry::valid_type(channel.type)) {
        try {
            impl_->set_last_error("channel_opened: SPICE channel type " + std::to_string(channel.type) + " is outside 1..11; ignored");
        } catch (...) {
        }
        return;
    }
    impl_->wake_sender_if(impl_->channels.opened(channel, header, impl_->buffer));
}

void Producer::channel_closed(SpiceChannel channel) noexcept {
    if (!producer_detail::ChannelRegistry::valid_type(channel.type)) {
        try {
            impl_->set_last_error("channel_closed: SPICE channel type " + std::to_string(channel.type) + " is outside 1..11; ignored");
        } catch (...) {
        }
        return;
    }
    impl_->wake_sender_if(impl_->channels.closed(channel, impl_->buffer));
}

void Producer::set_enabled(bool enabled) noexcept {
    if (enabled) {
        state_.fetch_or(kEnabled, std::memory_order_relaxed);
    } else {
        state_.fetch_and(static_cast<std::uint8_t>(~kEnabled), std::memory_order_relaxed);
    }
}

bool Producer::flush(std::chrono::milliseconds timeout) noexcept {
    try {
        return impl_->buffer.wait_until_flushed(std::chrono::steady_clock::now() + timeout);
    } catch (...) {  // std::system_error from the mutex: cannot happen in practice, must not escape
        return false;
    }
}

ProducerStats Producer::stats() const noexcept {
    ProducerStats stats;
    try {
        impl_->buffer.read_counters(stats);
        impl_->read_status(stats);
    } catch (...) {
    }
    return stats;
}

std::string Producer::last_error() const { return impl_->last_error(); }

std::string Producer::socket_path() const { return impl_->socket_path; }

}  // namespace spicecap
