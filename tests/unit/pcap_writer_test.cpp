// pcap writer: nanosecond round trip through libpcap's reader, FIFO streaming, reader going away.
#include <doctest/doctest.h>

#include "pcap/bpf_filter.hpp"
#include "pcap/pcap_writer.hpp"
#include "pcap/tcp_synth.hpp"

#include <pcap/pcap.h>

#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace spicecap;

namespace {

std::string temp_path(const char* name) {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir ? dir : "/tmp") + "/spicecap-test-" + std::to_string(getpid()) + "-" + name;
}

struct ReadRecord {
    std::uint64_t ts_ns;
    std::uint32_t len;
    std::vector<std::uint8_t> bytes;
};

std::vector<ReadRecord> read_all(const std::string& path, int* link_type = nullptr) {
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
    REQUIRE_MESSAGE(p != nullptr, err);
    if (link_type) *link_type = pcap_datalink(p);
    std::vector<ReadRecord> out;
    pcap_pkthdr* h;
    const u_char* data;
    while (pcap_next_ex(p, &h, &data) == 1) {
        out.push_back({static_cast<std::uint64_t>(h->ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(h->ts.tv_usec),
                       h->len, {data, data + h->caplen}});
    }
    pcap_close(p);
    return out;
}

}  // namespace

TEST_CASE("records round-trip through libpcap with nanosecond timestamps") {
    const std::string path = temp_path("roundtrip.pcap");
    {
        auto w = PcapWriter::open_path(path, kLinkTypeEthernet);
        REQUIRE_MESSAGE(w, (w ? "" : w.error()));
        TcpStreamSynthesizer synth(spice_endpoints(0, 1, 0));
        std::vector<std::uint8_t> big(200 * 1024, 0x5a);
        synth.message(Direction::client_to_server, std::vector<std::uint8_t>{1, 2, 3}, FrameMeta{.timestamp_ns = 1'700'000'000'000'000'001ull},
                      [&](const FrameMeta& meta, std::span<const std::uint8_t> f) { REQUIRE(w->write(meta.timestamp_ns, f)); });
        synth.message(Direction::server_to_client, big, FrameMeta{.timestamp_ns = 1'700'000'000'999'999'999ull},
                      [&](const FrameMeta& meta, std::span<const std::uint8_t> f) { REQUIRE(w->write(meta.timestamp_ns, f)); });
        CHECK(w->records_written() == 1 + 4);
        REQUIRE(w->close());
    }
    int link_type = 0;
    const auto records = read_all(path, &link_type);
    CHECK(link_type == DLT_EN10MB);
    REQUIRE(records.size() == 5);
    CHECK(records[0].ts_ns == 1'700'000'000'000'000'001ull);
    CHECK(records[0].bytes.size() == kFrameHeaderBytes + 3);
    CHECK(records[1].ts_ns == 1'700'000'000'999'999'999ull);
    CHECK(records[1].bytes.size() == kFrameHeaderBytes + kMaxSegmentPayload);
    CHECK(records[1].len == records[1].bytes.size());
    std::remove(path.c_str());
}

TEST_CASE("open_path reports a path that cannot be created") {
    auto w = PcapWriter::open_path("/nonexistent-dir/x.pcap", kLinkTypeEthernet);
    REQUIRE_FALSE(w);
    CHECK(w.error().find("/nonexistent-dir/x.pcap") != std::string::npos);
}

TEST_CASE("a FIFO gets the pcap header at once and a vanished reader is an error rather than SIGPIPE death") {
    const std::string fifo = temp_path("stream.fifo");
    ::unlink(fifo.c_str());
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);

    std::vector<std::uint8_t> header_seen;
    std::thread reader([&] {
        const int fd = ::open(fifo.c_str(), O_RDONLY);
        REQUIRE(fd >= 0);
        std::uint8_t buf[24];
        std::size_t got = 0;
        while (got < sizeof buf) {
            const ssize_t n = ::read(fd, buf + got, sizeof buf - got);
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
        }
        header_seen.assign(buf, buf + got);
        ::close(fd);  // go away before any record is read
    });
    const int fd = ::open(fifo.c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    auto w = PcapWriter::open_fd(fd, kLinkTypeEthernet);
    REQUIRE(w);
    reader.join();
    REQUIRE(header_seen.size() == 24);
    // Nanosecond pcap magic 0xa1b23c4d, written in host (little-endian) order.
    CHECK(header_seen[0] == 0x4d);
    CHECK(header_seen[1] == 0x3c);
    CHECK(header_seen[2] == 0xb2);
    CHECK(header_seen[3] == 0xa1);

    const std::vector<std::uint8_t> frame(1000, 0x11);
    bool failed = false;
    std::string reason;
    for (int i = 0; i < 1000 && !failed; ++i) {
        auto r = w->write(static_cast<std::uint64_t>(i), frame);
        if (r) r = w->flush();
        if (!r) {
            failed = true;
            reason = r.error();
        }
    }
    CHECK(failed);
    CHECK(reason.find("EPIPE") != std::string::npos);
    CHECK_FALSE(w->write(0, frame));  // stays failed
    ::unlink(fifo.c_str());
}

TEST_CASE("BPF filters run on synthesized frames and bad filters return the libpcap error") {
    auto inputs_only = BpfFilter::compile("tcp port 10003", kLinkTypeEthernet);
    REQUIRE(inputs_only);
    std::vector<std::vector<std::uint8_t>> frames;
    for (std::uint8_t channel : {1, 2, 3, 4}) {
        TcpStreamSynthesizer synth(spice_endpoints(0, channel, 0));
        synth.message(Direction::server_to_client, std::vector<std::uint8_t>{9, 9, 9}, FrameMeta{.timestamp_ns = 1},
                      [&](const FrameMeta&, std::span<const std::uint8_t> f) { frames.emplace_back(f.begin(), f.end()); });
    }
    REQUIRE(frames.size() == 4);
    CHECK_FALSE(inputs_only->matches(frames[0]));
    CHECK_FALSE(inputs_only->matches(frames[1]));
    CHECK(inputs_only->matches(frames[2]));
    CHECK_FALSE(inputs_only->matches(frames[3]));

    auto everything = BpfFilter::compile("  ", kLinkTypeEthernet);
    REQUIRE(everything);
    CHECK(everything->accepts_everything());
    CHECK(everything->matches(frames[0]));

    auto bad = BpfFilter::compile("tcp portt 1", kLinkTypeEthernet);
    REQUIRE_FALSE(bad);
    CHECK_FALSE(bad.error().empty());
    CHECK(bad.error().find("syntax error") != std::string::npos);
}
