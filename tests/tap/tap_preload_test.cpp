// The real libspicecap-tap.so, preloaded into this test program (CTest sets LD_PRELOAD): the program speaks
// SPICE on real sockets through the libc calls the tap interposes, and a stand-in daemon (ProtocolListener,
// at SPICECAP_SOCKET) receives what the tap reports. The peer end of each connection is driven with raw
// system calls, which the tap cannot see, so only this side is reported.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "producer_listener.hpp"
#include "wire/events.hpp"
#include "spice_conversation.hpp"

using namespace spicecap;
using namespace std::chrono_literals;
using spicecap::test::ProtocolListener;
using spicecap::test::ReceivedConnection;

namespace {

constexpr auto c2s = Direction::client_to_server;

/// The stand-in daemon of this process, made before the first SPICE byte (the tap's producer reads
/// SPICECAP_SOCKET when it starts). Never destroyed: a forked child must not join its thread at exit.
ProtocolListener& daemon_stand_in() {
    static ProtocolListener* listener = [] {
        auto* path = new test::TempSocketPath();
        ::setenv("SPICECAP_SOCKET", path->path().c_str(), 1);
        return new ProtocolListener(path->path());
    }();
    return *listener;
}

bool tap_is_preloaded() {
    const char* preload = std::getenv("LD_PRELOAD");
    return preload != nullptr && std::strstr(preload, "libspicecap-tap.so") != nullptr;
}

// The peer's calls: straight to the kernel, past the tap.
ssize_t raw_read(int fd, void* buffer, std::size_t size) { return ::syscall(SYS_read, fd, buffer, size); }
ssize_t raw_write(int fd, const void* buffer, std::size_t size) { return ::syscall(SYS_write, fd, buffer, size); }

struct SocketPair {
    int ours = -1;
    int peer = -1;
    SocketPair() {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
        ours = fds[0];
        peer = fds[1];
    }
    ~SocketPair() {
        if (ours >= 0) ::close(ours);
        if (peer >= 0) ::syscall(SYS_close, peer);
    }
};

void wait_writable_or_readable(int fd, short events) {
    pollfd p{fd, events, 0};
    ::poll(&p, 1, 1000);
}

/// One call of the kind `which` (write, send, writev, sendmsg, sendto) for at most `size` bytes.
ssize_t send_some(int fd, const std::uint8_t* data, std::size_t size, unsigned which) {
    const std::size_t half = size / 2;
    iovec two[2] = {{const_cast<std::uint8_t*>(data), half}, {const_cast<std::uint8_t*>(data) + half, size - half}};
    msghdr message{};
    message.msg_iov = two;
    message.msg_iovlen = 2;
    switch (which % 5) {
    case 0: return ::write(fd, data, size);
    case 1: return ::send(fd, data, size, MSG_NOSIGNAL);
    case 2: return ::writev(fd, two, 2);
    case 3: return ::sendmsg(fd, &message, MSG_NOSIGNAL);
    default: return ::sendto(fd, data, size, MSG_NOSIGNAL, nullptr, 0);
    }
}

/// One call of the kind `which` (read, recv, readv, recvmsg, recvfrom; and a MSG_PEEK first, which must not
/// count) for at most `size` bytes.
ssize_t receive_some(int fd, std::uint8_t* data, std::size_t size, unsigned which) {
    const std::size_t half = size / 2;
    iovec two[2] = {{data, half}, {data + half, size - half}};
    msghdr message{};
    message.msg_iov = two;
    message.msg_iovlen = 2;
    switch (which % 5) {
    case 0: return ::read(fd, data, size);
    case 1:
        if (::recv(fd, data, size, MSG_PEEK) < 0) return -1;  // seen, not taken: must not be reported
        return ::recv(fd, data, size, 0);
    case 2: return ::readv(fd, two, 2);
    case 3: return ::recvmsg(fd, &message, 0);
    default: return ::recvfrom(fd, data, size, 0, nullptr, nullptr);
    }
}

/// Plays `conversation` on a non-blocking socket with small buffers (EAGAIN, short reads and writes),
/// rotating through every interposed call; `client_here`: this side sends the client's messages.
/// The peer runs on a thread with raw system calls. Returns the longest single call, in ms.
double play(SocketPair& pair, const test::SpiceConversation& conversation, bool client_here) {
    const int small = 4096;
    ::setsockopt(pair.ours, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    ::setsockopt(pair.ours, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    ::fcntl(pair.ours, F_SETFL, ::fcntl(pair.ours, F_GETFL) | O_NONBLOCK);
    std::thread peer([&] {
        for (const auto& m : conversation.messages) {
            const bool peer_sends = (m.direction == c2s) != client_here;
            std::vector<std::uint8_t> got(m.bytes.size());
            std::size_t done = 0;
            while (done < m.bytes.size()) {
                const ssize_t n = peer_sends ? raw_write(pair.peer, m.bytes.data() + done, m.bytes.size() - done)
                                            : raw_read(pair.peer, got.data() + done, got.size() - done);
                if (n <= 0) return;
                done += static_cast<std::size_t>(n);
            }
        }
    });
    double longest_ms = 0;
    unsigned call = 0;
    for (const auto& m : conversation.messages) {
        const bool ours_sends = (m.direction == c2s) == client_here;
        std::vector<std::uint8_t> got(m.bytes.size());
        std::size_t done = 0;
        while (done < m.bytes.size()) {
            const std::size_t want = std::min<std::size_t>(m.bytes.size() - done, 1 + (call * 7919u) % 3000u);
            const auto start = std::chrono::steady_clock::now();
            const ssize_t n = ours_sends ? send_some(pair.ours, m.bytes.data() + done, want, call)
                                         : receive_some(pair.ours, got.data() + done, want, call);
            longest_ms = std::max(longest_ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
            ++call;
            if (n < 0) {
                REQUIRE(errno == EAGAIN);
                wait_writable_or_readable(pair.ours, ours_sends ? POLLOUT : POLLIN);
                continue;
            }
            REQUIRE(n > 0);
            done += static_cast<std::size_t>(n);
        }
        if (!ours_sends) REQUIRE(got == m.bytes);
    }
    peer.join();
    return longest_ms;
}

/// The records of channel display:`id` that the daemon got from process `pid`, per direction.
struct Reported {
    std::vector<std::vector<std::uint8_t>> c2s, s2c;
    int opened = 0, closed = 0;
};
Reported reported(const std::vector<ReceivedConnection>& connections, std::uint8_t id, long pid) {
    Reported r;
    for (const auto& c : connections) {
        if (c.hello.find("\"pid\":" + std::to_string(pid)) == std::string::npos) continue;
        for (const auto& record : c.records) {
            if (record.header.channel_type != 2 || record.header.channel_id != id) continue;
            (record.header.direction == Direction::client_to_server ? r.c2s : r.s2c).push_back(record.payload);
        }
        for (const auto& [type, json] : c.frames) {
            const auto event = parse_event(json);
            if (!event) continue;
            if (const auto* opened = std::get_if<ChannelOpened>(&event->what)) {
                r.opened += opened->channel_type == 2 && opened->channel_id == id;
            } else if (const auto* closed = std::get_if<ChannelClosed>(&event->what)) {
                r.closed += closed->channel_type == 2 && closed->channel_id == id;
            }
        }
    }
    return r;
}

/// Waits until display:`id` of process `pid` is closed at the daemon with everything of `conversation`.
void check_reported(const test::SpiceConversation& conversation, std::uint8_t id, long pid) {
    daemon_stand_in().wait_until([&](const auto& connections) { return reported(connections, id, pid).closed > 0; }, 10s);
    const Reported r = reported(daemon_stand_in().connections(), id, pid);
    CHECK(r.opened == 1);
    CHECK(r.closed == 1);
    CHECK(r.c2s == conversation.of(c2s));
    CHECK(r.s2c == conversation.of(Direction::server_to_client));
}

std::atomic<int> g_alarms{0};
int g_alarm_pipe = -1;
void on_alarm(int) {
    const int saved = errno;
    char byte = 'a';
    [[maybe_unused]] const auto n = ::write(g_alarm_pipe, &byte, 1);  // interposed, from a signal handler
    g_alarms.fetch_add(1);
    errno = saved;
}

}  // namespace

TEST_CASE("the preloaded tap reports every message moved by any interposed call with EAGAIN and short I/O") {
    REQUIRE(tap_is_preloaded());
    daemon_stand_in();
    const auto conversation = test::display_conversation(HeaderMode::mini, 1'000'000, 1);
    {
        SocketPair pair;
        play(pair, conversation, true);
    }  // close(): the channel closes at the daemon
    check_reported(conversation, 1, ::getpid());
}

TEST_CASE("the preloaded tap reports the server side of a connection it accepted") {
    REQUIRE(tap_is_preloaded());
    daemon_stand_in();
    const auto conversation = test::display_conversation(HeaderMode::full, 100'000, 2);
    {
        SocketPair pair;
        play(pair, conversation, false);
    }
    check_reported(conversation, 2, ::getpid());
}

TEST_CASE("a program that speaks no SPICE is not reported") {
    REQUIRE(tap_is_preloaded());
    daemon_stand_in();
    const auto before = daemon_stand_in().total_records();
    test::SpiceConversation http;
    for (const char* text : {"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\nREDQ is in the body"}) {
        SpiceWireMessage m;
        m.direction = http.messages.empty() ? c2s : Direction::server_to_client;
        m.bytes.assign(text, text + std::strlen(text));
        http.messages.push_back(m);
    }
    {
        SocketPair pair;
        play(pair, http, true);
    }
    // A SPICE connection afterwards shows the daemon got nothing from the HTTP one.
    const auto conversation = test::display_conversation(HeaderMode::mini, 1000, 3);
    {
        SocketPair pair;
        play(pair, conversation, true);
    }
    check_reported(conversation, 3, ::getpid());
    CHECK(daemon_stand_in().total_records() - before == conversation.messages.size());
}

TEST_CASE("a signal handler that writes while SPICE messages are being reported neither blocks nor breaks them") {
    REQUIRE(tap_is_preloaded());
    daemon_stand_in();
    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_NONBLOCK) == 0);
    g_alarm_pipe = pipe_fds[1];
    struct sigaction action {};
    action.sa_handler = on_alarm;
    action.sa_flags = SA_RESTART;
    REQUIRE(::sigaction(SIGALRM, &action, nullptr) == 0);
    const itimerval every_200us{{0, 200}, {0, 200}};
    REQUIRE(::setitimer(ITIMER_REAL, &every_200us, nullptr) == 0);
    const auto conversation = test::display_conversation(HeaderMode::mini, 2'000'000, 4);
    {
        SocketPair pair;
        play(pair, conversation, true);
    }
    const itimerval off{};
    ::setitimer(ITIMER_REAL, &off, nullptr);
    ::signal(SIGALRM, SIG_DFL);
    CHECK(g_alarms.load() > 10);
    check_reported(conversation, 4, ::getpid());
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
}

TEST_CASE("a forked child reports its own connections through a producer of its own and not its parent's") {
    REQUIRE(tap_is_preloaded());
    daemon_stand_in();
    const auto parents = test::display_conversation(HeaderMode::mini, 10'000, 5);
    const auto childs = test::display_conversation(HeaderMode::mini, 10'000, 6);
    SocketPair inherited;
    // The parent's link stage first: the connection is followed in the parent when fork() happens.
    test::SpiceConversation link_stage, rest;
    for (const auto& m : parents.messages) (m.kind == SpiceMessageKind::data ? rest : link_stage).messages.push_back(m);
    play(inherited, link_stage, true);
    std::fflush(nullptr);  // or the child's exit writes the parent's buffered output a second time
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // In the child: a SPICE connection of its own, and a write on the inherited one (not reported here).
        // (A whole mini-header PONG with an empty body: the parent's peer reads it as part of what follows.)
        const std::uint8_t pong[6] = {3, 0, 0, 0, 0, 0};
        [[maybe_unused]] const auto n = ::write(inherited.ours, pong, sizeof pong);
        SocketPair mine;
        play(mine, childs, true);
        ::close(mine.ours);
        mine.ours = -1;
        std::exit(0);  // the tap's exit handler flushes the child's producer
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    play(inherited, rest, true);
    ::close(inherited.ours);
    inherited.ours = -1;
    check_reported(parents, 5, ::getpid());
    check_reported(childs, 6, child);
    // The child's producer is a connection of its own, with the child's pid in its HELLO.
    const auto connections = daemon_stand_in().connections();
    CHECK(std::count_if(connections.begin(), connections.end(), [&](const ReceivedConnection& c) {
              return c.hello.find("\"pid\":" + std::to_string(child)) != std::string::npos;
          }) == 1);
    CHECK(reported(connections, 5, child).c2s.empty());
}

TEST_CASE("a daemon that stops reading never makes an interposed call wait") {
    REQUIRE(tap_is_preloaded());
    daemon_stand_in().pause_reading();
    const auto conversation = test::display_conversation(HeaderMode::mini, 4'000'000, 7);
    double longest_ms = 0;
    for (int round = 0; round < 3; ++round) {
        SocketPair pair;
        longest_ms = std::max(longest_ms, play(pair, conversation, true));
    }
    daemon_stand_in().resume_reading();
    // A producer that starts while the daemon does not answer waits for the HELLO's answer once, at most
    // 250 ms (process_producer_sink.hpp); every other call is a copy into the producer's buffer.
    CHECK(longest_ms < 400);
    MESSAGE("longest interposed call with the daemon stalled: " << longest_ms << " ms");
}
