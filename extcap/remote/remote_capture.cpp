// A capture on another host, relayed through ssh (see remote_capture.hpp).
#include "remote_capture.hpp"

#include <asio.hpp>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/byte_size_text.hpp"
#include "control_pipes.hpp"
#include "ssh_command.hpp"
#include "ssh_process.hpp"

namespace spicecap::extcap {
namespace {

constexpr auto kStatusInterval = std::chrono::seconds(1);
// How long a failed capture keeps the toolbar pipes open for Wireshark to open its ends (see ControlPipes).
constexpr auto kWaitForWireshark = std::chrono::seconds(5);
// After ssh's standard input is closed, how long the remote spicecap has to end by itself before ssh gets
// SIGTERM, and then SIGKILL: within the second a stop may take.
constexpr auto kPoliteStop = std::chrono::milliseconds(700);
constexpr auto kTerminateStop = std::chrono::milliseconds(250);
// ssh's stderr kept for the failure sentence: ssh's and spicecap's sentences are short.
constexpr std::size_t kStderrLimit = 16 * 1024;

// A capture stream begins with one of these: pcap (microsecond or nanosecond, either byte order) or a pcapng
// section header block.
constexpr std::size_t kMagicSize = 4;

bool begins_capture(const std::vector<std::uint8_t>& start) {
    static constexpr std::array<std::array<std::uint8_t, kMagicSize>, 5> kMagics{{
        {0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4}, {0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d},
        {0x0a, 0x0d, 0x0d, 0x0a},
    }};
    if (start.size() < kMagicSize) return false;
    for (const auto& magic : kMagics) {
        if (std::equal(magic.begin(), magic.end(), start.begin())) return true;
    }
    return false;
}

/// The first line of what came instead of a capture, printable, at most 60 characters.
std::string printable_start(const std::vector<std::uint8_t>& start) {
    std::string text;
    for (std::uint8_t c : start) {
        if (c == '\n' || text.size() >= 60) break;
        text += (c >= 0x20 && c < 0x7f && c != '\'') ? static_cast<char>(c) : '.';
    }
    return text;
}

class RemoteCapture {
public:
    RemoteCapture(const ExtcapOptions& options, Log& log)
        : options_(options),
          log_(log),
          signals_(io_, SIGINT, SIGTERM),
          status_timer_(io_),
          stop_timer_(io_),
          fifo_(io_),
          ssh_stdout_(io_),
          ssh_stderr_(io_) {}
    ~RemoteCapture() { log_.set_mirror(nullptr); }

    int run();

private:
    std::optional<std::string> start();
    int fail(const std::string& why);
    void relay();
    void read_stderr();
    void watch_fifo();
    void tick_status();
    /// Ends the capture from this side (`why` logged at info level).
    void stop(const std::string& why);
    /// ssh's standard output ended: ssh is exiting (stopped, or failed, or the remote stream ended).
    void ssh_output_ended();

