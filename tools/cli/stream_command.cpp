// `spicecap stream`: one live capture as one stream on standard output, for a program that reads it: the
// extcap's Remote options and Wireshark's sshdump run it on the remote host over SSH, and locally it pipes
// into `tshark -r -` or `wireshark -k -i -`. A front end over the shared capture pipeline
// (common/capture/): the same frames, filter and output as the extcap's --capture.
//
// It ends by itself when whoever reads it is gone, within a second: a write that fails with EPIPE, an
// error condition on standard output while idle (nothing is written then, so no write would fail), or EOF
// on standard input when that is a pipe or socket (over SSH: the session's other end closing it).
#include <asio.hpp>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "capture/capture_pipeline.hpp"
#include "capture/stream_output.hpp"
#include "cli/argument_reader.hpp"
#include "cli/capture_arguments.hpp"
#include "cli/commands.hpp"

namespace spicecap::cli {
namespace {

struct StreamOptions {
    capture::CaptureOptions capture;
    /// --live-view: pace SPICE link stages for Wireshark's live packet list (docs/wireshark-live-redissection.md).
    bool live_view = false;
};

std::string usage() {
    return "usage: spicecap stream [--interface spice|usbvsock] [options] | PROGRAM\n\n"
           "Writes a live capture from spicecapd to standard output as one stream, the one the extcap writes into\n"
           "Wireshark's FIFO: `spicecap stream | tshark -r -`, `spicecap stream | wireshark -k -i -`, or over SSH\n"
           "from the extcap's Remote options or Wireshark's sshdump (docs/remote.md). It runs until its reader goes\n"
           "away (a closed pipe, or EOF on standard input when that is a pipe or socket) or SIGTERM, SIGHUP or\n"
           "SIGINT, and says nothing on stderr but errors.\n\n"
           "  --interface NAME      spice (SPICE in synthesized Ethernet/IPv4/TCP) or usbvsock; default spice\n" +
           capture::capture_options_usage(std::nullopt, capture::OptionSyntax::command) +
           "  --live-view           pace SPICE link stages for Wireshark's live packet list (the GUI; not for\n"
           "                        tshark or files)\n";
}

// Parses the arguments; returns the exit code to leave with instead of options when done or wrong.
std::variant<StreamOptions, int> parse(int argc, char** argv) {
    StreamOptions o;
    ArgumentReader args(argc, argv);
    while (args.next()) {
        if (const auto done = args.help_or_version(usage())) return *done;
        switch (read_capture_argument(args, o.capture)) {
            case CaptureArgument::taken: continue;
            case CaptureArgument::failed: return 2;
            case CaptureArgument::not_a_capture_option: break;
        }
        const std::string_view arg = args.arg();
        if (arg == "--interface") {
            const auto name = args.value();
            const auto kind = name ? stream_kind_from_name(*name) : std::nullopt;
            if (!kind) return args.fail("--interface takes spice or usbvsock");
            o.capture.kind = *kind;
        } else if (arg == "--live-view") {
            o.live_view = true;
        } else {
            return args.fail("unknown argument '" + std::string(arg) + "'");
        }
    }
    return o;
}

/// True when `fd` is a pipe or a socket: the kinds of standard input whose EOF means the other side left.
bool is_pipe_or_socket(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

/// How often the watch looks whether the reader is gone: well within the second a stop may take.
constexpr auto kReaderCheckInterval = std::chrono::milliseconds(200);

class Stream {
public:
    explicit Stream(const StreamOptions& options)
        : options_(options), signals_(io_, SIGINT, SIGTERM, SIGHUP), reader_check_(io_) {}

    int run();

private:
    void watch_reader();
    bool reader_gone();
    void stop(int exit_code, const std::string& error = {});

    const StreamOptions& options_;
    asio::io_context io_;
    asio::signal_set signals_;
    asio::steady_timer reader_check_;
    /// Standard input is a pipe or socket: its EOF ends the stream.
    bool watch_stdin_ = false;
    std::unique_ptr<capture::StreamOutput> output_;
    std::unique_ptr<capture::CapturePipeline> pipeline_;
    int exit_code_ = 0;
    bool stopped_ = false;
};

int Stream::run() {
    if (::isatty(STDOUT_FILENO)) {
        std::fputs("spicecap stream: standard output is a terminal; pipe it into a program (spicecap stream | tshark -r -) "
                   "or redirect it to a file\n",
                   stderr);
        return 2;
    }
    auto output = capture::StreamOutput::open_fd(STDOUT_FILENO, options_.capture);
    if (!output) {
        std::fprintf(stderr, "spicecap stream: %s\n", output.error().c_str());
        return 1;
    }
    output_ = std::move(*output);
    auto pipeline = capture::CapturePipeline::open(io_, options_.capture, *output_);
    if (!pipeline) {
        std::fprintf(stderr, "spicecap stream: %s\n", pipeline.error().c_str());
        (void)output_->close({});
        return 1;
    }
    pipeline_ = std::move(*pipeline);
    if (options_.live_view) pipeline_->pace_for_live_view();

    signals_.async_wait([this](const asio::error_code& ec, int) {
        if (!ec) stop(0);
    });
    watch_stdin_ = is_pipe_or_socket(STDIN_FILENO);
    watch_reader();
    pipeline_->start([this](capture::CaptureEnd end, const std::string& why) {
        // The reader going away is how a stream normally ends, not an error.
        if (end == capture::CaptureEnd::output) stop(0);
        else stop(1, why + "; start the capture again");
    });
    io_.run();

    (void)pipeline_->finish();
    (void)output_->close(pipeline_->counts());
    return exit_code_;
}

void Stream::watch_reader() {
    // poll() on a timer rather than asio waits on the descriptors: asio makes a descriptor it waits on
    // non-blocking, and that flag belongs to the open file, shared with standard output's writer (the same
    // socket when standard input and output are one, as under inetd or some sshd builds).
    reader_check_.expires_after(kReaderCheckInterval);
    reader_check_.async_wait([this](const asio::error_code& ec) {
        if (ec || stopped_) return;
        if (reader_gone()) stop(0);
        else watch_reader();
    });
}

bool Stream::reader_gone() {
    pollfd fds[2] = {{STDOUT_FILENO, 0, 0}, {watch_stdin_ ? STDIN_FILENO : -1, POLLIN, 0}};
    if (::poll(fds, 2, 0) <= 0) return false;
    // A pipe whose reader closed reports POLLERR, a socket whose peer left POLLHUP (a regular file neither).
    if (fds[0].revents & (POLLERR | POLLHUP)) return true;
    if (fds[1].revents != 0) {
        // What arrives on standard input is read and dropped; its end means the other side left.
        std::array<char, 4096> discarded;
        const ssize_t n = ::read(STDIN_FILENO, discarded.data(), discarded.size());
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return true;
    }
    return false;
}

void Stream::stop(int exit_code, const std::string& error) {
    if (stopped_) return;
    stopped_ = true;
    exit_code_ = exit_code;
    if (!error.empty()) std::fprintf(stderr, "spicecap stream: %s\n", error.c_str());
    pipeline_->stop();
    asio::error_code ignored;
    signals_.cancel(ignored);
    reader_check_.cancel();
    io_.stop();
}

}  // namespace

int stream_command(int argc, char** argv) {
    auto parsed = parse(argc, argv);
    if (auto* code = std::get_if<int>(&parsed)) return *code;
    Stream stream(std::get<StreamOptions>(parsed));
    return stream.run();
}

}  // namespace spicecap::cli
