// TappedConnections, the tap's recognition and bookkeeping, driven as the interposer drives it: after
// real reads and writes on real socketpairs (and a pipe, a UDP socket), with the bytes each call moved.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "recording_channel_sink.hpp"
#include "spice_conversation.hpp"
#include "tap/tapped_connections.hpp"

using namespace spicecap;
using spicecap::tap::FdStates;
using spicecap::tap::MovedBytes;
using spicecap::tap::TappedConnections;
using spicecap::tap::Transfer;
using spicecap::test::RecordingChannelSink;
using Kind = RecordingChannelSink::Event::Kind;

namespace {

constexpr auto c2s = Direction::client_to_server;
constexpr auto s2c = Direction::server_to_client;

struct CollectingLog final : tap::TapLog {
    std::vector<std::string> lines;
    void line(const std::string& text) override { lines.push_back(text); }
};

/// One tap, as a process has one: its own descriptor table, a recording sink and log.
struct Fixture {
    std::unique_ptr<FdStates> fds = std::make_unique<FdStates>();
    RecordingChannelSink sink;
    CollectingLog log;
    TappedConnections connections{*fds, sink, log};
};

/// A connected Unix stream socketpair; closed at the end unless released.
struct SocketPair {
    int ours = -1;
    int peer = -1;
    explicit SocketPair(int type = SOCK_STREAM) {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, type, 0, fds) == 0);
        ours = fds[0];
        peer = fds[1];
    }
    ~SocketPair() {
        if (ours >= 0) ::close(ours);
        if (peer >= 0) ::close(peer);
    }
};

/// Writes `bytes` on `fd` with real write() calls of at most `chunk` bytes and shows the tap each call's
/// result, as the interposer would.
void write_through(Fixture& f, int fd, std::span<const std::uint8_t> bytes, std::size_t chunk) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), std::min(chunk, bytes.size()));
        REQUIRE(n > 0);
        const iovec buffer{const_cast<std::uint8_t*>(bytes.data()), static_cast<std::size_t>(n)};
        f.connections.fd_moved(fd, Transfer::sent, MovedBytes{{&buffer, 1}, static_cast<std::size_t>(n)}, 1);
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
}

/// Reads exactly `size` bytes from `fd` with readv() into two buffers of at most `chunk` bytes each (so that
/// a call may fill the first buffer and part of the second), showing the tap each call's result.
std::vector<std::uint8_t> read_through(Fixture& f, int fd, std::size_t size, std::size_t chunk) {
    std::vector<std::uint8_t> got;
    std::vector<std::uint8_t> a(chunk), b(chunk);
    while (got.size() < size) {
        const std::size_t want = std::min(size - got.size(), chunk);
        iovec buffers[2] = {{a.data(), std::min(want, (want + 1) / 2)}, {b.data(), want - std::min(want, (want + 1) / 2)}};
        const ssize_t n = ::readv(fd, buffers, 2);
        REQUIRE(n > 0);
        f.connections.fd_moved(fd, Transfer::received, MovedBytes{{buffers, 2}, static_cast<std::size_t>(n)}, 2);
        const std::size_t first = std::min<std::size_t>(static_cast<std::size_t>(n), buffers[0].iov_len);
        got.insert(got.end(), a.begin(), a.begin() + static_cast<std::ptrdiff_t>(first));
        got.insert(got.end(), b.begin(), b.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(n) - first));
    }
    return got;
}

/// Plays `conversation` over `pair`: this process is the client (`client_here`) or the server on `ours`;
/// the peer end is driven without the tap. Chunks of at most `chunk` bytes.
void play(Fixture& f, SocketPair& pair, const test::SpiceConversation& conversation, bool client_here,
          std::size_t chunk) {
    for (const auto& m : conversation.messages) {
        const bool ours_sends = (m.direction == c2s) == client_here;
        if (ours_sends) {
            // The peer reads concurrently: a message may be larger than the socket buffer.
            std::thread peer([&] {
                std::vector<std::uint8_t> sink(m.bytes.size());
                std::size_t have = 0;
                while (have < sink.size()) {
                    const ssize_t n = ::read(pair.peer, sink.data() + have, sink.size() - have);
                    REQUIRE(n > 0);
                    have += static_cast<std::size_t>(n);
                }
            });
            write_through(f, pair.ours, m.bytes, chunk);
            peer.join();
        } else {
            std::thread peer([&] {
                std::size_t sent = 0;
                while (sent < m.bytes.size()) {
                    const ssize_t n = ::write(pair.peer, m.bytes.data() + sent, m.bytes.size() - sent);
                    REQUIRE(n > 0);
                    sent += static_cast<std::size_t>(n);
                }
            });
            CHECK(read_through(f, pair.ours, m.bytes.size(), chunk) == m.bytes);
            peer.join();
        }
    }
}

std::vector<std::uint8_t> bytes_of(const char* text) {
    return std::vector<std::uint8_t>(text, text + std::strlen(text));
}

}  // namespace

