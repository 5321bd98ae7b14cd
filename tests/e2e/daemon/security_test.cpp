// The socket's protection and ownership: folder 0700 and socket 0600, other uids refused at once, a
// folder owned by someone else refused, one daemon per socket (even when several start at once), stale sockets replaced after kill -9,
// clean shutdown on SIGTERM and SIGINT, and a non-socket file at the path left alone.
#include <doctest/doctest.h>

#include <csignal>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <grp.h>
#include <thread>

#include <poll.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.hpp"

using namespace spicecap;
using namespace spicecap::test;

namespace {

constexpr uid_t kNobody = 65534;

mode_t mode_of(const std::filesystem::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_mode;
}

// In a child running as `nobody`: connect, send HELLO, and report what happened as the exit status:
// 0 = closed without a single byte, 1 = could not connect, 2 = got data, 3 = nothing within 5 s.
int connect_as_nobody(const std::filesystem::path& socket) {
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) ::_exit(9);
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ::_exit(1);
        Bytes hello;
        append_frame(hello, FrameType::hello, std::string_view(subscriber_hello().dump()));
        [[maybe_unused]] auto sent = ::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL);
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0) ::_exit(3);
        char buf[64];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        // Closed with our HELLO unread: end of stream, or a reset.
        ::_exit(n == 0 || (n < 0 && errno == ECONNRESET) ? 0 : 2);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("spicecapd: default socket folder is 0700 and the socket 0600") {
    TempDir dir;
    const auto runtime = dir.path() / "run";
    std::filesystem::create_directory(runtime);
    DaemonProcess daemon({}, dir.path() / "spicecapd.log", {"XDG_RUNTIME_DIR=" + runtime.string(), "SPICECAP_SOCKET"});
    const auto socket = runtime / "spicecap" / "spicecapd.sock";
    REQUIRE_MESSAGE(DaemonProcess::wait_connectable(socket, std::chrono::seconds(10)), daemon.log_text());
    CHECK((mode_of(runtime / "spicecap") & 07777) == 0700);
    CHECK(S_ISDIR(mode_of(runtime / "spicecap")));
    CHECK((mode_of(socket) & 07777) == 0600);
    CHECK(S_ISSOCK(mode_of(socket)));
    CHECK(daemon.wait_log("from $XDG_RUNTIME_DIR", std::chrono::seconds(5)));

    // A folder of ours with loose permissions is tightened on the next start.
    CHECK(daemon.stop(SIGTERM) == 0);
    ::chmod((runtime / "spicecap").c_str(), 0755);
    DaemonProcess again({}, dir.path() / "spicecapd2.log", {"XDG_RUNTIME_DIR=" + runtime.string(), "SPICECAP_SOCKET"});
    REQUIRE(DaemonProcess::wait_connectable(socket, std::chrono::seconds(10)));
    CHECK((mode_of(runtime / "spicecap") & 07777) == 0700);
    CHECK(again.stop(SIGTERM) == 0);
}

TEST_CASE("spicecapd: another uid is refused even when the socket is opened up to it") {
    if (::geteuid() != 0) {
        MESSAGE("not root: cannot run a client as nobody here; the check is skipped");
        return;
    }
    TempDir dir;
    const auto socket = dir.path() / "d.sock";
    auto daemon = DaemonProcess::start(socket, {}, dir.path() / "spicecapd.log");
    // Open the way: folder and socket accessible to everyone, so only the daemon's uid check stands.
    ::chmod(dir.path().c_str(), 0755);
    ::chmod(socket.c_str(), 0666);
    CHECK(connect_as_nobody(socket) == 0);
    CHECK(daemon->wait_log("refused: peer uid 65534", std::chrono::seconds(5)));

    // The same uid still gets in.
    Client control(socket);
    REQUIRE(control.hello({{"version", 1}, {"role", "control"}})["ok"] == true);
    REQUIRE(control.send_json(FrameType::request, {{"command", "status"}}));
    CHECK(control.read_frame()->json()["status"]["totals"]["refused_connections"] == 1);
    CHECK(daemon->stop(SIGTERM) == 0);
}

