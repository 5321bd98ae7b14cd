// TcpReassembler: captured segments of one TCP direction back into the byte stream the receiver saw.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "replay/tcp_reassembly.hpp"

using namespace spicecap;

namespace {

std::vector<std::uint8_t> stream_of(std::size_t n, std::uint8_t salt = 0) {
    std::vector<std::uint8_t> s(n);
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<std::uint8_t>(i * 7 + salt + (i >> 8));
    return s;
}

std::span<const std::uint8_t> part(const std::vector<std::uint8_t>& s, std::size_t from, std::size_t n) {
    return std::span(s).subspan(from, n);
}

}  // namespace

TEST_CASE("segments in order come out as they went in") {
    const auto s = stream_of(3000);
    TcpReassembler r;
    r.syn(999);
    std::vector<std::uint8_t> out;
    CHECK(r.segment(1000, part(s, 0, 1000), out).delivered_bytes == 1000);
    CHECK(r.segment(2000, part(s, 1000, 1500), out).delivered_bytes == 1500);
    CHECK(r.segment(3500, part(s, 2500, 500), out).delivered_bytes == 500);
    CHECK(out == s);
    CHECK(r.next_offset() == 3000);
    CHECK(r.duplicate_bytes() == 0);
    CHECK(r.gap_bytes() == 0);
}

TEST_CASE("an early segment waits for the hole before it") {
    const auto s = stream_of(3000);
    TcpReassembler r;
    r.syn(0);
    std::vector<std::uint8_t> out;
    CHECK(r.segment(1 + 2000, part(s, 2000, 1000), out).delivered_bytes == 0);
    CHECK(r.segment(1 + 1000, part(s, 1000, 1000), out).delivered_bytes == 0);
    CHECK(r.pending_bytes() == 2000);
    const TcpDelivery d = r.segment(1, part(s, 0, 1000), out);
    CHECK(d.delivered_bytes == 3000);
    CHECK(d.gap_bytes == 0);
    CHECK(out == s);
    CHECK(r.pending_bytes() == 0);
}

TEST_CASE("retransmitted and overlapping bytes are delivered once") {
    const auto s = stream_of(4000);
    TcpReassembler r;
    r.syn(5000);
    std::vector<std::uint8_t> out;
    r.segment(5001, part(s, 0, 1000), out);
    r.segment(5001, part(s, 0, 1000), out);          // plain retransmission
    r.segment(5001 + 500, part(s, 500, 1000), out);  // overlaps the end, adds 500 new bytes
    r.segment(5001 + 3000, part(s, 3000, 1000), out);  // early
    r.segment(5001 + 2500, part(s, 2500, 1000), out);  // early, overlaps the held one
    r.segment(5001 + 1500, part(s, 1500, 1000), out);  // fills the hole
    CHECK(out == s);
    CHECK(r.duplicate_bytes() == 1000 + 500 + 500);
}

TEST_CASE("a keepalive probe and bytes before the stream start are ignored") {
    const auto s = stream_of(100);
    TcpReassembler r;
    r.syn(100);
    std::vector<std::uint8_t> out;
    r.segment(101, part(s, 0, 100), out);
    const std::vector<std::uint8_t> probe{0};
    CHECK(r.segment(101 + 99, probe, out).delivered_bytes == 0);  // keepalive: the last byte again
    CHECK(r.segment(90, part(s, 0, 5), out).delivered_bytes == 0);  // before the SYN's sequence number
    CHECK(r.pending_bytes() == 0);
    CHECK(out == s);
}