TEST_CASE("the tap recognises a client connection by the link message it sends and reports every message") {
    for (const std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{1000}, std::size_t{1} << 20}) {
        Fixture f;
        SocketPair pair;
        const auto conversation = test::display_conversation(HeaderMode::mini, 300'000, 1);
        play(f, pair, conversation, true, chunk);
        CHECK(f.fds->get(pair.ours) == FdStates::tracked);
        const SpiceChannelKey display1{ChannelType::display, 1};
        CHECK(f.sink.messages(display1, c2s) == conversation.of(c2s));
        CHECK(f.sink.messages(display1, s2c) == conversation.of(s2c));
        f.connections.fd_reset(pair.ours);  // close()
        const auto events = f.sink.events();
        REQUIRE(events.size() == conversation.messages.size() + 2);
        CHECK(events.front().kind == Kind::opened);
        CHECK(events.front().mode == HeaderMode::mini);
        CHECK(events.back().kind == Kind::closed);
        CHECK(f.fds->get(pair.ours) == FdStates::unknown);
        CHECK(f.connections.connections() == 0);
        CHECK(f.log.lines.empty());
    }
}

TEST_CASE("the tap is the server side when the link message is the first thing received") {
    Fixture f;
    SocketPair pair;
    const auto conversation = test::display_conversation(HeaderMode::full);
    play(f, pair, conversation, false, 777);
    const SpiceChannelKey display0{ChannelType::display, 0};
    // Received bytes are the client's: client -> server, whatever this process is.
    CHECK(f.sink.messages(display0, c2s) == conversation.of(c2s));
    CHECK(f.sink.messages(display0, s2c) == conversation.of(s2c));
    CHECK(f.sink.events().front().mode == HeaderMode::full);
}

TEST_CASE("bytes that do not start with REDQ are ignored at once and cost nothing afterwards") {
    Fixture f;
    SocketPair pair;
    write_through(f, pair.ours, bytes_of("GET / HTTP/1.1\r\n\r\n"), 4);
    CHECK(f.fds->get(pair.ours) == FdStates::ignored);
    // Later bytes that look like a link message do not start a connection: it is the middle of a stream.
    write_through(f, pair.ours, test::display_conversation(HeaderMode::mini).messages[0].bytes, 100);
    CHECK(f.fds->get(pair.ours) == FdStates::ignored);
    CHECK(f.connections.connections() == 0);
    CHECK(f.sink.events().empty());
}

TEST_CASE("a prefix of REDQ waits for more bytes and is dropped when they differ") {
    Fixture f;
    SocketPair pair;
    write_through(f, pair.ours, bytes_of("RE"), 1);
    CHECK(f.fds->get(pair.ours) == FdStates::tracked);
    CHECK(f.connections.connections() == 1);
    write_through(f, pair.ours, bytes_of("ST!"), 3);
    CHECK(f.fds->get(pair.ours) == FdStates::ignored);
    CHECK(f.connections.connections() == 0);
    CHECK(f.sink.events().empty());
}

TEST_CASE("an answer before the link message is whole means the peer is not speaking SPICE") {
    Fixture f;
    SocketPair pair;
    write_through(f, pair.ours, bytes_of("RED"), 3);
    REQUIRE(::write(pair.peer, "Q", 1) == 1);
    read_through(f, pair.ours, 1, 1);
    CHECK(f.fds->get(pair.ours) == FdStates::ignored);
    CHECK(f.sink.events().empty());
}

TEST_CASE("REDQ on a pipe or a datagram socket is not a SPICE connection") {
    Fixture f;
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    const auto link = test::display_conversation(HeaderMode::mini).messages[0].bytes;
    write_through(f, pipe_fds[1], link, link.size());
    CHECK(f.fds->get(pipe_fds[1]) == FdStates::ignored);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    SocketPair datagrams(SOCK_DGRAM);
    write_through(f, datagrams.ours, link, link.size());
    CHECK(f.fds->get(datagrams.ours) == FdStates::ignored);
    CHECK(f.sink.events().empty());
}

TEST_CASE("a closed descriptor's number is recognised afresh when it is reused") {
    Fixture f;
    const auto conversation = test::display_conversation(HeaderMode::mini, 1000);
    int first_number = -1;
    {
        SocketPair pair;
        first_number = pair.ours;
        play(f, pair, conversation, true, 4096);
        f.connections.fd_reset(pair.ours);
    }
    SocketPair again;  // the lowest free numbers: the same ones
    REQUIRE(again.ours == first_number);
    write_through(f, again.ours, bytes_of("not spice"), 100);
    CHECK(f.fds->get(again.ours) == FdStates::ignored);
    f.connections.fd_reset(again.ours);
    play(f, again, conversation, true, 4096);
    f.connections.fd_reset(again.ours);
    CHECK(f.sink.count(Kind::opened) == 2);
    CHECK(f.sink.count(Kind::closed) == 2);
}

