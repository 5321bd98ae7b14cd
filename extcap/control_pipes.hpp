// Wireshark's extcap control pipes (the interface toolbar): we read control-in to learn that Wireshark
// is there (its first message) and when it goes away (EOF), and write to control-out: lines for the
// toolbar's Log window and the text of the toolbar's status control.
//
// Wireshark's UI thread blocks opening its end of control-in until we open ours (a FIFO open waits for
// the other side), so control-in is opened in the constructor, without blocking, before anything that can
// fail: an extcap that exits without opening it freezes Wireshark (design §11). Opening control-out
// blocks until Wireshark's reader thread opens it, so that happens on a thread of its own: the one reason
// the extcap has a second thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace spicecap::extcap {

/// Control numbers declared in --extcap-interfaces (the toolbar shows them in this order, so the status
/// text, whose width changes, comes first and the Log button stays at the right end).
inline constexpr int kStatusControl = 0;
inline constexpr int kLoggerControl = 1;

class ControlPipes {
public:
    /// Opens control-in now and starts the pipe thread; `on_eof` is called (on that thread) when control-in
    /// reaches EOF after Wireshark had opened it.
    ControlPipes(std::string control_in, std::string control_out, std::function<void()> on_eof);
    ~ControlPipes();
    ControlPipes(const ControlPipes&) = delete;
    ControlPipes& operator=(const ControlPipes&) = delete;

    /// Shows `text` on the toolbar's status control (the latest text is sent once control-out opens).
    void status(const std::string& text);
    /// Adds a line to the toolbar's Log window (kept, within a bound, until control-out opens).
    void log_line(const std::string& text);
    /// Waits up to `timeout` until Wireshark has opened both pipes. An extcap that fails calls this before
    /// it exits: Wireshark opens its ends only once the capture started, and waits for ours forever.
    bool wait_until_connected(std::chrono::milliseconds timeout);

private:
    void run();
    void write_message(int control, int command, const std::string& payload);

    std::string in_path_;
    std::string out_path_;
    std::function<void()> on_eof_;
    int in_fd_ = -1;
    int out_fd_ = -1;  // guarded by mutex_
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::condition_variable changed_;
    bool wireshark_wrote_ = false;  // guarded by mutex_
    std::string pending_log_;       // guarded by mutex_: lines before control-out opened
    std::string pending_status_;    // guarded by mutex_
    std::thread thread_;
};

}  // namespace spicecap::extcap
