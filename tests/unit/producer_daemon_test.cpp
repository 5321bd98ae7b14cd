// spicecap::Producer with the real spicecapd (a child process): what a subscriber receives, what the
// daemon's status counts, a daemon started after the producer, and a daemon killed with SIGKILL while 8
// threads report. The same accounting as with the test listener must hold: accepted = delivered + dropped
// exactly, and the daemon counted exactly what was delivered.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eventually.hpp"
#include "producer_listener.hpp"
#include "producer_load.hpp"
#include "wire/frame.hpp"
#include "spicecap/producer.hpp"
#include "wire/record.hpp"

using namespace spicecap;
using namespace std::chrono_literals;
using test::eventually;
using test::TempSocketPath;

namespace {

constexpr int kThreads = test::kLoadThreads;
constexpr int kCallsPerThread = test::kLoadCallsPerThread;


int connect_unix(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

void send_frame(int fd, FrameType type, const std::string& json) {
    ByteBuffer frame;
    append_frame(frame, type, json);
    REQUIRE(::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(frame.size()));
}

// Reads one frame (blocking); nullopt at EOF or on an invalid stream. (No doctest assertions: it also
// runs on the subscriber's thread.)
std::optional<std::pair<FrameType, std::vector<std::uint8_t>>> read_frame(int fd, FrameDecoder& decoder) {
    while (true) {
        auto frame = decoder.next();
        if (!frame.has_value()) return std::nullopt;
        if (frame->has_value()) return std::pair{(*frame)->type, std::vector<std::uint8_t>((*frame)->body.begin(), (*frame)->body.end())};
        auto space = decoder.prepare(64 * 1024);
        const ssize_t n = ::recv(fd, space.data(), space.size(), 0);
        if (n <= 0) return std::nullopt;
        decoder.commit(static_cast<std::size_t>(n));
    }
}

nlohmann::json parse_json(const std::vector<std::uint8_t>& body) { return nlohmann::json::parse(body.begin(), body.end()); }

// spicecapd as a child process with its own socket.
class Spicecapd {
public:
    explicit Spicecapd(std::string socket) : socket_(std::move(socket)), log_(socket_ + ".log") { start(); }
    ~Spicecapd() { terminate(); }

    void start() {
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            const int log = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
            ::dup2(log, STDOUT_FILENO);
            ::dup2(log, STDERR_FILENO);
            const std::string daemon = SPICECAP_BINARY_DIR "/daemon/spicecapd";
            ::execl(daemon.c_str(), daemon.c_str(), "--socket", socket_.c_str(), "--verbose", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        // Ready once it accepts connections.
        REQUIRE(eventually([&] {
            const int fd = connect_unix(socket_);
            if (fd >= 0) ::close(fd);
            return fd >= 0;
        }));
    }
    void kill_hard() { stop(SIGKILL); }
    void terminate() { stop(SIGTERM); }

    // The daemon's status (docs/protocol.md §9).
    nlohmann::json status() const {
        const int fd = connect_unix(socket_);
        REQUIRE(fd >= 0);
        FrameDecoder decoder;
        send_frame(fd, FrameType::hello, R"({"version":1,"role":"control"})");
        auto reply = read_frame(fd, decoder);
        REQUIRE(reply);
        send_frame(fd, FrameType::request, R"({"command":"status"})");
        reply = read_frame(fd, decoder);
        ::close(fd);
        REQUIRE(reply);
        return parse_json(reply->second)["status"];
    }
    // The status of the one session with this id.
    nlohmann::json session(std::uint32_t id) const {
        const nlohmann::json all = status();
        for (const auto& s : all["sessions"]) {
            if (s["id"] == id) return s;
        }
        return nullptr;
    }
    std::string log() const {
        std::ifstream in(log_);
        return {std::istreambuf_iterator<char>(in), {}};
    }

private:
    void stop(int signal) {
        if (pid_ <= 0) return;
        ::kill(pid_, signal);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

    std::string socket_;
    std::string log_;
    pid_t pid_ = -1;
};

// A subscriber on a raw socket, reading on its own thread: counts records (checking per-thread order from
// the payload written by Message below), DROP totals and events.
class CountingSubscriber {
public:
    explicit CountingSubscriber(const std::string& socket) {
        fd_ = connect_unix(socket);
        REQUIRE(fd_ >= 0);
        send_frame(fd_, FrameType::hello, R"({"version":1,"role":"subscriber","kind":"spice"})");
        auto reply = read_frame(fd_, decoder_);
        REQUIRE(reply);
        REQUIRE(parse_json(reply->second)["ok"] == true);
        last_.fill(-1);
        thread_ = std::thread([this] { run(); });
    }
    ~CountingSubscriber() {
        ::shutdown(fd_, SHUT_RDWR);
        thread_.join();
        ::close(fd_);
    }
    std::uint64_t records() const { return records_; }
    std::uint64_t dropped() const { return dropped_; }
    /// Records out of order per thread, or invalid RECORD/DROP bodies.
    std::uint64_t order_violations() const { return violations_; }
    std::vector<test::ReceivedRecord> kept_records() const {
        std::lock_guard lock(mutex_);
        return kept_;
    }
    std::vector<nlohmann::json> events() const {
        std::lock_guard lock(mutex_);
        return events_;
    }
    // Keep the first N records whole (header and payload), for tests that look at them.
    static constexpr std::size_t kKeep = 64;

private:
    void run() {
        while (auto frame = read_frame(fd_, decoder_)) {
            if (frame->first == FrameType::record) {
                auto record = Record::parse(frame->second);
                if (!record) {
                    ++violations_;
                    continue;
                }
                check_order(*record);
                std::lock_guard lock(mutex_);
                if (kept_.size() < kKeep) kept_.push_back({record->header, {record->payload.begin(), record->payload.end()}});
                ++records_;
            } else if (frame->first == FrameType::drop) {
                auto notice = DropNotice::parse(frame->second);
                if (!notice) {
                    ++violations_;
                    continue;
                }
                dropped_ += notice->records;
            } else if (frame->first == FrameType::event) {
                std::lock_guard lock(mutex_);
                events_.push_back(parse_json(frame->second));
            }
        }
    }
    void check_order(const Record& record) {
        if (record.payload.size() != 16 || record.payload[0] >= kThreads) return;  // not a stress message
        std::uint64_t seq;
        std::memcpy(&seq, record.payload.data() + 8, sizeof seq);
        auto& last = last_[record.payload[0]];
        if (static_cast<std::int64_t>(seq) <= last) ++violations_;
        last = static_cast<std::int64_t>(seq);
    }

    int fd_ = -1;
    FrameDecoder decoder_;
    std::thread thread_;
    std::atomic<std::uint64_t> records_{0}, dropped_{0}, violations_{0};
    std::array<std::int64_t, kThreads> last_{};
    mutable std::mutex mutex_;
    std::vector<test::ReceivedRecord> kept_;
    std::vector<nlohmann::json> events_;
};

// A stress message: thread and sequence number, for the subscriber's order check.
std::array<std::uint8_t, 16> message_of(int thread, std::uint64_t seq) {
    std::array<std::uint8_t, 16> bytes{};
    bytes[0] = static_cast<std::uint8_t>(thread);
    std::memcpy(bytes.data() + 8, &seq, sizeof seq);
    return bytes;
}

SpiceChannel channel_of(int thread) { return {static_cast<std::uint8_t>(1 + thread % 11), 0}; }

ProducerOptions options_for(const std::string& socket, const char* label) {
    ProducerOptions options;
    options.name = "daemon-test";
    options.session_label = label;
    options.socket_path = socket;
    return options;
}

}  // namespace

TEST_CASE("producer with spicecapd: a subscriber receives the records and events exactly as reported") {
    TempSocketPath socket;
    Spicecapd daemon(socket.path());
    CountingSubscriber subscriber(socket.path());
    Producer producer(options_for(socket.path(), "exact"));
    REQUIRE(producer.capturing());
    const std::uint32_t session = producer.stats().session;
    CHECK(session != 0);

    const std::vector<std::uint8_t> link = {'R', 'E', 'D', 'Q', 2, 0, 0, 0, 2, 0, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0, 2, 1,
                                            0, 0, 0, 0, 0, 0, 0, 0, 18, 0, 0, 0};
    const std::vector<std::uint8_t> data = {101, 0, 4, 0, 0, 0, 9, 8, 7, 6};
    producer.channel_opened({spice_channel::display, 1}, HeaderMode::full);
    producer.packet_sent({spice_channel::display, 1}, link, 1700000000000000001ull);
    producer.packet_received({spice_channel::display, 1}, data, 1700000000000000002ull);
    REQUIRE(producer.flush(10s));
    REQUIRE(eventually([&] { return subscriber.records() == 2; }));

    const auto records = subscriber.kept_records();
    REQUIRE(records.size() == 2);
    CHECK(records[0].header.session == session);
    CHECK(records[0].header.kind == StreamKind::spice);
    CHECK(records[0].header.direction == Direction::client_to_server);
    CHECK(records[0].header.channel_type == 2);
    CHECK(records[0].header.channel_id == 1);
    CHECK(records[0].header.timestamp_ns == 1700000000000000001ull);
    CHECK(records[0].header.flags == kRecordFlagFullHeader);
    CHECK(records[0].payload == link);
    CHECK(records[1].header.direction == Direction::server_to_client);
    CHECK(records[1].header.timestamp_ns == 1700000000000000002ull);
    CHECK(records[1].payload == data);

    const auto events = subscriber.events();
    REQUIRE(!events.empty());
    CHECK(events[0]["event"] == "channel_opened");
    CHECK(events[0]["session"] == session);
    CHECK(events[0]["channel_type"] == 2);
    CHECK(events[0]["channel_id"] == 1);
    CHECK(events[0]["header"] == "full");

    const auto s = daemon.session(session);
    REQUIRE(s.is_object());
    CHECK(s["label"] == "exact");
    CHECK(s["name"] == "daemon-test");
    CHECK(s["pid"] == ::getpid());
    CHECK(s["records"] == 2);
    CHECK(s["bytes"] == link.size() + data.size());
}

TEST_CASE("producer with spicecapd: a daemon started later gets the open channels then the records") {
    TempSocketPath socket;
    Producer producer(options_for(socket.path(), "late"));
    CHECK_FALSE(producer.capturing());
    producer.channel_opened({spice_channel::main, 0});
    producer.channel_opened({spice_channel::display, 0}, HeaderMode::full);
    producer.packet_sent({spice_channel::main, 0}, std::vector<std::uint8_t>{1, 2, 3});  // no daemon: not counted

    Spicecapd daemon(socket.path());
    // Reconnect backoff: at most 2 s between attempts; a busy machine may add to that.
    REQUIRE(eventually([&] { return producer.capturing(); }, 15s));
    producer.packet_sent({spice_channel::display, 0}, std::vector<std::uint8_t>{4, 5, 6, 7});
    REQUIRE(producer.flush(10s));
    const auto stats = producer.stats();
    CHECK(stats.accepted_records == 1);
    CHECK(stats.delivered_records == 1);

    const auto s = daemon.session(stats.session);
    REQUIRE(s.is_object());
    CHECK(s["records"] == 1);
    REQUIRE(s["channels"].size() == 2);
    for (const auto& channel : s["channels"]) {
        CHECK(channel["open"] == true);
        CHECK(channel["header"] == (channel["channel_type"] == 2 ? "full" : "mini"));
    }
}

TEST_CASE("producer with spicecapd: 8 threads x 1M calls: the daemon counts exactly what was delivered") {
    TempSocketPath socket;
    Spicecapd daemon(socket.path());
    CountingSubscriber subscriber(socket.path());
    Producer producer(options_for(socket.path(), "stress"));
    REQUIRE(producer.capturing());

    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kCallsPerThread; ++i) producer.packet_sent(channel_of(t), message_of(t, static_cast<std::uint64_t>(i)));
        });
    }
    for (auto& thread : threads) thread.join();
    const auto calls_took = std::chrono::steady_clock::now() - start;
    REQUIRE(producer.flush(60s));
    const auto stats = producer.stats();
    MESSAGE("calls took " << std::chrono::duration<double>(calls_took).count() << " s; accepted " << stats.accepted_records
                          << ", delivered " << stats.delivered_records << ", dropped " << stats.dropped_records);
    CHECK(stats.accepted_records == std::uint64_t{kThreads} * kCallsPerThread);
    CHECK(stats.accepted_records == stats.delivered_records + stats.dropped_records);
    CHECK(stats.accepted_bytes == stats.delivered_bytes + stats.dropped_bytes);

    // The daemon read everything that was written (a socket does not lose bytes) and heard of every drop.
    nlohmann::json s;
    REQUIRE(eventually([&] {
        s = daemon.session(stats.session);
        return s.is_object() && s["records"] == stats.delivered_records;
    }, 60s));
    CHECK(s["bytes"] == stats.delivered_bytes);
    CHECK(eventually([&] {
        s = daemon.session(stats.session);
        return s["producer_dropped_records"] == stats.dropped_records;
    }));
    CHECK(s["producer_dropped_bytes"] == stats.dropped_bytes);

    // The subscriber got every record the daemon had, or a DROP for it, in order per thread.
    CHECK(eventually([&] { return subscriber.records() + subscriber.dropped() == stats.delivered_records; }, 60s));
    CHECK(subscriber.order_violations() == 0);
    MESSAGE("subscriber: " << subscriber.records() << " records, " << subscriber.dropped() << " dropped for it by the daemon");
}

