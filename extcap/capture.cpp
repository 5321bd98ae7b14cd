// The capture loop: one io_context; the subscription hands records to us, we synthesize pcap records,
// filter them with BPF and write them to the FIFO, flushing whenever the daemon has nothing more queued,
// so a record shows in Wireshark at once at low rates while high rates are written in large batches.
#include "capture.hpp"

#include <asio.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <set>
#include <tuple>

#include "control_pipes.hpp"
#include "pcap/bpf_filter.hpp"
#include "pcap/pcap_writer.hpp"
#include "wire/socket_path.hpp"
#include "pcap/spice_frames.hpp"
#include "client/subscription.hpp"
#include "pcap/vsock_frames.hpp"
#include "base/clock.hpp"

namespace spicecap::extcap {
namespace {

constexpr auto kStatusInterval = std::chrono::seconds(1);

class Capture final : public SubscriptionHandler {
public:
    Capture(const ExtcapOptions& options, Log& log)
        : options_(options),
          log_(log),
          spice_interface_(options.interface == kSpiceInterface),
          link_type_(spice_interface_ ? kLinkTypeEthernet : options.vsock_link_type),
          signals_(io_, SIGINT, SIGTERM),
          status_timer_(io_),
          spice_(SpiceFrameOptions{.server_port = options.server_port, .handshake = options.handshake}) {}

    int run();

    void on_record(const Record& record) override;
    void on_drop(const DropNotice& notice) override;
    void on_event(const nlohmann::json& event) override;
    void on_idle() override;
    void on_end(const std::string& why) override { stop(1, why + "; start the capture again", LogLevel::error); }

private:
    void write_vsock(const Record& record);
    void write_frame(std::uint64_t timestamp_ns, std::span<const std::uint8_t> frame);
    void tick_status();
    void stop(int exit_code, const std::string& why, LogLevel level);

