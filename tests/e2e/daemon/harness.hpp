// Test harness for spicecapd end-to-end tests: the real daemon as a child process (its stderr in a file),
// a private temporary folder, and blocking protocol clients over real Unix sockets.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include "wire/frame.hpp"
#include "wire/record.hpp"

#include "temp_dir.hpp"

namespace spicecap::test {

using Bytes = std::vector<std::uint8_t>;


/// A spicecapd child process.
class DaemonProcess {
public:
    /// Starts spicecapd with `args` (and the environment changes in `env`, "NAME=value" or "NAME" to
    /// unset); stderr goes to `log_path`.
    DaemonProcess(std::vector<std::string> args, std::filesystem::path log_path, std::vector<std::string> env = {});
    ~DaemonProcess();
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    /// Starts spicecapd listening on `socket` and waits until it accepts connections.
    static std::unique_ptr<DaemonProcess> start(const std::filesystem::path& socket, std::vector<std::string> extra_args,
                                                const std::filesystem::path& log_path);

    pid_t pid() const noexcept { return pid_; }
    /// Waits until a connection to `socket` succeeds; false after `timeout`.
    static bool wait_connectable(const std::filesystem::path& socket, std::chrono::milliseconds timeout);
    /// Sends `signal` and waits for the exit; returns the exit status (128 + signal if killed).
    int stop(int signal);
    /// Waits for the process to exit on its own (up to `timeout`); nullopt if it is still running.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    /// The log so far.
    std::string log_text() const;
    /// Waits until the log contains `text`; false after `timeout`.
    bool wait_log(const std::string& text, std::chrono::milliseconds timeout) const;
    /// VmHWM (peak resident memory) and VmRSS of the process, in bytes.
    std::uint64_t peak_rss_bytes() const;
    std::uint64_t rss_bytes() const;

private:
    pid_t pid_ = -1;
    std::filesystem::path log_path_;
    std::optional<int> exit_status_;
};

/// A frame copied out of a decoder.
struct OwnedFrame {
    FrameType type;
    Bytes body;
    std::string text() const { return std::string(body.begin(), body.end()); }
    nlohmann::json json() const { return nlohmann::json::parse(text()); }
};

/// A blocking protocol client.
class Client {
public:
    /// Connects to `socket`; throws std::runtime_error on failure.
    explicit Client(const std::filesystem::path& socket);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    int fd() const noexcept { return fd_; }
    /// Writes all bytes (blocking); false if the daemon closed the connection.
    bool send(std::span<const std::uint8_t> bytes);
    bool send_frame(FrameType type, std::string_view body);
    bool send_json(FrameType type, const nlohmann::json& body) { return send_frame(type, body.dump()); }
    /// Reads the next frame within `timeout`. nullopt on timeout or end of stream (see eof()).
    std::optional<OwnedFrame> read_frame(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Hands frames (views, valid during the call) to `on_frame` until it returns false, the stream ends
    /// or `timeout` passes without data; no copy per frame. Returns false on end of stream or timeout.
    template <class OnFrame>
    bool read_frames(OnFrame&& on_frame, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        for (;;) {
            auto next = decoder_.next();
            if (!next) throw std::runtime_error("daemon sent an invalid stream: " + next.error().message);
            if (next.value()) {
                if (!on_frame(**next)) return true;
                continue;
            }
            if (eof_ || !fill(timeout)) return false;
        }
    }
    /// True once the daemon closed the connection.
    bool eof() const noexcept { return eof_; }
    /// Waits for the end of the stream, discarding frames; false on timeout.
    bool wait_eof(std::chrono::milliseconds timeout);
    /// Sends HELLO and returns the REPLY's JSON (throws if none arrives).
    nlohmann::json hello(const nlohmann::json& hello);
    /// Shuts down the writing side (the daemon then sees end of stream).
    void shutdown_write();

private:
    bool fill(std::chrono::milliseconds timeout);

    int fd_ = -1;
    bool eof_ = false;
    FrameDecoder decoder_;
};

/// A producer's HELLO.
nlohmann::json producer_hello(const std::string& name, const std::string& label);
/// A subscriber's HELLO.
nlohmann::json subscriber_hello(const std::string& kind = "spice", double history_seconds = 0,
                                nlohmann::json channels = nullptr, nlohmann::json sessions = nullptr);
/// Appends a RECORD frame (session 0, as a producer sends it).
void append_record(Bytes& out, StreamKind kind, Direction direction, std::uint8_t channel_type, std::uint8_t channel_id,
                   std::span<const std::uint8_t> payload, std::uint64_t timestamp_ns = 0);
/// Bytes of a string.
Bytes bytes_of(std::string_view text);

/// Runs `cmd` with /bin/sh, returns its exit status and stdout.
std::pair<int, std::string> run_command(const std::string& cmd);

}  // namespace spicecap::test
