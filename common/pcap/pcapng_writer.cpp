// pcapng blocks and options (see pcapng_writer.hpp and docs/formats.md "pcapng").
#include "pcap/pcapng_writer.hpp"

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "base/byte_order.hpp"
#include "pcap/pipe_safety.hpp"

namespace spicecap {
namespace {

// Block types.
constexpr std::uint32_t kSectionHeaderBlock = 0x0A0D0D0A;
constexpr std::uint32_t kInterfaceDescriptionBlock = 0x00000001;
constexpr std::uint32_t kInterfaceStatisticsBlock = 0x00000005;
constexpr std::uint32_t kEnhancedPacketBlock = 0x00000006;
constexpr std::uint32_t kByteOrderMagic = 0x1A2B3C4D;

// Option codes (opt_comment is 1 in every block; the others are per block type).
constexpr std::uint16_t kOptEndOfOpt = 0;
constexpr std::uint16_t kOptComment = 1;
constexpr std::uint16_t kShbHardware = 2;
constexpr std::uint16_t kShbOs = 3;
constexpr std::uint16_t kShbUserAppl = 4;
constexpr std::uint16_t kIfName = 2;
constexpr std::uint16_t kIfDescription = 3;
constexpr std::uint16_t kIfTsresol = 9;
constexpr std::uint16_t kIfFilter = 11;
constexpr std::uint16_t kIfOs = 12;
constexpr std::uint16_t kEpbDropCount = 4;
constexpr std::uint16_t kIsbStartTime = 2;
constexpr std::uint16_t kIsbEndTime = 3;
constexpr std::uint16_t kIsbIfRecv = 4;
constexpr std::uint16_t kIsbIfDrop = 5;
constexpr std::uint16_t kIsbFilterAccept = 6;

/// if_tsresol 9: timestamps count nanoseconds.
constexpr std::uint8_t kNanosecondResolution = 9;
/// Buffered bytes that trigger a write by themselves, as a big stdio buffer would.
constexpr std::size_t kWriteAt = 256 * 1024;

std::size_t padded(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

/// Builds one block in place at the end of `out`: start(), body and options, finish().
class BlockBuilder {
public:
    BlockBuilder(std::vector<std::uint8_t>& out, std::uint32_t type) : out_(out), start_(out.size()) {
        u32(type);
        u32(0);  // total length, set by finish()
    }

    void u16(std::uint16_t v) { put(v); }
    void u32(std::uint32_t v) { put(v); }
    void u64(std::uint64_t v) { put(v); }
    /// A 64-bit timestamp as pcapng stores it: high 32 bits, then low 32 bits.
    void timestamp(std::uint64_t v) {
        u32(static_cast<std::uint32_t>(v >> 32));
        u32(static_cast<std::uint32_t>(v));
    }
    void bytes(std::span<const std::uint8_t> b) {
        out_.insert(out_.end(), b.begin(), b.end());
        out_.resize(out_.size() + padded(b.size()) - b.size(), 0);
    }
    void option(std::uint16_t code, std::span<const std::uint8_t> value) {
        u16(code);
        u16(static_cast<std::uint16_t>(value.size()));
        bytes(value);
        options_ = true;
    }
    void option(std::uint16_t code, std::string_view text) {
        if (text.empty()) return;
        // An option's length is 16 bits: longer text is cut.
        text = text.substr(0, 0xFFFC);
        option(code, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    }
    void option_u64(std::uint16_t code, std::uint64_t v) {
        std::uint8_t value[8];
        little_endian::store<std::uint64_t>(value, v);
        option(code, value);
    }
    void option_timestamp(std::uint16_t code, std::uint64_t v) {
        std::uint8_t value[8];
        little_endian::store<std::uint32_t>(value, static_cast<std::uint32_t>(v >> 32));
        little_endian::store<std::uint32_t>(value + 4, static_cast<std::uint32_t>(v));
        option(code, value);
    }
    void finish() {
        if (options_) {
            u16(kOptEndOfOpt);
            u16(0);
        }
        const auto total = static_cast<std::uint32_t>(out_.size() - start_ + 4);
        u32(total);
        little_endian::store<std::uint32_t>(out_.data() + start_ + 4, total);
    }

private:
    template <typename T>
    void put(T v) {
        const std::size_t at = out_.size();
        out_.resize(at + sizeof(T));
        little_endian::store<T>(out_.data() + at, v);
    }

    std::vector<std::uint8_t>& out_;
    std::size_t start_;
    bool options_ = false;
};

std::string cpu_model() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("model name", 0) != 0) continue;
        const auto colon = line.find(':');
        if (colon == std::string::npos) break;
        const auto start = line.find_first_not_of(" \t", colon + 1);
        return start == std::string::npos ? std::string() : line.substr(start);
    }
    return {};
}

}  // namespace

PcapngSection PcapngWriter::this_machine() {
    PcapngSection section;
    section.application = "spicecap " SPICECAP_VERSION;
    utsname names{};
    if (::uname(&names) == 0) {
        section.os = std::string(names.sysname) + " " + names.release;
        section.hardware = cpu_model();
        if (section.hardware.empty()) section.hardware = names.machine;
    }
    return section;
}

Expected<PcapngWriter, std::string> PcapngWriter::open_path(const std::string& path, const PcapngSection& section,
                                                            const std::vector<PcapngInterface>& interfaces) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Unexpected{"cannot create " + path + ": " + std::strerror(errno)};
    return open_fd(fd, section, interfaces);
}

