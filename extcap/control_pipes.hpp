// Wireshark's extcap control pipes (the interface toolbar): we read control-in only to notice when
// Wireshark goes away (EOF), and write status-bar messages to control-out.
//
// Opening a FIFO blocks until the other side opens it, and Wireshark opens its ends only once the
// capture runs, so the pipes live on a thread of their own: that is the one reason the extcap has a
// second thread.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace spicecap::extcap {

/// Control numbers declared in --extcap-interfaces.
inline constexpr int kLoggerControl = 0;

class ControlPipes {
public:
    /// Starts the pipe thread; `on_eof` is called (on that thread) when control-in reaches EOF.
    ControlPipes(std::string control_in, std::string control_out, std::function<void()> on_eof);
    ~ControlPipes();
    ControlPipes(const ControlPipes&) = delete;
    ControlPipes& operator=(const ControlPipes&) = delete;

    /// Shows `text` in Wireshark's status bar (dropped silently if control-out is not open yet).
    void status(const std::string& text);
    /// Adds a line to the toolbar's log window.
    void log_line(const std::string& text);

private:
    void run();
    void send(int control, int command, const std::string& payload);

    std::string in_path_;
    std::string out_path_;
    std::function<void()> on_eof_;
    std::atomic<int> out_fd_{-1};
    std::atomic<bool> stopping_{false};
    std::mutex write_mutex_;
    std::thread thread_;
};

}  // namespace spicecap::extcap