TEST_CASE("producer with spicecapd: SIGKILL of the daemon mid-run loses nothing uncounted and no call waits") {
    TempSocketPath socket;
    auto daemon = std::make_unique<Spicecapd>(socket.path());
    Producer producer(options_for(socket.path(), "killed"));
    REQUIRE(producer.capturing());
    producer.channel_opened(channel_of(0), HeaderMode::full);

    constexpr int kCalls = kCallsPerThread / 4;
    std::vector<std::vector<std::uint32_t>> durations(kThreads, std::vector<std::uint32_t>(kCalls));
    std::atomic<int> progress{0};
    std::thread killer([&] {
        while (progress.load() < kThreads * kCalls / 3) std::this_thread::sleep_for(1ms);
        daemon->kill_hard();
        while (progress.load() < kThreads * kCalls * 2 / 3) std::this_thread::sleep_for(1ms);
        daemon->start();  // replaces the stale socket file
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            auto& mine = durations[t];
            for (int i = 0; i < kCalls; ++i) {
                const auto message = message_of(t, static_cast<std::uint64_t>(i));
                const auto before = std::chrono::steady_clock::now();
                producer.packet_sent(channel_of(t), message);
                const auto after = std::chrono::steady_clock::now();
                mine[i] = static_cast<std::uint32_t>(std::min<std::int64_t>((after - before).count(), UINT32_MAX));
                if (i % 1024 == 0) progress.fetch_add(1024);
            }
        });
    }
    for (auto& thread : threads) thread.join();
    killer.join();
    // The producer's reconnect backoff is at most 2 s; a busy machine may add to that.
    REQUIRE(eventually([&] { return producer.stats().connections == 2; }, 15s));
    REQUIRE(producer.flush(30s));

    std::vector<std::uint32_t> all;
    for (const auto& d : durations) all.insert(all.end(), d.begin(), d.end());
    std::sort(all.begin(), all.end());
    const auto at = [&](double q) { return all[static_cast<std::size_t>(q * static_cast<double>(all.size() - 1))]; };
    const auto stats = producer.stats();
    MESSAGE("per call (ns) with SIGKILL + restart of spicecapd: median " << at(0.5) << ", p99 " << at(0.99) << ", p99.9 "
                                                                       << at(0.999) << ", max " << all.back() << "; accepted "
                                                                       << stats.accepted_records << ", delivered "
                                                                       << stats.delivered_records << ", dropped "
                                                                       << stats.dropped_records);
    CHECK(stats.connections == 2);
    CHECK(stats.accepted_records == stats.delivered_records + stats.dropped_records);
    CHECK(stats.accepted_bytes == stats.delivered_bytes + stats.dropped_bytes);
    CHECK(at(0.99) < test::kLoadP99CallNs);
#if !defined(__SANITIZE_ADDRESS__)
    CHECK(all.back() < test::kLoadMaxCallNs);
#endif

    // The new daemon has the channel that was open (replayed, with its header mode), at most what was
    // delivered, and the drop report for what the kill lost.
    const auto s = daemon->session(stats.session);
    REQUIRE(s.is_object());
    CHECK(s["active"] == true);
    CHECK(s["records"].get<std::uint64_t>() <= stats.delivered_records);
    CHECK(s["producer_dropped_records"].get<std::uint64_t>() <= stats.dropped_records);
    bool replayed = false;
    for (const auto& channel : s["channels"]) {
        if (channel["channel_type"] == channel_of(0).type && channel["open"] == true && channel["header"] == "full") replayed = true;
    }
    CHECK(replayed);
}