    const ExtcapOptions& options_;
    Log& log_;
    asio::io_context io_;
    /// After io_: destroyed first, it stops its thread before io_ goes (its EOF callback posts to io_).
    std::unique_ptr<ControlPipes> control_;
    asio::signal_set signals_;
    asio::steady_timer status_timer_;
    asio::steady_timer stop_timer_;
    asio::posix::stream_descriptor fifo_;
    asio::posix::stream_descriptor ssh_stdout_;
    asio::posix::stream_descriptor ssh_stderr_;
    std::optional<SshProcess> ssh_;
    std::array<std::uint8_t, 256 * 1024> buffer_{};
    std::array<char, 4096> stderr_buffer_{};
    std::string stderr_text_;
    std::uint64_t bytes_relayed_ = 0;
    /// The first bytes from ssh, held until they show a capture's magic number.
    std::vector<std::uint8_t> stream_start_;
    bool stream_checked_ = false;
    /// Why the capture failed on this side (the stream was no capture), if it did.
    std::string failure_;
    /// The capture is being stopped from this side: how ssh ends is then no error.
    bool stopping_ = false;
    /// Wireshark's end of the FIFO is gone: what still comes from ssh is dropped.
    bool fifo_gone_ = false;
};

int RemoteCapture::run() {
    // Wireshark closing the FIFO must fail a write (EPIPE), not kill the extcap (ssh gets SIGPIPE back as
    // default: ssh_process.cpp).
    std::signal(SIGPIPE, SIG_IGN);
    // The toolbar pipes first, before anything can fail: Wireshark's UI waits for them (design §11).
    if (!options_.control_in.empty() || !options_.control_out.empty()) {
        control_ = std::make_unique<ControlPipes>(options_.control_in, options_.control_out, [this] {
            asio::post(io_, [this] { stop("Wireshark closed the toolbar pipe; stopping"); });
        });
        log_.set_mirror([this](LogLevel, std::string_view text) { control_->log_line(std::string(text)); });
    }
    if (auto failed = start()) return fail(*failed);
    signals_.async_wait([this](const asio::error_code& ec, int signal) {
        if (!ec) stop(std::string("stopping on ") + (signal == SIGINT ? "SIGINT" : "SIGTERM"));
    });
    relay();
    read_stderr();
    watch_fifo();
    tick_status();
    io_.run();

    SshOutcome outcome = ssh_->wait_for(std::chrono::milliseconds(0)).value_or(SshOutcome{});
    outcome.stderr_text = std::move(stderr_text_);
    outcome.had_output = bytes_relayed_ > 0;
    asio::error_code ignored;
    fifo_.close(ignored);
    if (!failure_.empty()) return fail(failure_);
    if (!stopping_) return fail(explain_ssh_outcome(options_.remote, outcome));
    log_.message("capture ended: relayed " + byte_size_text(bytes_relayed_) + " from " + options_.remote.destination);
    return 0;
}

std::optional<std::string> RemoteCapture::start() {
    // Wireshark waits for the FIFO to be opened; what goes into it comes from the remote spicecap.
    const int fifo = ::open(options_.fifo.c_str(), O_WRONLY | O_CLOEXEC | O_CREAT, 0600);
    if (fifo < 0) return "cannot open the capture output " + options_.fifo + ": " + std::strerror(errno);
    fifo_.assign(fifo);

    // Wireshark passes the toolbar pipes in its GUI only, whose live packet list needs paced link stages
    // (docs/wireshark-live-redissection.md): the remote stream paces them there.
    const auto arguments = remote_stream_arguments(options_.capture, options_.remote, control_ != nullptr);
    const std::string command = remote_spicecap_command(options_.remote, "stream", arguments);
    auto argv = ssh_command_line(options_.remote, command);
    if (!argv) return argv.error();
    auto ssh = SshProcess::start(*argv);
    if (!ssh) return ssh.error();
    ssh_.emplace(std::move(*ssh));
    ssh_stdout_.assign(ssh_->take_stdout());
    ssh_stderr_.assign(ssh_->take_stderr());
    log_.message("capturing " + std::string(options_.capture.kind == StreamKind::spice ? "SPICE" : "USB vsock") +
                 " on " + options_.remote.destination + " over ssh: " + command);
    return std::nullopt;
}

int RemoteCapture::fail(const std::string& why) {
    // One sentence on stderr, then give Wireshark the time to open its ends of the toolbar pipes: leaving
    // before it did would block its UI.
    log_.error(why);
    if (control_) control_->wait_until_connected(kWaitForWireshark);
    return 1;
}

void RemoteCapture::relay() {
    ssh_stdout_.async_read_some(asio::buffer(buffer_), [this](const asio::error_code& ec, std::size_t n) {
        if (ec) {
            ssh_output_ended();
            return;
        }
        bytes_relayed_ += n;
        std::span<const std::uint8_t> bytes(buffer_.data(), n);
        if (!stream_checked_) {
            // The first bytes must begin a capture: anything else is text a shell startup file printed
            // there, which would reach Wireshark as an unreadable file.
            stream_start_.insert(stream_start_.end(), bytes.begin(), bytes.end());
            if (stream_start_.size() < kMagicSize && !fifo_gone_) {
                relay();
                return;
            }
            stream_checked_ = true;
            if (!begins_capture(stream_start_)) {
                failure_ = "the login on " + options_.remote.destination + " printed text before the capture ('" +
                           printable_start(stream_start_) + "'): a shell startup file there (such as ~/.bashrc) writes "
                           "to standard output in non-interactive sessions; make it quiet";
                fifo_gone_ = true;  // nothing of it goes to Wireshark
                stop("the remote stream is not a capture; stopping");
            }
            bytes = stream_start_;
        }
        if (fifo_gone_) {
            relay();  // keep ssh from blocking while it ends
            return;
        }
        asio::async_write(fifo_, asio::buffer(bytes.data(), bytes.size()), [this](const asio::error_code& write_ec, std::size_t) {
            stream_start_.clear();
            if (write_ec) {
                fifo_gone_ = true;
                stop("the capture reader went away (" + write_ec.message() + "); stopping");
            }
            relay();
        });
    });
}

void RemoteCapture::read_stderr() {
    ssh_stderr_.async_read_some(asio::buffer(stderr_buffer_), [this](const asio::error_code& ec, std::size_t n) {
        if (ec) return;  // EOF: ssh (or whoever inherited its stderr) closed it
        if (stderr_text_.size() < kStderrLimit) stderr_text_.append(stderr_buffer_.data(), n);
        read_stderr();
    });
}

void RemoteCapture::watch_fifo() {
    // Wireshark closing its end shows as an error condition on ours, even while nothing is written.
    fifo_.async_wait(asio::posix::stream_descriptor::wait_error, [this](const asio::error_code& ec) {
        if (ec || stopping_) return;
        fifo_gone_ = true;
        stop("the capture reader went away; stopping");
    });
}

void RemoteCapture::tick_status() {
    if (control_) control_->status(options_.remote.destination + ": " + byte_size_text(bytes_relayed_) + " received");
    status_timer_.expires_after(kStatusInterval);
    status_timer_.async_wait([this](const asio::error_code& ec) {
        if (!ec) tick_status();
    });
}

void RemoteCapture::stop(const std::string& why) {
    if (stopping_) return;
    stopping_ = true;
    log_.info(why);
    asio::error_code ignored;
    signals_.cancel(ignored);
    // EOF on the remote spicecap's standard input: it ends, and ssh with it.
    ssh_->close_stdin();
    stop_timer_.expires_after(kPoliteStop);
    stop_timer_.async_wait([this](const asio::error_code& ec) {
        if (ec) return;
        log_.info("ssh still runs " + std::to_string(kPoliteStop.count()) + " ms after its input closed; ending it");
        ssh_->signal(SIGTERM);
        stop_timer_.expires_after(kTerminateStop);
        stop_timer_.async_wait([this](const asio::error_code& ec2) {
            if (!ec2) ssh_->signal(SIGKILL);
        });
    });
}

void RemoteCapture::ssh_output_ended() {
    // ssh closes its standard output as it exits; give it a moment to be reaped, then read what it said.
    if (!ssh_->wait_for(std::chrono::milliseconds(2000))) {
        ssh_->signal(SIGKILL);
        (void)ssh_->wait_for(std::chrono::milliseconds(500));
    }
    // What is still in the stderr pipe (ssh wrote it before exiting).
    if (ssh_stderr_.is_open()) {
        asio::error_code ec;
        ssh_stderr_.non_blocking(true, ec);
        for (std::size_t n; !ec && stderr_text_.size() < kStderrLimit;) {
            n = ssh_stderr_.read_some(asio::buffer(stderr_buffer_), ec);
            if (!ec) stderr_text_.append(stderr_buffer_.data(), n);
        }
    }
    asio::error_code ignored;
    status_timer_.cancel();
    stop_timer_.cancel();
    signals_.cancel(ignored);
    io_.stop();
}

}  // namespace

int run_remote_capture(const ExtcapOptions& options, Log& log) {
    RemoteCapture capture(options, log);
    return capture.run();
}

}  // namespace spicecap::extcap