TEST_CASE("spicecapd: refuses a default folder owned by another uid") {
    if (::geteuid() != 0) {
        MESSAGE("not root: cannot create a folder owned by nobody here; the check is skipped");
        return;
    }
    TempDir dir;
    const auto runtime = dir.path() / "run";
    std::filesystem::create_directories(runtime / "spicecap");
    REQUIRE(::chown((runtime / "spicecap").c_str(), kNobody, kNobody) == 0);
    DaemonProcess daemon({}, dir.path() / "spicecapd.log", {"XDG_RUNTIME_DIR=" + runtime.string(), "SPICECAP_SOCKET"});
    CHECK(daemon.wait_exit(std::chrono::seconds(10)) == 1);
    CHECK(daemon.log_text().find("belongs to uid 65534, not to us") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(runtime / "spicecap" / "spicecapd.sock"));
}

TEST_CASE("spicecapd: a second daemon on the same socket exits non-zero and the first keeps serving") {
    TempDir dir;
    const auto socket = dir.path() / "d.sock";
    auto first = DaemonProcess::start(socket, {}, dir.path() / "first.log");
    DaemonProcess second({"--socket", socket.string()}, dir.path() / "second.log");
    CHECK(second.wait_exit(std::chrono::seconds(10)) == 1);
    CHECK(second.log_text().find("another spicecapd (pid " + std::to_string(first->pid()) + ") is already listening on " +
                                 socket.string()) != std::string::npos);
    Client control(socket);
    CHECK(control.hello({{"version", 1}, {"role", "control"}})["ok"] == true);
    CHECK(first->stop(SIGTERM) == 0);
}

// The pid of the process listening on `socket` (SO_PEERCRED of a connection to it); -1 if none answers.
pid_t listener_pid(const std::filesystem::path& socket) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
    pid_t pid = -1;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) pid = cred.pid;
    }
    ::close(fd);
    return pid;
}

TEST_CASE("spicecapd: daemons started in the same instant on a stale socket: exactly one serves") {
    // Without the lock file, several could find the socket stale, each unlink and bind, and all but the
    // last would listen on a file nobody can reach.
    TempDir dir;
    const auto socket = dir.path() / "d.sock";
    auto killed = DaemonProcess::start(socket, {}, dir.path() / "killed.log");
    CHECK(killed->stop(SIGKILL) == 128 + SIGKILL);
    REQUIRE(std::filesystem::exists(socket));
    for (int round = 0; round < 3; ++round) {
        CAPTURE(round);
        std::vector<std::unique_ptr<DaemonProcess>> racers;
        for (int i = 0; i < 6; ++i) {
            racers.push_back(std::make_unique<DaemonProcess>(
                std::vector<std::string>{"--socket", socket.string()},
                dir.path() / ("racer-" + std::to_string(round) + "-" + std::to_string(i) + ".log")));
        }
        DaemonProcess* survivor = nullptr;
        int survivors = 0;
        for (auto& racer : racers) {
            const auto status = racer->wait_exit(std::chrono::seconds(3));
            if (!status) {
                ++survivors;
                survivor = racer.get();
                continue;
            }
            CHECK(*status == 1);
            const auto log = racer->log_text();
            CHECK((log.find("is already listening on " + socket.string()) != std::string::npos ||
                   log.find("another spicecapd is starting or stopping on " + socket.string()) != std::string::npos));
        }
        REQUIRE(survivors == 1);
        REQUIRE(DaemonProcess::wait_connectable(socket, std::chrono::seconds(5)));
        CHECK(listener_pid(socket) == survivor->pid());
        // Leave a stale socket (and a lock file nobody holds) for the next round, as kill -9 does.
        CHECK(survivor->stop(SIGKILL) == 128 + SIGKILL);
    }
}

TEST_CASE("spicecapd: kill -9 leaves a stale socket that the next daemon replaces") {
    TempDir dir;
    const auto socket = dir.path() / "d.sock";
    auto first = DaemonProcess::start(socket, {}, dir.path() / "first.log");
    CHECK(first->stop(SIGKILL) == 128 + SIGKILL);
    REQUIRE(std::filesystem::exists(socket));  // left behind
    CHECK_FALSE(DaemonProcess::wait_connectable(socket, std::chrono::milliseconds(50)));

    auto second = DaemonProcess::start(socket, {}, dir.path() / "second.log");
    CHECK(second->log_text().find("replaced the stale socket " + socket.string()) != std::string::npos);
    Client subscriber(socket);
    REQUIRE(subscriber.hello(subscriber_hello())["ok"] == true);
    Client producer(socket);
    REQUIRE(producer.hello(producer_hello("restart", "after kill -9"))["ok"] == true);
    Bytes b;
    append_record(b, StreamKind::spice, Direction::client_to_server, 1, 0, bytes_of("hello again"));
    REQUIRE(producer.send(b));
    auto got = subscriber.read_frame();
    REQUIRE(got);
    CHECK(got->type == FrameType::record);
    CHECK(second->stop(SIGTERM) == 0);
}

