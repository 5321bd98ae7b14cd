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
#include <sstream>
#include <tuple>

#include "control_pipes.hpp"
#include "spicecap/bpf_filter.hpp"
#include "spicecap/live_view_pacer.hpp"
#include "spicecap/pcap_writer.hpp"
#include "spicecap/socket_path.hpp"
#include "spicecap/spice_capture.hpp"
#include "spicecap/subscription.hpp"
#include "spicecap/vsock_pcap.hpp"

namespace spicecap::extcap {
namespace {

constexpr auto kStatusInterval = std::chrono::seconds(1);
// How long a failed capture keeps the toolbar pipes open for Wireshark to open its ends (see ControlPipes).
constexpr auto kWaitForWireshark = std::chrono::seconds(5);

std::string byte_count(std::uint64_t bytes) {
    std::ostringstream out;
    out.precision(1);
    if (bytes >= (1u << 20)) {
        out << std::fixed << static_cast<double>(bytes) / (1u << 20) << " MiB";
    } else if (bytes >= (1u << 10)) {
        out << std::fixed << static_cast<double>(bytes) / (1u << 10) << " KiB";
    } else {
        out << bytes << " bytes";
    }
    return out.str();
}

std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

class Capture final : public SubscriptionHandler {
public:
    Capture(const ExtcapOptions& options, Log& log)
        : options_(options),
          log_(log),
          spice_interface_(options.interface == kSpiceInterface),
          link_type_(spice_interface_ ? kLinkTypeEthernet : options.vsock_link_type),
          signals_(io_, SIGINT, SIGTERM),
          status_timer_(io_),
          pacer_timer_(io_),
          spice_(SpiceCaptureOptions{.server_port = options.server_port, .handshake = options.handshake}) {}
    ~Capture() override { log_.set_mirror(nullptr); }

    int run();

    void on_record(const Record& record) override;
    void on_drop(const DropNotice& notice) override;
    void on_event(const nlohmann::json& event) override;
    void on_idle() override;
    void on_end(const std::string& why) override { stop(1, why + "; start the capture again", LogLevel::error); }

private:
    std::optional<std::string> start_output();
    std::optional<std::string> subscribe();
    int fail(const std::string& why);
    void write_vsock(const Record& record);
    void spice_frame(std::uint64_t timestamp_ns, std::span<const std::uint8_t> frame, FrameRole role);
    void write_frame(std::uint64_t timestamp_ns, std::span<const std::uint8_t> frame);
    void write_unfiltered(std::uint64_t timestamp_ns, std::span<const std::uint8_t> frame);
    void arm_pacer();
    void log_pause();
    std::string status_text() const;
    void tick_status();
    void stop(int exit_code, const std::string& why, LogLevel level);

