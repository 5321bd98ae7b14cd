// Fuzz target: the tap's recognition and bookkeeping (tools/tap/tapped_connections.hpp), as the preload
// library drives it: bytes a program sent and received on one stream socket, in calls of any size, each
// with several buffers and a count that may stop short of them (a short read or write). Beyond
// fuzz_spice_parser (SpiceConnectionParser alone), this covers the "REDQ" recognition across calls, the
// choice of side, SpiceChannelFollower's holding and ordering of link-stage messages, and the iovec walking.
//
// Input: a chunk stream (tests/fuzz/chunked_input.hpp); lane 0 = sent by the program, lane 1 = received.
// Seeds: the spice_parser corpus (lane 0 there is the client, so the program is the client).
// Checked: nothing is reported unless the first bytes moved were "REDQ"; the messages reported in each
// direction are, back to back, exactly the first bytes that moved that way (the direction of the first
// bytes is client -> server); a channel opens at most once, closes only after it opened, and is closed
// once everything is finished; at most one connection is tracked.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <span>
#include <vector>

#include "chunked_input.hpp"
#include "fuzz_check.hpp"
#include "tap/tapped_connections.hpp"

namespace {

using namespace spicecap;
using spicecap::tap::FdStates;
using spicecap::tap::MovedBytes;
using spicecap::tap::TappedConnections;
using spicecap::tap::Transfer;

struct CheckingSink final : SpiceChannelSink {
    std::vector<std::uint8_t> reported[2];  // per Direction, back to back
    int opened = 0;
    int closed = 0;
    Expected<Ok, std::string> channel_opened(SpiceChannelKey, HeaderMode) override {
        ++opened;
        FUZZ_CHECK(opened == 1);
        return Ok{};
    }
    void message(SpiceChannelKey, Direction direction, std::span<const std::uint8_t> bytes,
                 std::uint64_t) override {
        FUZZ_CHECK(opened == 1 && closed == 0);
        auto& out = reported[static_cast<std::size_t>(direction)];
        out.insert(out.end(), bytes.begin(), bytes.end());
    }
    void channel_closed(SpiceChannelKey) override {
        FUZZ_CHECK(opened == 1);
        ++closed;
        FUZZ_CHECK(closed == 1);
    }
};

struct NoLog final : tap::TapLog {
    void line(const std::string&) override {}
};

/// A stream socket for the tap to recognise (only its type is looked at; nothing is written to it).
int stream_socket() {
    static int fd = [] {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) std::abort();
        return fds[0];
    }();
    return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const int fd = stream_socket();
    auto fds = std::make_unique<FdStates>();
    CheckingSink sink;
    NoLog log;
    std::vector<std::uint8_t> moved[2];  // per Transfer
    std::optional<Transfer> first;
    {
        TappedConnections connections(*fds, sink, log);
        fuzz::ChunkReader reader({data, size});
        fuzz::Chunk chunk;
        static std::uint8_t beyond[64];  // buffer space the call did not fill
        while (reader.next(chunk)) {
            if (chunk.bytes.empty()) continue;
            const Transfer transfer = chunk.lane == 0 ? Transfer::sent : Transfer::received;
            if (!first) first = transfer;
            // Three buffers: the chunk cut where its first byte says, then unfilled space.
            const std::size_t cut = chunk.bytes[0] % (chunk.bytes.size() + 1);
            const iovec buffers[3] = {{const_cast<std::uint8_t*>(chunk.bytes.data()), cut},
                                      {const_cast<std::uint8_t*>(chunk.bytes.data()) + cut, chunk.bytes.size() - cut},
                                      {beyond, sizeof beyond}};
            const MovedBytes bytes{{buffers, 3}, chunk.bytes.size()};
            if (fds->get(fd) == FdStates::unknown && !tap::could_start_spice(bytes)) {
                // What the interposer does without asking TappedConnections.
                fds->change(fd, FdStates::unknown, FdStates::ignored);
            } else if (fds->get(fd) != FdStates::ignored) {
                connections.fd_moved(fd, transfer, bytes, 1);
            }
            auto& all = moved[static_cast<std::size_t>(transfer)];
            all.insert(all.end(), chunk.bytes.begin(), chunk.bytes.end());
            FUZZ_CHECK(connections.connections() <= 1);
        }
        connections.finish_all();
    }
    FUZZ_CHECK(sink.opened == sink.closed);
    if (!first) return 0;
    const auto& first_bytes = moved[static_cast<std::size_t>(*first)];
    const bool starts_with_redq = first_bytes.size() >= 4 && std::memcmp(first_bytes.data(), "REDQ", 4) == 0;
    if (!starts_with_redq) FUZZ_CHECK(sink.opened == 0);
    const Transfer other = *first == Transfer::sent ? Transfer::received : Transfer::sent;
    const auto prefix_of = [](const std::vector<std::uint8_t>& part, const std::vector<std::uint8_t>& whole) {
        return part.size() <= whole.size() && std::equal(part.begin(), part.end(), whole.begin());
    };
    FUZZ_CHECK(prefix_of(sink.reported[0], moved[static_cast<std::size_t>(*first)]));
    FUZZ_CHECK(prefix_of(sink.reported[1], moved[static_cast<std::size_t>(other)]));
    return 0;
}