Expected<PcapngWriter, std::string> PcapngWriter::open_fd(int fd, const PcapngSection& section,
                                                          const std::vector<PcapngInterface>& interfaces) {
    ignore_sigpipe();
    PcapngWriter writer(fd);
    writer.buffer_.reserve(kWriteAt + 70'000);
    {
        BlockBuilder shb(writer.buffer_, kSectionHeaderBlock);
        shb.u32(kByteOrderMagic);
        shb.u16(1);  // major version
        shb.u16(0);  // minor version
        shb.u64(~std::uint64_t{0});  // section length: not given
        shb.option(kShbHardware, section.hardware);
        shb.option(kShbOs, section.os);
        shb.option(kShbUserAppl, section.application);
        shb.finish();
    }
    for (const PcapngInterface& interface : interfaces) {
        BlockBuilder idb(writer.buffer_, kInterfaceDescriptionBlock);
        idb.u16(static_cast<std::uint16_t>(interface.link_type));
        idb.u16(0);  // reserved
        idb.u32(interface.snap_length);
        idb.option(kIfName, interface.name);
        idb.option(kIfDescription, interface.description);
        const std::uint8_t resolution = kNanosecondResolution;
        idb.option(kIfTsresol, std::span(&resolution, 1));
        if (!interface.filter.empty()) {
            // First byte 0: the filter is a libpcap filter string.
            std::vector<std::uint8_t> filter{0};
            filter.insert(filter.end(), interface.filter.begin(), interface.filter.end());
            idb.option(kIfFilter, filter);
        }
        idb.option(kIfOs, interface.os);
        idb.finish();
        writer.snap_lengths_.push_back(interface.snap_length);
    }
    if (auto flushed = writer.flush(); !flushed) return Unexpected{flushed.error()};
    return writer;
}

PcapngWriter::PcapngWriter(PcapngWriter&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      buffer_(std::move(other.buffer_)),
      snap_lengths_(std::move(other.snap_lengths_)),
      packets_(other.packets_),
      failure_(std::move(other.failure_)) {}

PcapngWriter& PcapngWriter::operator=(PcapngWriter&& other) noexcept {
    if (this != &other) {
        (void)close();
        fd_ = std::exchange(other.fd_, -1);
        buffer_ = std::move(other.buffer_);
        snap_lengths_ = std::move(other.snap_lengths_);
        packets_ = other.packets_;
        failure_ = std::move(other.failure_);
    }
    return *this;
}

PcapngWriter::~PcapngWriter() { (void)close(); }

Expected<Ok, std::string> PcapngWriter::check() const {
    if (!failure_.empty()) return Unexpected{failure_};
    if (fd_ < 0) return Unexpected{std::string("the pcapng output is closed")};
    return Ok{};
}

Expected<Ok, std::string> PcapngWriter::write(const PcapngPacket& packet) {
    if (auto ok = check(); !ok) return ok;
    if (packet.interface_id >= snap_lengths_.size()) {
        return Unexpected{"packet for interface " + std::to_string(packet.interface_id) + ", which was not described"};
    }
    const std::size_t captured = std::min<std::size_t>(packet.bytes.size(), snap_lengths_[packet.interface_id]);
    BlockBuilder epb(buffer_, kEnhancedPacketBlock);
    epb.u32(packet.interface_id);
    epb.timestamp(packet.timestamp_ns);
    epb.u32(static_cast<std::uint32_t>(captured));
    epb.u32(static_cast<std::uint32_t>(packet.bytes.size()));
    epb.bytes(packet.bytes.first(captured));
    epb.option(kOptComment, packet.comment);
    if (packet.drop_count) epb.option_u64(kEpbDropCount, *packet.drop_count);
    epb.finish();
    ++packets_;
    if (buffer_.size() >= kWriteAt) return flush();
    return Ok{};
}

Expected<Ok, std::string> PcapngWriter::write(const PcapngStatistics& statistics) {
    if (auto ok = check(); !ok) return ok;
    BlockBuilder isb(buffer_, kInterfaceStatisticsBlock);
    isb.u32(statistics.interface_id);
    isb.timestamp(statistics.timestamp_ns);
    isb.option(kOptComment, statistics.comment);
    isb.option_timestamp(kIsbStartTime, statistics.start_ns);
    isb.option_timestamp(kIsbEndTime, statistics.end_ns);
    isb.option_u64(kIsbIfRecv, statistics.received);
    isb.option_u64(kIsbIfDrop, statistics.dropped);
    isb.option_u64(kIsbFilterAccept, statistics.filter_accepted);
    isb.finish();
    return Ok{};
}

Expected<Ok, std::string> PcapngWriter::flush() {
    if (auto ok = check(); !ok) return ok;
    std::size_t done = 0;
    while (done < buffer_.size()) {
        const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            failure_ = "pcapng write failed: " + output_error_text(errno);
            return Unexpected{failure_};
        }
        done += static_cast<std::size_t>(n);
    }
    buffer_.clear();
    return Ok{};
}

Expected<Ok, std::string> PcapngWriter::close() {
    if (fd_ < 0) return Ok{};
    auto flushed = failure_.empty() ? flush() : Expected<Ok, std::string>(Unexpected{failure_});
    ::close(fd_);
    fd_ = -1;
    return flushed;
}

}  // namespace spicecap
