// `--capture`: the extcap's front end over the shared capture pipeline (common/capture/). It owns what is
// Wireshark's: the FIFO the pcap stream goes to, the toolbar's control pipes, the signals Wireshark stops
// it with, and the status line.
#include "capture.hpp"

#include <asio.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include "capture/capture_pipeline.hpp"
#include "control_pipes.hpp"
#include "pcap/pcap_writer.hpp"

namespace spicecap::extcap {
namespace {

constexpr auto kStatusInterval = std::chrono::seconds(1);

/// The FIFO Wireshark reads: one pcap stream, whatever stream a frame belongs to.
class FifoOutput final : public capture::FrameOutput {
public:
    explicit FifoOutput(PcapWriter writer) : writer_(std::move(writer)) {}

    Expected<Ok, std::string> write(const capture::FrameStream&, std::uint64_t timestamp_ns,
                                    std::span<const std::uint8_t> frame) override {
        return writer_.write(timestamp_ns, frame);
    }
    Expected<Ok, std::string> flush() override { return writer_.flush(); }
    Expected<Ok, std::string> close() { return writer_.close(); }

private:
    PcapWriter writer_;
};

class Capture {
public:
    Capture(const ExtcapOptions& options, Log& log)
        : options_(options), log_(log), signals_(io_, SIGINT, SIGTERM), status_timer_(io_) {}

    int run();

private:
    void tick_status();
    void stop(int exit_code, const std::string& why, LogLevel level);

    const ExtcapOptions& options_;
    Log& log_;
    asio::io_context io_;
    asio::signal_set signals_;
    asio::steady_timer status_timer_;
    std::optional<FifoOutput> output_;
    std::unique_ptr<capture::CapturePipeline> pipeline_;
    std::unique_ptr<ControlPipes> control_;
    int exit_code_ = 0;
    bool stopped_ = false;
};

int Capture::run() {
    const capture::CaptureOptions& capture = options_.capture;
    // Wireshark waits for the FIFO to be opened and for the pcap header before anything else.
    const int fifo = ::open(options_.fifo.c_str(), O_WRONLY | O_CLOEXEC | O_CREAT, 0600);
    if (fifo < 0) {
        log_.error("cannot open the capture output " + options_.fifo + ": " + std::strerror(errno));
        return 1;
    }
    auto writer = PcapWriter::open_fd(fifo, capture.pcap_link_type(),
                                      capture.kind == StreamKind::spice ? kDefaultSnapLength
                                                                        : static_cast<int>(vsock::max_record_size));
    if (!writer) {
        log_.error(writer.error());
        return 1;
    }
    output_.emplace(std::move(*writer));

    auto pipeline = capture::CapturePipeline::open(io_, capture, *output_);
    if (!pipeline) {
        log_.error(pipeline.error());
        return 1;
    }
    pipeline_ = std::move(*pipeline);
    log_.info("subscribed to spicecapd at " + capture.socket_path().string());

    if (!options_.control_in.empty() || !options_.control_out.empty()) {
        control_ = std::make_unique<ControlPipes>(options_.control_in, options_.control_out, [this] {
            asio::post(io_, [this] { stop(0, "Wireshark closed the control pipe; stopping", LogLevel::info); });
        });
    }
    signals_.async_wait([this](const asio::error_code& ec, int signal) {
        if (!ec) stop(0, std::string("stopping on ") + (signal == SIGINT ? "SIGINT" : "SIGTERM"), LogLevel::info);
    });
    tick_status();
    pipeline_->start(
        [this](capture::CaptureEnd end, const std::string& why) {
            if (end == capture::CaptureEnd::output) {
                stop(0, "the capture reader went away (" + why + "); stopping", LogLevel::info);
            } else {
                stop(1, why + "; start the capture again", LogLevel::error);
            }
        },
        [this](const DropNotice& notice) {
            const std::string text = "spicecapd dropped " + std::to_string(notice.records) +
                                     " records for this capture (it could not keep up)";
            log_.info(text);
            if (control_) control_->log_line(text);
        });
    io_.run();

    (void)pipeline_->finish();
    (void)output_->close();
    const auto& counts = pipeline_->counts();
    log_.info("wrote " + std::to_string(counts.frames_written) + " frames; the daemon dropped " +
              std::to_string(counts.dropped_records) + " records for this capture");
    return exit_code_;
}

void Capture::tick_status() {
    if (control_) {
        const auto& counts = pipeline_->counts();
        control_->status("spicecap: " + std::to_string(counts.records) + " records, " + std::to_string(counts.bytes) +
                         " bytes, " + std::to_string(counts.dropped_records) + " dropped");
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
    pipeline_->stop();
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