TEST_CASE("a duplicate of a followed descriptor is not followed and dup2 onto one ends its channel") {
    Fixture f;
    SocketPair pair;
    const auto conversation = test::display_conversation(HeaderMode::mini, 1000);
    play(f, pair, conversation, true, 4096);
    const int copy = ::dup(pair.ours);
    f.connections.fd_duplicated(pair.ours, copy);
    CHECK(f.fds->get(copy) == FdStates::ignored);
    SocketPair other;
    REQUIRE(::dup2(other.ours, pair.ours) == pair.ours);
    f.connections.fd_duplicated(other.ours, pair.ours);
    CHECK(f.sink.count(Kind::closed) == 1);
    CHECK(f.fds->get(pair.ours) == FdStates::unknown);
    ::close(copy);
}

TEST_CASE("TLS connections are told apart by their SSL object and remembered when they are not SPICE") {
    Fixture f;
    const int ssl_a = 0, ssl_b = 0;  // stand-ins for two SSL*: only their addresses matter
    const auto conversation = test::display_conversation(HeaderMode::mini, 5000, 2);
    for (const auto& m : conversation.messages) {
        const iovec buffer{const_cast<std::uint8_t*>(m.bytes.data()), m.bytes.size()};
        f.connections.ssl_moved(&ssl_a, m.direction == c2s ? Transfer::sent : Transfer::received,
                                MovedBytes{{&buffer, 1}, m.bytes.size()}, 3);
    }
    // An HTTPS body that starts with "REDQ" after the headers is not a new connection.
    const auto headers = bytes_of("HTTP/1.0 200 OK\r\n\r\n");
    const auto body = bytes_of("REDQ and more");
    for (const auto* piece : {&headers, &body}) {
        const iovec buffer{const_cast<std::uint8_t*>(piece->data()), piece->size()};
        f.connections.ssl_moved(&ssl_b, Transfer::received, MovedBytes{{&buffer, 1}, piece->size()}, 4);
    }
    CHECK(f.connections.connections() == 1);
    CHECK(f.sink.messages({ChannelType::display, 2}, s2c) == conversation.of(s2c));
    f.connections.ssl_freed(&ssl_a);
    f.connections.ssl_freed(&ssl_b);
    CHECK(f.sink.count(Kind::closed) == 1);
    CHECK(f.connections.connections() == 0);
}

TEST_CASE("a channel that authenticates with SASL is named in one log line and not reported further") {
    Fixture f;
    SocketPair pair;
    auto conversation = test::display_conversation(HeaderMode::mini, 1000);
    // The client selects SASL instead of the SPICE ticket; what follows is the SASL exchange.
    test::SpiceConversation sasl;
    for (auto& m : conversation.messages) {
        if (m.kind == SpiceMessageKind::auth_mechanism) {
            m.bytes = SpiceLinkAuthMechanism{.mechanism = auth_mechanism::sasl}.encode();
            sasl.messages.push_back(m);
            SpiceWireMessage exchange;
            exchange.direction = c2s;
            exchange.bytes = std::vector<std::uint8_t>(64, 0xa5);
            sasl.messages.push_back(exchange);
            break;
        }
        sasl.messages.push_back(m);
    }
    play(f, pair, sasl, true, 4096);
    REQUIRE(f.log.lines.size() == 1);
    CHECK(f.log.lines[0].find("display:0") != std::string::npos);
    CHECK(f.log.lines[0].find("SASL") != std::string::npos);
    CHECK(f.fds->get(pair.ours) == FdStates::ignored);
    CHECK(f.sink.count(Kind::closed) == 1);
    // Nothing after the auth selection reached the sink.
    for (const auto& e : f.sink.events()) CHECK(e.bytes != std::vector<std::uint8_t>(64, 0xa5));
}

TEST_CASE("connections on several threads at once are each followed whole") {
    Fixture f;
    constexpr int kThreads = 4;
    std::vector<test::SpiceConversation> conversations;
    for (int i = 0; i < kThreads; ++i)
        conversations.push_back(test::display_conversation(HeaderMode::mini, 50'000, static_cast<std::uint8_t>(i)));
    std::vector<std::unique_ptr<SocketPair>> pairs;
    for (int i = 0; i < kThreads; ++i) pairs.push_back(std::make_unique<SocketPair>());
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i)
        threads.emplace_back([&, i] { play(f, *pairs[i], conversations[i], i % 2 == 0, 100 + 37 * i); });
    for (auto& t : threads) t.join();
    for (int i = 0; i < kThreads; ++i) {
        const SpiceChannelKey display{ChannelType::display, static_cast<std::uint8_t>(i)};
        CHECK(f.sink.messages(display, c2s) == conversations[i].of(c2s));
        CHECK(f.sink.messages(display, s2c) == conversations[i].of(s2c));
    }
    f.connections.finish_all();
    CHECK(f.sink.count(Kind::closed) == kThreads);
}