    const ExtcapOptions& options_;
    Log& log_;
    const bool spice_interface_;
    const int link_type_;
    asio::io_context io_;
    asio::signal_set signals_;
    asio::steady_timer status_timer_;
    asio::steady_timer pacer_timer_;
    std::unique_ptr<Subscription> subscription_;
    std::optional<PcapWriter> writer_;
    std::optional<BpfFilter> filter_;
    SpiceCapture spice_;
    RoledFrameSink sink_ = [this](std::uint64_t ts, std::span<const std::uint8_t> f, FrameRole role) {
        spice_frame(ts, f, role);
    };
    FrameSink unfiltered_ = [this](std::uint64_t ts, std::span<const std::uint8_t> f) { write_unfiltered(ts, f); };
    std::unique_ptr<ControlPipes> control_;
    // Only for Wireshark's GUI (it passes the toolbar pipes; tshark never re-dissects, so it needs no pauses).
    std::optional<LiveViewPacer> pacer_;
    std::optional<LiveViewPacer::Clock::time_point> pacer_armed_for_;
    // USB vsock links whose next transfer must carry the "drops before" flag: (session, link, direction).
    std::set<std::tuple<std::uint32_t, std::uint8_t, std::uint8_t>> vsock_drops_pending_;
    std::uint64_t frames_written_ = 0;
    std::uint64_t vsock_records_ = 0;
    std::uint64_t vsock_bytes_ = 0;
    std::uint64_t dropped_ = 0;
    int exit_code_ = 0;
    bool stopped_ = false;
    bool writer_failed_ = false;
    bool draining_ = false;
};

int Capture::run() {
    // The toolbar pipes first, before anything can fail: Wireshark's UI waits for them (design §11).
    if (!options_.control_in.empty() || !options_.control_out.empty()) {
        control_ = std::make_unique<ControlPipes>(options_.control_in, options_.control_out, [this] {
            asio::post(io_, [this] { stop(0, "Wireshark closed the toolbar pipe; stopping", LogLevel::info); });
        });
        // Everything the capture logs shows in the toolbar's Log window too.
        log_.set_mirror([this](LogLevel, std::string_view text) { control_->log_line(std::string(text)); });
        if (spice_interface_) pacer_.emplace();
    }
    if (auto failed = start_output()) return fail(*failed);
    if (auto failed = subscribe()) return fail(*failed);

    signals_.async_wait([this](const asio::error_code& ec, int signal) {
        if (!ec) stop(0, std::string("stopping on ") + (signal == SIGINT ? "SIGINT" : "SIGTERM"), LogLevel::info);
    });
    tick_status();
    subscription_->start(*this);
    io_.run();

    if (spice_interface_ && writer_) spice_.close_all(now_ns(), sink_);
    if (pacer_ && writer_) {
        draining_ = true;
        pacer_->drain(unfiltered_);
    }
    if (writer_) (void)writer_->close();
    log_.message("capture ended: wrote " + std::to_string(frames_written_) + " frames; the daemon dropped " +
                 std::to_string(dropped_) + " records for this capture");
    return exit_code_;
}

std::optional<std::string> Capture::start_output() {
    // Wireshark waits for the FIFO to be opened and for the pcap header before anything else; once the
    // capture runs it opens the toolbar pipes.
    const int fifo = ::open(options_.fifo.c_str(), O_WRONLY | O_CLOEXEC | O_CREAT, 0600);
    if (fifo < 0) return "cannot open the capture output " + options_.fifo + ": " + std::strerror(errno);
    auto writer = PcapWriter::open_fd(fifo, link_type_,
                                      spice_interface_ ? kDefaultSnapLength : static_cast<int>(vsock::max_record_size));
    if (!writer) return writer.error();
    writer_ = std::move(*writer);

    auto filter = BpfFilter::compile(options_.capture_filter, link_type_);
    if (!filter) return "invalid capture filter '" + options_.capture_filter + "': " + filter.error();
    filter_ = std::move(*filter);
    return std::nullopt;
}

std::optional<std::string> Capture::subscribe() {
    SubscriptionRequest request;
    request.kind = spice_interface_ ? StreamKind::spice : StreamKind::usb_vsock;
    if (spice_interface_) request.channels = options_.channels;
    request.session = options_.session;
    request.history_seconds = options_.history_seconds;
    const auto socket = socket_path(options_.socket.empty() ? std::nullopt
                                                            : std::optional<std::string_view>(options_.socket));
    auto subscription = Subscription::open(io_, socket, request);
    if (!subscription) return subscription.error();
    subscription_ = std::move(*subscription);

    std::string what = spice_interface_ ? "SPICE" : "USB vsock";
    what += " from spicecapd at " + socket.string() + " (session ";
    what += options_.session ? std::to_string(*options_.session) : std::string("all");
    if (options_.history_seconds > 0) what += ", " + std::to_string(options_.history_seconds) + " s of history";
    if (!options_.capture_filter.empty()) what += ", capture filter '" + options_.capture_filter + "'";
    log_.message("capturing " + what + ")");
    return std::nullopt;
}

int Capture::fail(const std::string& why) {
    // One sentence on stderr (Wireshark shows it when the capture ends), then give Wireshark the time to open
    // its ends of the toolbar pipes: leaving before it did would block its UI.
    log_.error(why);
    if (control_) control_->wait_until_connected(kWaitForWireshark);
    if (writer_) (void)writer_->close();
    return 1;
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
    log_.info("spicecapd dropped " + std::to_string(notice.records) +
              " records for this capture (it could not keep up)");
}

void Capture::on_event(const nlohmann::json& event) {
    if (!spice_interface_ || !event.is_object()) return;
    if (event.value("event", "") == "channel_closed" && event.value("kind", "spice") == "spice") {
        spice_.channel_closed(event.value("session", 0u), event.value("channel_type", std::uint8_t{0}),
                              event.value("channel_id", std::uint8_t{0}), event.value("timestamp_ns", now_ns()), sink_);
    }
}

void Capture::on_idle() {
    // Nothing more is queued: this is the moment to show Wireshark what we have.
    if (!writer_ || stopped_) return;
    if (pacer_) {
        const auto pieces = pacer_->link_stage_pieces();
        pacer_->end_of_burst(LiveViewPacer::Clock::now(), unfiltered_);
        if (pacer_->link_stage_pieces() != pieces) log_pause();
        arm_pacer();
    }
    if (auto flushed = writer_->flush(); !flushed) {
        writer_failed_ = true;
        stop(0, "the capture reader went away (" + flushed.error() + "); stopping", LogLevel::info);
    }
}

void Capture::write_vsock(const Record& record) {
    const RecordHeader& h = record.header;
    vsock::TransferMeta meta;
    meta.direction = h.direction == Direction::host_to_device ? vsock::Direction::host_to_device
                                                              : vsock::Direction::device_to_host;
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

void Capture::spice_frame(std::uint64_t timestamp_ns, std::span<const std::uint8_t> frame, FrameRole role) {
    if (stopped_ || !writer_) return;
    // A frame the capture filter rejects is not written; the link-stage end it may mark still counts.
    if (!frame.empty() && !filter_->accepts_everything() && !filter_->matches(frame)) {
        if (role.kind != FrameRole::link_end) return;
        frame = {};
    }
    if (pacer_) {
        const auto pieces = pacer_->link_stage_pieces();
        pacer_->submit(timestamp_ns, frame, role, LiveViewPacer::Clock::now(), unfiltered_);
        if (pacer_->link_stage_pieces() != pieces) log_pause();
    } else if (!frame.empty()) {
        write_unfiltered(timestamp_ns, frame);
    }
}

void Capture::write_frame(std::uint64_t timestamp_ns, std::span<const std::uint8_t> frame) {
    if (stopped_ || !writer_) return;
    if (!filter_->accepts_everything() && !filter_->matches(frame)) return;
    write_unfiltered(timestamp_ns, frame);
}

void Capture::write_unfiltered(std::uint64_t timestamp_ns, std::span<const std::uint8_t> frame) {
    // After a stop, only the frames the pacer still holds are written (drain), unless the reader is gone.
    if (!writer_ || writer_failed_ || (stopped_ && !draining_)) return;
    if (auto written = writer_->write(timestamp_ns, frame); !written) {
        writer_failed_ = true;
        stop(0, "the capture reader went away (" + written.error() + "); stopping", LogLevel::info);
        return;
    }
    ++frames_written_;
}

void Capture::arm_pacer() {
    if (!pacer_) return;
    const auto due = pacer_->next_deadline();
    if (!due || (pacer_armed_for_ && *pacer_armed_for_ == *due)) return;
    pacer_armed_for_ = due;
    pacer_timer_.expires_at(*due);
    pacer_timer_.async_wait([this](const asio::error_code& ec) {
        if (ec || stopped_) return;
        pacer_armed_for_.reset();
        const auto pieces = pacer_->link_stage_pieces();
        pacer_->poll(LiveViewPacer::Clock::now(), unfiltered_);
        if (pacer_->link_stage_pieces() != pieces) log_pause();
        if (writer_ && !stopped_) {
            if (auto flushed = writer_->flush(); !flushed) {
                writer_failed_ = true;
                stop(0, "the capture reader went away (" + flushed.error() + "); stopping", LogLevel::info);
                return;
            }
        }
        arm_pacer();
    });
}

void Capture::log_pause() {
    log_.debug("wrote link stages (link results last); pausing output 1 s so that Wireshark's live packet list "
               "decodes them (docs/wireshark-live-redissection.md)");
}

std::string Capture::status_text() const {
    const auto records = spice_interface_ ? spice_.stats().records : vsock_records_;
    const auto bytes = spice_interface_ ? spice_.stats().bytes : vsock_bytes_;
    std::string text = std::to_string(records) + " records, " + byte_count(bytes) + ", " + std::to_string(dropped_) +
                       " dropped";
    if (options_.capture_filter.empty()) return text + " (no capture filter)";
    return text + "; " + std::to_string(frames_written_) + " frames pass the capture filter";
}

void Capture::tick_status() {
    if (control_) control_->status(status_text());
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
    pacer_timer_.cancel();
    io_.stop();
}

}  // namespace

int run_capture(const ExtcapOptions& options, Log& log) {
    Capture capture(options, log);
    return capture.run();
}

}  // namespace spicecap::extcap
