// `--capture`: the extcap's front end over the shared capture pipeline (common/capture/). It owns what is
// Wireshark's: the toolbar's control pipes (opened before anything can fail: Wireshark's UI waits for them),
// the FIFO the pcap stream goes to, the signals Wireshark stops it with, and the toolbar's status and Log.
#include "capture.hpp"

#include <asio.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "base/byte_size_text.hpp"
#include "capture/capture_pipeline.hpp"
#include "control_pipes.hpp"
#include "remote/remote_capture.hpp"
#include "capture/stream_output.hpp"

namespace spicecap::extcap {
namespace {

constexpr auto kStatusInterval = std::chrono::seconds(1);
// How long a failed capture keeps the toolbar pipes open for Wireshark to open its ends (see ControlPipes).
constexpr auto kWaitForWireshark = std::chrono::seconds(5);

class Capture {
public:
    Capture(const ExtcapOptions& options, Log& log)
        : options_(options), log_(log), signals_(io_, SIGINT, SIGTERM), status_timer_(io_) {}
    ~Capture() { log_.set_mirror(nullptr); }

    int run();

private:
    std::optional<std::string> start_output();
    std::optional<std::string> subscribe();
    int fail(const std::string& why);
    std::string status_text() const;
    void tick_status();
    void stop(int exit_code, const std::string& why, LogLevel level);

    const ExtcapOptions& options_;
    Log& log_;
    asio::io_context io_;
    asio::signal_set signals_;
    asio::steady_timer status_timer_;
    std::unique_ptr<ControlPipes> control_;
    std::unique_ptr<capture::StreamOutput> output_;
    std::unique_ptr<capture::CapturePipeline> pipeline_;
    int exit_code_ = 0;
    bool stopped_ = false;
};

int Capture::run() {
    // The toolbar pipes first, before anything can fail: Wireshark's UI waits for them (design §11).
    if (!options_.control_in.empty() || !options_.control_out.empty()) {
        control_ = std::make_unique<ControlPipes>(options_.control_in, options_.control_out, [this] {
            asio::post(io_, [this] { stop(0, "Wireshark closed the toolbar pipe; stopping", LogLevel::info); });
        });
        // Everything the capture logs shows in the toolbar's Log window too.
        log_.set_mirror([this](LogLevel, std::string_view text) { control_->log_line(std::string(text)); });
    }
    if (auto failed = start_output()) return fail(*failed);
    if (auto failed = subscribe()) return fail(*failed);
    // Wireshark passes the toolbar pipes in its GUI only, whose live packet list re-dissects rows: only
    // there must link stages be paced (docs/wireshark-live-redissection.md). tshark gets frames at once.
    if (control_) pipeline_->pace_for_live_view();

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
            log_.info("spicecapd dropped " + std::to_string(notice.records) +
                      " records for this capture (it could not keep up)");
        });
    io_.run();

    (void)pipeline_->finish();
    const auto& counts = pipeline_->counts();
    (void)output_->close(counts);
    log_.message("capture ended: wrote " + std::to_string(counts.frames_written) + " frames; the daemon dropped " +
                 std::to_string(counts.dropped_records) + " records for this capture");
    return exit_code_;
}

std::optional<std::string> Capture::start_output() {
    // Wireshark waits for the FIFO to be opened and for the stream's header before anything else.
    const int fifo = ::open(options_.fifo.c_str(), O_WRONLY | O_CLOEXEC | O_CREAT, 0600);
    if (fifo < 0) return "cannot open the capture output " + options_.fifo + ": " + std::strerror(errno);
    auto output = capture::StreamOutput::open_fd(fifo, options_.capture);
    if (!output) return output.error();
    output_ = std::move(*output);
    return std::nullopt;
}

std::optional<std::string> Capture::subscribe() {
    const capture::CaptureOptions& capture = options_.capture;
    auto pipeline = capture::CapturePipeline::open(io_, capture, *output_);
    if (!pipeline) return pipeline.error();
    pipeline_ = std::move(*pipeline);

    std::string what = capture.kind == StreamKind::spice ? "SPICE" : "USB vsock";
    what += " from spicecapd at " + capture.socket_path().string() + " (session ";
    what += capture.session ? std::to_string(*capture.session) : std::string("all");
    if (capture.history_seconds > 0) what += ", " + std::to_string(capture.history_seconds) + " s of history";
    if (!capture.filter.empty()) what += ", capture filter '" + capture.filter + "'";
    log_.message("capturing " + what + ")");
    return std::nullopt;
}

int Capture::fail(const std::string& why) {
    // One sentence on stderr (Wireshark shows it when the capture ends), then give Wireshark the time to open
    // its ends of the toolbar pipes: leaving before it did would block its UI.
    log_.error(why);
    if (control_) control_->wait_until_connected(kWaitForWireshark);
    if (output_) (void)output_->close({});
    return 1;
}

std::string Capture::status_text() const {
    const auto& counts = pipeline_->counts();
    std::string text = std::to_string(counts.records) + " records, " + byte_size_text(counts.bytes) + ", " +
                       std::to_string(counts.dropped_records) + " dropped";
    if (options_.capture.filter.empty()) return text + " (no capture filter)";
    return text + "; " + std::to_string(counts.frames_written) + " frames pass the capture filter";
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
    pipeline_->stop();
    asio::error_code ignored;
    signals_.cancel(ignored);
    status_timer_.cancel();
    io_.stop();
}

}  // namespace

int run_capture(const ExtcapOptions& options, Log& log) {
    // With a Remote destination the capture runs there, and ssh relays its stream (remote/remote_capture.hpp).
    if (options.remote.enabled()) return run_remote_capture(options, log);
    Capture capture(options, log);
    return capture.run();
}

}  // namespace spicecap::extcap
