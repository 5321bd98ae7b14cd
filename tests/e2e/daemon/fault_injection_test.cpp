// Faults inside the daemon, injected for real: spicecapd runs with an address-space limit (RLIMIT_AS) just
// above what it uses, and producers send a frame too large to buffer under it, so the allocation throws
// std::bad_alloc inside their connection's coroutine. That must cost those connections only: each is logged
// with its connection, its session ends (it no longer counts against --max-producers), and the daemon goes
// on accepting and delivering.
#include <doctest/doctest.h>

#include <sys/resource.h>

#include <fstream>
#include <thread>

#include "harness.hpp"

using namespace spicecap;
using namespace spicecap::test;

namespace {

// VmSize of a process, in bytes.
std::uint64_t virtual_size(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmSize:", 0) == 0) return std::stoull(line.substr(7)) * 1024;
    }
    throw std::runtime_error("no VmSize for pid " + std::to_string(pid));
}

Bytes record_of(std::string_view text) {
    Bytes out;
    append_record(out, StreamKind::spice, Direction::client_to_server, 3, 0, bytes_of(text));
    return out;
}

// Reads frames until a RECORD whose payload ends with `text` arrives; false on timeout.
bool receive_record(Client& subscriber, std::string_view text) {
    bool found = false;
    subscriber.read_frames(
        [&](const FrameView& frame) {
            if (frame.type != FrameType::record) return true;
            const auto payload = frame.body.subspan(RecordHeader::kSize);
            found = std::string(payload.begin(), payload.end()) == text;
            return !found;
        },
        std::chrono::seconds(10));
    return found;
}

}  // namespace

TEST_CASE("spicecapd: a connection whose coroutine throws is closed and cleaned up and the daemon serves on") {
    TempDir dir;
    const auto socket = dir.path() / "d.sock";
    auto daemon = DaemonProcess::start(socket, {"--max-frame-bytes", "1073741824", "--max-producers", "2",
                                                "--history-bytes", "8388608"},
                                       dir.path() / "spicecapd.log");
    Client subscriber(socket);
    REQUIRE(subscriber.hello(subscriber_hello("spice")).value("ok", false));
    Client good(socket);
    REQUIRE(good.hello(producer_hello("good", "steady")).value("ok", false));
    REQUIRE(good.send(record_of("before")));
    REQUIRE(receive_record(subscriber, "before"));

    // From here on, 64 MiB more than the daemon maps now is all it may map.
    const rlimit limit{virtual_size(daemon->pid()) + 64 * 1024 * 1024, RLIM_INFINITY};
    REQUIRE(::prlimit(daemon->pid(), RLIMIT_AS, &limit, nullptr) == 0);

    // More failing producers than --max-producers allows at once: a session leaked by a failure would keep
    // the good producer's successors out.
    for (int i = 0; i < 3; ++i) {
        CAPTURE(i);
        Client greedy(socket);
        REQUIRE(greedy.hello(producer_hello("greedy", "big")).value("ok", false));
        Bytes prefix;
        append_frame_prefix(prefix, FrameType::record, 900u * 1024 * 1024);
        REQUIRE(greedy.send(prefix));
        const Bytes chunk(1024 * 1024, 0x5a);
        for (int mib = 0; mib < 200 && greedy.send(chunk); ++mib) {
        }
        CHECK(greedy.wait_eof(std::chrono::seconds(10)));
    }
    REQUIRE(daemon->wait_log("failed: std::bad_alloc", std::chrono::seconds(5)));
    const std::string log = daemon->log_text();
    CHECK(log.find("producer #") != std::string::npos);
    CHECK(log.find("\"big\")") != std::string::npos);  // the log line names the session that failed

    // The daemon is alive, the old producer still delivers, and a new producer gets a session.
    REQUIRE(good.send(record_of("after")));
    CHECK(receive_record(subscriber, "after"));
    Client successor(socket);
    const auto accepted = successor.hello(producer_hello("successor", "new"));
    CHECK_MESSAGE(accepted.value("ok", false), accepted.dump());
    REQUIRE(successor.send(record_of("from the successor")));
    CHECK(receive_record(subscriber, "from the successor"));
    CHECK(daemon->stop(SIGTERM) == 0);
}