    const ExtcapOptions& options_;
    Log& log_;
    const bool spice_interface_;
    const int link_type_;
    asio::io_context io_;
    asio::signal_set signals_;
    asio::steady_timer status_timer_;
    std::unique_ptr<Subscription> subscription_;
    std::optional<PcapWriter> writer_;
    std::optional<BpfFilter> filter_;
    SpiceFrameEncoder spice_;
    FrameSink sink_ = [this](std::uint64_t ts, std::span<const std::uint8_t> f) { write_frame(ts, f); };
    std::unique_ptr<ControlPipes> control_;
    // USB vsock links whose next transfer must carry the "drops before" flag: (session, link, direction).
    std::set<std::tuple<std::uint32_t, std::uint8_t, std::uint8_t>> vsock_drops_pending_;
    std::uint64_t frames_written_ = 0;
    std::uint64_t vsock_records_ = 0;
    std::uint64_t vsock_bytes_ = 0;
    std::uint64_t dropped_ = 0;
    int exit_code_ = 0;
    bool stopped_ = false;
};

int Capture::run() {
    auto filter = BpfFilter::compile(options_.capture_filter, link_type_);
    if (!filter) {
        log_.error("invalid capture filter '" + options_.capture_filter + "': " + filter.error());
        return 1;
    }
    filter_ = std::move(*filter);

    // Wireshark waits for the FIFO to be opened and for the pcap header before anything else.
    const int fifo = ::open(options_.fifo.c_str(), O_WRONLY | O_CLOEXEC | O_CREAT, 0600);
    if (fifo < 0) {
        log_.error("cannot open the capture output " + options_.fifo + ": " + std::strerror(errno));
        return 1;
    }
    auto writer = PcapWriter::open_fd(fifo, link_type_,
                                      spice_interface_ ? kDefaultSnapLength : static_cast<int>(vsock::max_record_size));
    if (!writer) {
        log_.error(writer.error());
        return 1;
    }
    writer_ = std::move(*writer);

    SubscriptionRequest request;
    request.kind = spice_interface_ ? StreamKind::spice : StreamKind::usb_vsock;
    if (spice_interface_) request.channels = options_.channels;
    request.session = options_.session;
    request.history_seconds = options_.history_seconds;
    const auto socket = socket_path(options_.socket.empty() ? std::nullopt
                                                            : std::optional<std::string_view>(options_.socket));
    auto subscription = Subscription::open(io_, socket, request);
    if (!subscription) {
        log_.error(subscription.error());
        return 1;
    }
    subscription_ = std::move(*subscription);
    log_.info("subscribed to spicecapd at " + socket.string());

    if (!options_.control_in.empty() || !options_.control_out.empty()) {
        control_ = std::make_unique<ControlPipes>(options_.control_in, options_.control_out, [this] {
            asio::post(io_, [this] { stop(0, "Wireshark closed the control pipe; stopping", LogLevel::info); });
        });
    }
    signals_.async_wait([this](const asio::error_code& ec, int signal) {
        if (!ec) stop(0, std::string("stopping on ") + (signal == SIGINT ? "SIGINT" : "SIGTERM"), LogLevel::info);
    });
    tick_status();
    subscription_->start(*this);
    io_.run();

    if (spice_interface_ && writer_) spice_.close_all(wall_clock_ns(), sink_);
    if (writer_) (void)writer_->close();
    log_.info("wrote " + std::to_string(frames_written_) + " frames; the daemon dropped " + std::to_string(dropped_) +
              " records for this capture");
    return exit_code_;
}

void Capture::on_record(const Record& record) {
    if (record.header.kind == StreamKind::spice) {
        if (spice_interface_) spice_.record(record, sink_);
    } else if (!spice_interface_) {
        write_vsock(record);
    }
}

void Capture::on_drop(const DropNotice& notice) {
    dropped_ += notice.records;
    if (spice_interface_) {
        spice_.drop(notice);
    } else {
        vsock_drops_pending_.insert(
            {notice.where.session, notice.where.channel_id, static_cast<std::uint8_t>(notice.where.direction)});
    }
    const std::string text = "spicecapd dropped " + std::to_string(notice.records) +
                             " records for this capture (it could not keep up)";
    log_.info(text);
    if (control_) control_->log_line(text);
}

void Capture::on_event(const nlohmann::json& event) {
    if (!spice_interface_ || !event.is_object()) return;
    if (event.value("event", "") == "channel_closed" && event.value("kind", "spice") == "spice") {
        spice_.channel_closed(event.value("session", 0u), event.value("channel_type", std::uint8_t{0}),
                              event.value("channel_id", std::uint8_t{0}), event.value("timestamp_ns", wall_clock_ns()), sink_);
    }
}

void Capture::on_idle() {
    // Nothing more is queued: this is the moment to show Wireshark what we have.
    if (!writer_ || stopped_) return;
    if (auto flushed = writer_->flush(); !flushed) {
        stop(0, "the capture reader went away (" + flushed.error() + "); stopping", LogLevel::info);
    }
}

void Capture::write_vsock(const Record& record) {
    const RecordHeader& h = record.header;
    vsock::TransferMeta meta;
    meta.direction = h.direction;
    // Each session's links get their own numbers: session index * 256 + the producer's link index.
    meta.link = spice_.session_index(h.session) * 256u + h.channel_id;
    meta.drops_before =
        vsock_drops_pending_.erase({h.session, h.channel_id, static_cast<std::uint8_t>(h.direction)}) > 0;
    for (const auto& part : vsock::split_transfer(meta, record.payload)) {
        write_frame(h.timestamp_ns, vsock::build_record(part));
    }
    ++vsock_records_;
    vsock_bytes_ += record.payload.size();
}

void Capture::write_frame(std::uint64_t timestamp_ns, std::span<const std::uint8_t> frame) {
    if (stopped_ || !writer_) return;
    if (!filter_->accepts_everything() && !filter_->matches(frame)) return;
    if (auto written = writer_->write(timestamp_ns, frame); !written) {
        stop(0, "the capture reader went away (" + written.error() + "); stopping", LogLevel::info);
        return;
    }
    ++frames_written_;
}

void Capture::tick_status() {
    if (control_) {
        const auto records = spice_interface_ ? spice_.stats().records : vsock_records_;
        const auto bytes = spice_interface_ ? spice_.stats().bytes : vsock_bytes_;
        control_->status("spicecap: " + std::to_string(records) + " records, " + std::to_string(bytes) + " bytes, " +
                         std::to_string(dropped_) + " dropped");
    }
    status_timer_.expires_after(kStatusInterval);
    status_timer_.async_wait([this](const asio::error_code& ec) {
        if (!ec && !stopped_) tick_status();
    });
}

void Capture::stop(int exit_code, const std::string& why, LogLevel level) {
    if (stopped_) return;
    stopped_ = true;
    exit_code_ = exit_code;
    log_.write(level, why);
    if (subscription_) subscription_->close();
    asio::error_code ignored;
    signals_.cancel(ignored);
    status_timer_.cancel();
    io_.stop();
}

}  // namespace

int run_capture(const ExtcapOptions& options, Log& log) {
    Capture capture(options, log);
    return capture.run();
}

}  // namespace spicecap::extcap
