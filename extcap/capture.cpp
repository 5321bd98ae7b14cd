// The capture loop: one io_context reading frames from the daemon, synthesizing pcap records, filtering
// them with BPF and writing them to the FIFO; flushed whenever the daemon has nothing more queued, so a
// record shows in Wireshark at once at low rates while high rates are written in large batches.
#include "capture.hpp"

#include <asio.hpp>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <set>
#include <tuple>

#include "control_pipes.hpp"
#include "spicecap/bpf_filter.hpp"
#include "spicecap/frame.hpp"
#include "spicecap/pcap_writer.hpp"
#include "spicecap/record.hpp"
#include "spicecap/socket_path.hpp"
#include "spicecap/spice_capture.hpp"
#include "spicecap/vsock_pcap.hpp"

namespace spicecap::extcap {
namespace {

using unix_socket = asio::local::stream_protocol::socket;

constexpr std::size_t kReadChunk = 256 * 1024;
constexpr auto kStatusInterval = std::chrono::seconds(1);
constexpr auto kHelloTimeout = std::chrono::seconds(5);

std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

class Capture {
public:
    Capture(const ExtcapOptions& options, Log& log)
        : options_(options),
          log_(log),
          spice_interface_(options.interface == kSpiceInterface),
          link_type_(spice_interface_ ? kLinkTypeEthernet : options.vsock_link_type),
          socket_(io_),
          signals_(io_, SIGINT, SIGTERM),
          status_timer_(io_),
          spice_(SpiceCaptureOptions{.server_port = options.server_port, .handshake = options.handshake}) {}

    int run();

private:
    std::optional<std::string> subscribe();
    void read_more();
    bool handle_frame(const FrameView& frame);
    void handle_vsock(const Record& record);
    void write_frame(std::uint64_t timestamp_ns, std::span<const std::uint8_t> frame);
    void tick_status();
    void stop(int exit_code, const std::string& why, LogLevel level);

    const ExtcapOptions& options_;
    Log& log_;
    const bool spice_interface_;
    const int link_type_;
    asio::io_context io_;
    unix_socket socket_;
    asio::signal_set signals_;
    asio::steady_timer status_timer_;
    FrameDecoder decoder_;
    std::optional<PcapWriter> writer_;
    std::optional<BpfFilter> filter_;
    SpiceCapture spice_;
    FrameSink sink_ = [this](std::uint64_t ts, std::span<const std::uint8_t> f) { write_frame(ts, f); };
    std::unique_ptr<ControlPipes> control_;
    std::set<std::tuple<std::uint32_t, std::uint8_t, std::uint8_t>> vsock_drops_pending_;
    std::uint64_t frames_written_ = 0;
    std::uint64_t frames_filtered_ = 0;
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

    if (auto failed = subscribe()) {
        log_.error(*failed);
        return 1;
    }

    if (!options_.control_in.empty() || !options_.control_out.empty()) {
        control_ = std::make_unique<ControlPipes>(options_.control_in, options_.control_out, [this] {
            asio::post(io_, [this] { stop(0, "Wireshark closed the control pipe; stopping", LogLevel::info); });
        });
    }
    signals_.async_wait([this](const asio::error_code& ec, int signal) {
        if (!ec) stop(0, std::string("stopping on ") + (signal == SIGINT ? "SIGINT" : "SIGTERM"), LogLevel::info);
    });
    tick_status();
    read_more();
    io_.run();