TEST_CASE("sequence numbers wrap around 2^32 and streams pass 4 GiB") {
    const auto s = stream_of(4000);
    TcpReassembler r;
    r.syn(0xffffffffu - 1500);
    std::vector<std::uint8_t> out;
    std::uint32_t seq = 0xffffffffu - 1499;
    for (std::size_t at = 0; at < s.size(); at += 1000, seq += 1000) r.segment(seq, part(s, at, 1000), out);
    CHECK(out == s);

    // Far into a long stream the offset keeps counting past 2^32 (only the low 32 bits are on the wire).
    // Gaps of 1 GiB get there without copying gigabytes.
    TcpReassembler big;
    big.syn(41);
    const std::vector<std::uint8_t> byte{0xab};
    std::uint32_t at = 42;
    big.segment(at, byte, out);
    for (int i = 0; i < 5; ++i) {
        at += 1u << 30;
        out.clear();
        CHECK(big.segment(at, byte, out).delivered_bytes == 0);
        const TcpDelivery d = big.flush_gaps(out);
        CHECK(d.gap_bytes == (std::uint64_t{1} << 30) - 1);
        CHECK(d.delivered_bytes == 1);
    }
    out.clear();
    CHECK(big.segment(at + 1, byte, out).delivered_bytes == 1);
    CHECK(big.segment(at, byte, out).delivered_bytes == 0);  // a retransmission, not 4 GiB ahead
    CHECK(big.next_offset() == (std::uint64_t{5} << 30) + 2);
}

TEST_CASE("a hole never filled becomes a gap at the end or when too much waits") {
    const auto s = stream_of(10'000);
    SUBCASE("flush_gaps at the end of the capture") {
        TcpReassembler r;
        r.syn(0);
        std::vector<std::uint8_t> out;
        r.segment(1, part(s, 0, 1000), out);
        r.segment(1 + 2000, part(s, 2000, 1000), out);  // 1000..1999 were never captured
        const TcpDelivery d = r.flush_gaps(out);
        CHECK(d.gap_bytes == 1000);
        CHECK(d.delivered_bytes == 1000);
        CHECK(r.gap_bytes() == 1000);
        CHECK(out.size() == 2000);
        CHECK(std::equal(out.begin() + 1000, out.end(), s.begin() + 2000));
    }
    SUBCASE("the pending limit") {
        TcpReassembler r(TcpReassemblyLimits{.max_pending_bytes = 3000});
        r.syn(0);
        std::vector<std::uint8_t> out;
        r.segment(1, part(s, 0, 1000), out);
        CHECK(r.segment(1 + 2000, part(s, 2000, 2000), out).delivered_bytes == 0);
        const TcpDelivery d = r.segment(1 + 4000, part(s, 4000, 2000), out);  // 4000 held > 3000
        CHECK(d.gap_bytes == 1000);
        CHECK(d.delivered_bytes == 4000);
        CHECK(r.pending_bytes() == 0);
        CHECK(r.next_offset() == 6000);
    }
}

TEST_CASE("without a SYN the first segment starts the stream") {
    const auto s = stream_of(2000);
    TcpReassembler r;
    std::vector<std::uint8_t> out;
    CHECK_FALSE(r.started());
    r.segment(123456, part(s, 0, 1000), out);
    CHECK(r.started());
    r.segment(124456, part(s, 1000, 1000), out);
    CHECK(out == s);
}

TEST_CASE("shuffled and duplicated segments within a window reassemble exactly") {
    std::mt19937 random(7);
    for (int round = 0; round < 20; ++round) {
        const auto s = stream_of(50'000 + round * 1000, static_cast<std::uint8_t>(round));
        // Cut into random segments, duplicate some, then shuffle within a window of 8 (as networks reorder).
        struct Segment {
            std::size_t at, size;
        };
        std::vector<Segment> segments;
        for (std::size_t at = 0; at < s.size();) {
            const std::size_t n = std::min<std::size_t>(s.size() - at, 1 + random() % 3000);
            segments.push_back({at, n});
            if (random() % 5 == 0) segments.push_back({at, n});
            if (random() % 7 == 0 && at > 100) segments.push_back({at - 100, std::min<std::size_t>(n + 100, s.size() - at + 100)});
            at += n;
        }
        for (std::size_t i = 0; i + 8 <= segments.size(); i += 8)
            std::shuffle(segments.begin() + static_cast<std::ptrdiff_t>(i),
                         segments.begin() + static_cast<std::ptrdiff_t>(i + 8), random);
        const std::uint32_t isn = static_cast<std::uint32_t>(random());
        TcpReassembler r;
        r.syn(isn);
        std::vector<std::uint8_t> out;
        for (const auto& seg : segments)
            r.segment(isn + 1 + static_cast<std::uint32_t>(seg.at), part(s, seg.at, seg.size), out);
        REQUIRE(out.size() == s.size());
        CHECK(out == s);
        CHECK(r.pending_bytes() == 0);
    }
}