TEST_CASE("spicecapd: SIGTERM and SIGINT close every connection and remove the socket") {
    for (int signal : {SIGTERM, SIGINT}) {
        CAPTURE(signal);
        TempDir dir;
        const auto socket = dir.path() / "d.sock";
        auto daemon = DaemonProcess::start(socket, {}, dir.path() / "spicecapd.log");
        Client producer(socket);
        REQUIRE(producer.hello(producer_hello("shutdown", "x"))["ok"] == true);
        Client subscriber(socket);
        REQUIRE(subscriber.hello(subscriber_hello())["ok"] == true);
        CHECK(daemon->stop(signal) == 0);
        CHECK_FALSE(std::filesystem::exists(socket));
        CHECK_FALSE(std::filesystem::exists(socket.string() + ".lock"));
        CHECK(subscriber.wait_eof(std::chrono::seconds(2)));
        CHECK(daemon->log_text().find(signal == SIGTERM ? "received SIGTERM" : "received SIGINT") != std::string::npos);
    }
}

TEST_CASE("spicecapd: a file that is not a socket at the path is left alone") {
    TempDir dir;
    const auto path = dir.path() / "not-a-socket";
    { std::ofstream(path) << "precious"; }
    DaemonProcess daemon({"--socket", path.string()}, dir.path() / "spicecapd.log");
    CHECK(daemon.wait_exit(std::chrono::seconds(10)) == 1);
    CHECK(daemon.log_text().find("exists and is not a socket; not touching it") != std::string::npos);
    std::ifstream in(path);
    std::string content;
    in >> content;
    CHECK(content == "precious");
    CHECK_FALSE(std::filesystem::exists(path.string() + ".lock"));  // a daemon that gave up leaves nothing
}

TEST_CASE("spicecapd: a lock held without a listening daemon is waited for up to 2 s") {
    // What a daemon sees when it starts while the previous one is stopping (socket removed, lock not yet
    // released) or starting (lock taken, not listening yet): it waits, then takes over or gives up.
    TempDir dir;
    const auto socket = dir.path() / "d.sock";
    const std::string lock_path = socket.string() + ".lock";
    auto hold = [&] {
        const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        REQUIRE(::flock(fd, LOCK_EX) == 0);
        return fd;
    };

    int fd = hold();
    DaemonProcess waiting({"--socket", socket.string()}, dir.path() / "waiting.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    CHECK_FALSE(waiting.wait_exit(std::chrono::milliseconds(0)));  // still waiting, not failed
    ::close(fd);                                                  // released: the daemon takes the path
    CHECK(DaemonProcess::wait_connectable(socket, std::chrono::seconds(5)));
    CHECK(waiting.stop(SIGTERM) == 0);

    fd = hold();
    DaemonProcess giving_up({"--socket", socket.string()}, dir.path() / "giving-up.log");
    CHECK(giving_up.wait_exit(std::chrono::seconds(10)) == 1);
    CHECK(giving_up.log_text().find("another spicecapd is starting or stopping on " + socket.string()) != std::string::npos);
    ::close(fd);
}

TEST_CASE("spicecapd: command line help version and bad options") {
    auto [help_status, help] = run_command(std::string(SPICECAPD_PATH) + " --help");
    CHECK(help_status == 0);
    for (const char* option : {"--socket", "--verbose", "--max-frame-bytes", "--max-producers", "--max-subscribers",
                               "--subscriber-queue-bytes", "--history-bytes", "--history-seconds"}) {
        CHECK(help.find(option) != std::string::npos);
    }
    auto [version_status, version] = run_command(std::string(SPICECAPD_PATH) + " --version");
    CHECK(version_status == 0);
    CHECK(version.find("spicecapd " SPICECAP_VERSION) == 0);
    auto [bad_status, bad] = run_command(std::string(SPICECAPD_PATH) + " --history-bytes lots 2>&1");
    CHECK(bad_status == 2);
    CHECK(bad.find("--history-bytes wants a byte count") != std::string::npos);
    auto [unknown_status, unknown] = run_command(std::string(SPICECAPD_PATH) + " --frobnicate 2>&1");
    CHECK(unknown_status == 2);
    CHECK(unknown.find("unknown option \"--frobnicate\"") != std::string::npos);
}