    if (spice_interface_ && writer_) spice_.close_all(now_ns(), sink_);
    if (writer_) (void)writer_->close();
    log_.info("captured " + std::to_string(frames_written_) + " frames, " + std::to_string(dropped_) +
              " records dropped by the daemon for this capture");
    return exit_code_;
}

std::optional<std::string> Capture::subscribe() {
    const auto choice = choose_socket_path(options_.socket.empty() ? std::nullopt
                                                                   : std::optional<std::string_view>(options_.socket));
    asio::error_code ec;
    socket_.connect(asio::local::stream_protocol::endpoint(choice.path.string()), ec);
    if (ec) {
        return "cannot reach spicecapd at " + choice.path.string() + " (" + ec.message() +
               "): start it with `spicecapd &` or `systemctl --user start spicecapd`, then start the capture again.";
    }
    nlohmann::json hello = {{"version", 1},
                            {"role", "subscriber"},
                            {"kind", spice_interface_ ? "spice" : "usbvsock"},
                            {"history_seconds", options_.history_seconds}};
    if (spice_interface_ && !options_.channels.empty()) {
        nlohmann::json names = nlohmann::json::array();
        for (auto type : options_.channels) names.push_back(std::string(*spice_channel_name(type)));
        hello["channels"] = names;
    }
    if (options_.session) hello["sessions"] = {*options_.session};
    ByteBuffer out;
    append_frame(out, FrameType::hello, hello.dump());
    asio::write(socket_, asio::buffer(out), ec);
    if (ec) return "cannot talk to spicecapd at " + choice.path.string() + ": " + ec.message();

    // The REPLY comes at once; a daemon that does not answer is not one we can use.
    const timeval timeout{static_cast<time_t>(kHelloTimeout.count()), 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    for (;;) {
        auto next = decoder_.next();
        if (!next) return "spicecapd sent something that is not the spicecap protocol: " + next.error().message;
        if (*next) {
            const FrameView& frame = **next;
            if (frame.type != FrameType::reply) return "spicecapd did not answer the subscription";
            const auto reply = nlohmann::json::parse(frame.text(), nullptr, false);
            if (!reply.is_object() || !reply.value("ok", false)) {
                const std::string why = reply.is_object() ? reply.value("error", "no reason given") : "bad reply";
                return "spicecapd refused the subscription: " + why;
            }
            log_.info("subscribed to spicecapd at " + choice.path.string());
            break;
        }
        auto space = decoder_.prepare(4096);
        const std::size_t n = socket_.read_some(asio::buffer(space.data(), space.size()), ec);
        if (ec) return "spicecapd closed the connection before answering (" + ec.message() + ")";
        decoder_.commit(n);
    }
    const timeval no_timeout{0, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &no_timeout, sizeof no_timeout);
    // Frames that arrived together with the REPLY are handled by the first read_more().
    return std::nullopt;
}

void Capture::read_more() {
    // Handle what is already buffered before asking the socket for more.
    for (;;) {
        auto next = decoder_.next();
        if (!next) {
            stop(1, "spicecapd sent an invalid frame: " + next.error().message, LogLevel::error);
            return;
        }
        if (!*next) break;
        if (!handle_frame(**next) || stopped_) return;
    }
    asio::error_code ec;
    if (socket_.available(ec) == 0 && writer_) {
        // Nothing more is queued: this is the moment to show Wireshark what we have.
        if (auto flushed = writer_->flush(); !flushed) {
            stop(0, "the capture reader went away (" + flushed.error() + "); stopping", LogLevel::info);
            return;
        }
    }
    auto space = decoder_.prepare(kReadChunk);
    socket_.async_read_some(asio::buffer(space.data(), space.size()), [this](const asio::error_code& error,
                                                                             std::size_t n) {
        if (stopped_) return;
        if (error) {
            stop(1,
                 error == asio::error::eof
                     ? "spicecapd closed the connection (was it stopped or restarted?); start the capture again"
                     : "lost the connection to spicecapd: " + error.message(),
                 LogLevel::error);
            return;
        }
        decoder_.commit(n);
        read_more();
    });
}

bool Capture::handle_frame(const FrameView& frame) {
    switch (frame.type) {
        case FrameType::record: {
            auto record = Record::parse(frame.body);
            if (!record) {
                stop(1, "spicecapd sent an invalid record: " + record.error().message, LogLevel::error);
                return false;
            }
            if (record->header.kind == StreamKind::spice) {
                if (spice_interface_) spice_.record(*record, sink_);
            } else if (!spice_interface_) {
                handle_vsock(*record);
            }
            return true;
        }
        case FrameType::drop: {
            auto notice = DropNotice::parse(frame.body);
            if (!notice) return true;
            dropped_ += notice->records;
            if (spice_interface_) {
                spice_.drop(*notice);
            } else {
                vsock_drops_pending_.insert({notice->where.session, notice->where.channel_id,
                                             static_cast<std::uint8_t>(notice->where.direction)});
            }
            log_.info("spicecapd dropped " + std::to_string(notice->records) +
                      " records for this capture (it could not keep up)");
            return true;
        }
        case FrameType::event: {
            const auto event = nlohmann::json::parse(frame.text(), nullptr, false);
            if (spice_interface_ && event.is_object() && event.value("event", "") == "channel_closed" &&
                event.value("kind", "spice") == "spice") {
                spice_.channel_closed(event.value("session", 0u), event.value("channel_type", std::uint8_t{0}),
                                      event.value("channel_id", std::uint8_t{0}), now_ns(), sink_);
            }
            return true;
        }
        default:
            log_.debug("ignoring a " + std::string(frame_type_name(frame.type)) + " frame");
            return true;
    }
}

void Capture::handle_vsock(const Record& record) {
    const RecordHeader& h = record.header;
    // Each session's links get their own link numbers: session index * 256 + the producer's link index.
    const std::uint32_t link = spice_.session_index(h.session) * 256u + h.channel_id;
    vsock::TransferMeta meta;
    meta.direction = h.direction == Direction::host_to_device ? vsock::Direction::host_to_device
                                                              : vsock::Direction::device_to_host;
    meta.link = link;
    meta.drops_before = vsock_drops_pending_.erase({h.session, h.channel_id, static_cast<std::uint8_t>(h.direction)}) > 0;
    for (const auto& part : vsock::split_transfer(meta, record.payload)) {
        const auto bytes = vsock::build_record(part);
        write_frame(h.timestamp_ns, bytes);
    }
    ++vsock_records_;
    vsock_bytes_ += record.payload.size();
}

void Capture::write_frame(std::uint64_t timestamp_ns, std::span<const std::uint8_t> frame) {
    if (stopped_ || !writer_) return;
    if (!filter_->accepts_everything() && !filter_->matches(frame)) {
        ++frames_filtered_;
        return;
    }
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
    asio::error_code ignored;
    socket_.close(ignored);
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
