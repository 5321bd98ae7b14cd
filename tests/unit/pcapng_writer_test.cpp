// PcapngWriter: the blocks and options it writes, read back by an independent block reader and by libpcap;
// a reader that goes away is an error, not a SIGPIPE.
#include <doctest/doctest.h>

#include <pcap/pcap.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "base/byte_order.hpp"
#include "pcap/pcapng_writer.hpp"
#include "temp_dir.hpp"

using namespace spicecap;

namespace {

using Bytes = std::vector<std::uint8_t>;

/// One block as the file holds it: type, body (between the lengths), options by code.
struct Block {
    std::uint32_t type = 0;
    Bytes body;
    std::multimap<std::uint16_t, Bytes> options;
    std::string option_text(std::uint16_t code) const {
        const auto it = options.find(code);
        return it == options.end() ? std::string() : std::string(it->second.begin(), it->second.end());
    }
    std::uint64_t option_u64(std::uint16_t code) const { return little_endian::load<std::uint64_t>(options.find(code)->second.data()); }
};

/// Splits a little-endian pcapng file into blocks, checking the framing every block must have.
std::vector<Block> read_blocks(const Bytes& file) {
    std::vector<Block> blocks;
    std::size_t at = 0;
    while (at < file.size()) {
        REQUIRE(file.size() - at >= 12);
        Block b;
        b.type = little_endian::load<std::uint32_t>(&file[at]);
        const auto total = little_endian::load<std::uint32_t>(&file[at + 4]);
        REQUIRE(total % 4 == 0);
        REQUIRE(at + total <= file.size());
        CHECK(little_endian::load<std::uint32_t>(&file[at + total - 4]) == total);  // trailing length
        b.body.assign(file.begin() + static_cast<std::ptrdiff_t>(at + 8), file.begin() + static_cast<std::ptrdiff_t>(at + total - 4));
        std::size_t fixed = 0;
        if (b.type == 0x0A0D0D0A) fixed = 16;
        if (b.type == 1) fixed = 8;
        if (b.type == 5) fixed = 12;
        if (b.type == 6) fixed = 20 + ((little_endian::load<std::uint32_t>(&b.body[12]) + 3) & ~3u);
        for (std::size_t o = fixed; o + 4 <= b.body.size();) {
            const auto code = little_endian::load<std::uint16_t>(&b.body[o]);
            const auto length = little_endian::load<std::uint16_t>(&b.body[o + 2]);
            if (code == 0) break;
            b.options.emplace(code, Bytes(b.body.begin() + static_cast<std::ptrdiff_t>(o + 4),
                                          b.body.begin() + static_cast<std::ptrdiff_t>(o + 4 + length)));
            o += 4 + ((length + 3u) & ~3u);
        }
        blocks.push_back(std::move(b));
        at += total;
    }
    return blocks;
}

Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("pcapng: section header and interface and packets with comments and drop counts and statistics") {
    test::TempDir dir;
    const std::string path = (dir.path() / "x.pcapng").string();
    PcapngSection section{"spicecap test", "Linux 6.1", "a CPU"};
    PcapngInterface interface{.link_type = 1, .snap_length = 100, .name = "spice", .description = "SPICE capture",
                              .filter = "tcp port 10002", .os = ""};
    const Bytes small(61, 0x11);   // odd length: padded
    const Bytes large(150, 0x22);  // above the snap length: cut, its length kept
    {
        auto w = PcapngWriter::open_path(path, section, {interface});
        REQUIRE_MESSAGE(w, (w ? "" : w.error()));
        REQUIRE(w->write(PcapngPacket{0, 1'700'000'000'123'456'789ull, small, "first · frame", 7}));
        REQUIRE(w->write(PcapngPacket{0, 1'700'000'001'000'000'001ull, large, "", std::nullopt}));
        CHECK_FALSE(w->write(PcapngPacket{1, 0, small, "", std::nullopt}));  // interface 1 was never described
        REQUIRE(w->write(PcapngStatistics{0, 1'700'000'002'000'000'000ull, 1'700'000'000'000'000'000ull,
                                          1'700'000'002'000'000'000ull, 10, 3, 2, "two of ten"}));
        CHECK(w->packets_written() == 2);
        REQUIRE(w->close());
    }
    const auto blocks = read_blocks(read_file(path));
    REQUIRE(blocks.size() == 5);
    CHECK(blocks[0].type == 0x0A0D0D0A);
    CHECK(little_endian::load<std::uint32_t>(blocks[0].body.data()) == 0x1A2B3C4D);
    CHECK(blocks[0].option_text(4) == "spicecap test");
    CHECK(blocks[0].option_text(3) == "Linux 6.1");
    CHECK(blocks[0].option_text(2) == "a CPU");

    CHECK(blocks[1].type == 1);
    CHECK(little_endian::load<std::uint16_t>(blocks[1].body.data()) == 1);
    CHECK(little_endian::load<std::uint32_t>(&blocks[1].body[4]) == 100);
    CHECK(blocks[1].option_text(2) == "spice");
    CHECK(blocks[1].option_text(3) == "SPICE capture");
    CHECK(blocks[1].options.find(9)->second == Bytes{9});                  // if_tsresol: nanoseconds
    CHECK(blocks[1].option_text(11) == std::string("\0tcp port 10002", 15));  // if_filter: a libpcap string

    CHECK(blocks[2].type == 6);
    const std::uint64_t ts = std::uint64_t{little_endian::load<std::uint32_t>(&blocks[2].body[4])} << 32 |
                             little_endian::load<std::uint32_t>(&blocks[2].body[8]);
    CHECK(ts == 1'700'000'000'123'456'789ull);
    CHECK(little_endian::load<std::uint32_t>(&blocks[2].body[12]) == 61);
    CHECK(blocks[2].option_text(1) == "first · frame");
    CHECK(blocks[2].option_u64(4) == 7);
    CHECK(little_endian::load<std::uint32_t>(&blocks[3].body[12]) == 100);  // captured: the snap length
    CHECK(little_endian::load<std::uint32_t>(&blocks[3].body[16]) == 150);  // original length
    CHECK(blocks[3].options.empty());

    CHECK(blocks[4].type == 5);
    CHECK(blocks[4].option_text(1) == "two of ten");
    CHECK(blocks[4].option_u64(4) == 10);
    CHECK(blocks[4].option_u64(5) == 3);
    CHECK(blocks[4].option_u64(6) == 2);

    // libpcap reads it too, with the nanosecond timestamps and the cut packet.
    char error[PCAP_ERRBUF_SIZE];
    pcap_t* pcap = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, error);
    REQUIRE_MESSAGE(pcap != nullptr, error);
    CHECK(pcap_datalink(pcap) == 1);
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    REQUIRE(pcap_next_ex(pcap, &header, &data) == 1);
    CHECK(header->ts.tv_sec == 1'700'000'000);
    CHECK(header->ts.tv_usec == 123'456'789);
    CHECK(std::memcmp(data, small.data(), small.size()) == 0);
    REQUIRE(pcap_next_ex(pcap, &header, &data) == 1);
    CHECK(header->caplen == 100);
    CHECK(header->len == 150);
    CHECK(pcap_next_ex(pcap, &header, &data) == PCAP_ERROR_BREAK);
    pcap_close(pcap);
}

TEST_CASE("pcapng: a reader that closes the pipe is an EPIPE error and every later write fails") {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    auto w = PcapngWriter::open_fd(fds[1], PcapngWriter::this_machine(), {PcapngInterface{}});
    REQUIRE(w);
    ::close(fds[0]);
    const Bytes frame(1000, 0x33);
    Expected<Ok, std::string> result = Ok{};
    for (int i = 0; i < 1000 && result; ++i) result = w->write(PcapngPacket{0, 1, frame, "", std::nullopt});
    if (result) result = w->flush();
    REQUIRE_FALSE(result);
    CHECK(result.error().find("EPIPE") != std::string::npos);
    CHECK_FALSE(w->write(PcapngPacket{0, 1, frame, "", std::nullopt}));
}

TEST_CASE("pcapng: the section names spicecap and this machine") {
    const auto section = PcapngWriter::this_machine();
    CHECK(section.application == "spicecap " SPICECAP_VERSION);
    CHECK(section.os.rfind("Linux ", 0) == 0);
    CHECK_FALSE(section.hardware.empty());
}
