// A stand-in for spicecapd in the producer library's tests: a real Unix stream socket that speaks the daemon's
// side of the producer protocol (docs/protocol.md §3, §6) and keeps what it received. It can pause reading
// (a stalled daemon), vanish with its connections (a killed daemon) and come back. Tests of the library with
// the real spicecapd are in producer_daemon_test.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "wire/frame.hpp"
#include "wire/record.hpp"
#include "temp_dir.hpp"

namespace spicecap::test {

/// A unique socket path in a fresh temporary folder (removed by the destructor).
class TempSocketPath {
public:
    TempSocketPath();
    const std::string& path() const { return path_; }

private:
    TempDir dir_{"spicecap-producer-test"};
    std::string path_;
};

/// One received RECORD (copied).
struct ReceivedRecord {
    RecordHeader header;
    std::vector<std::uint8_t> payload;
};

/// What one producer connection sent.
struct ReceivedConnection {
    /// The HELLO body.
    std::string hello;
    /// Frames (of any type) that arrived after the HELLO but before the listener sent its REPLY.
    std::uint64_t frames_before_reply = 0;
    /// Every frame after the HELLO in order: type and, for EVENT, the JSON; RECORDs are in `records` unless
    /// the listener only counts them.
    std::vector<std::pair<FrameType, std::string>> frames;
    std::vector<ReceivedRecord> records;
    /// RECORD frames and their payload bytes (also counted when not kept).
    std::uint64_t record_count = 0;
    std::uint64_t record_payload_bytes = 0;
    /// Set when the producer closed the connection or the stream broke a protocol rule.
    bool closed = false;
    std::string protocol_error;
};

class ProtocolListener {
public:
    struct Options {
        /// The REPLY body sent to every HELLO.
        std::string reply = R"({"ok":true,"session":7,"max_frame_bytes":16777216})";
        /// How long to wait after a HELLO before replying.
        std::chrono::milliseconds reply_delay{0};
        /// Keep every RECORD (false: only count them and pass them to `on_record`).
        bool keep_records = true;
        /// Called on the listener thread for every RECORD (e.g. to check order without keeping them).
        std::function<void(const Record&)> on_record;
    };

    ProtocolListener(std::string path, Options options);
    explicit ProtocolListener(std::string path) : ProtocolListener(std::move(path), Options{}) {}
    ~ProtocolListener();

    /// Stops / resumes reading from the connections (a stalled daemon: the producer's socket fills up).
    void pause_reading();
    void resume_reading();
    /// Like a killed daemon: closes every connection at once (unread bytes are lost), removes the socket
    /// file and stops accepting, until restart().
    void kill();
    /// Listens again at the same path (and reads, even if reading was paused before kill()).
    void restart();

    /// A copy of what every connection sent so far, oldest first.
    std::vector<ReceivedConnection> connections() const;
    /// RECORDs received over all connections.
    std::uint64_t total_records() const;
    std::uint64_t total_payload_bytes() const;
    /// Waits (up to `timeout`) until `done(connections)` is true.
    bool wait_until(const std::function<bool(const std::vector<ReceivedConnection>&)>& done,
                    std::chrono::milliseconds timeout) const;

private:
    struct Peer;
    void run();
    void listen_now();
    void command(int code);

    const std::string path_;
    Options options_;
    int listen_fd_ = -1;
    int wake_fd_ = -1;

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::vector<ReceivedConnection> received_;  // guarded by mutex_
    int pending_command_ = 0;                   // guarded by mutex_; 0 = none
    std::uint64_t commands_done_ = 0;           // guarded by mutex_
    std::atomic<bool> reading_{true};
    std::thread thread_;
};

}  // namespace spicecap::test
