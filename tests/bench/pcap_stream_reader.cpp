// Reading a pcap stream from a FIFO: file header, then records (16-byte record header + captured bytes).
#include "pcap_stream_reader.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>

#include "bench_payload.hpp"

namespace spicecap::bench {
namespace {

constexpr std::size_t kFileHeaderBytes = 24;
constexpr std::size_t kRecordHeaderBytes = 16;
// Reads of up to 256 KiB (a FIFO rarely holds more than its 64 KiB) into a buffer small enough to stay in
// the CPU's L2 cache: reading into ever new memory would cost the reader more than the copy itself. The
// largest record (snap length 256 KiB + header) always fits after compaction.
constexpr std::size_t kReadBytes = 256 << 10;
constexpr std::size_t kBufferBytes = 768 << 10;
constexpr std::size_t kMaxRecordBytes = 256 << 10;

constexpr std::uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr std::uint32_t kMagicNano = 0xa1b23c4d;
// pcapng (what spicecap-extcap writes by default): block type and total length, then the block.
constexpr std::uint32_t kPcapngSectionHeader = 0x0A0D0D0A;
constexpr std::uint32_t kPcapngByteOrderMagic = 0x1A2B3C4D;
constexpr std::uint32_t kPcapngInterfaceDescription = 1;
constexpr std::uint32_t kPcapngEnhancedPacket = 6;
constexpr std::size_t kPcapngEnhancedPacketFixedBytes = 28;
constexpr int kLinkTypeEthernet = 1;
constexpr int kLinkTypeUpperPdu = 252;

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t be32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
std::uint32_t host32(const std::uint8_t* p, bool swapped) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return swapped ? __builtin_bswap32(v) : v;
}

std::int64_t wall_clock_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

PcapStreamReader::PcapStreamReader(const std::string& fifo, bool measure_latency) : measure_latency_(measure_latency) {
    // Non-blocking open: it succeeds with no writer yet, and poll() reports no hang-up until a writer came
    // and went, so the thread can wait for the writer with a timeout instead of blocking in open().
    fd_ = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) {
        totals_.error = "cannot open " + fifo + ": " + std::strerror(errno);
        return;
    }
    thread_ = std::thread([this] { run(); });
}

PcapStreamReader::~PcapStreamReader() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
}

PcapStreamTotals PcapStreamReader::finish(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // The thread ends by itself at EOF; past the deadline it is told to stop.
    while (thread_.joinable() && std::chrono::steady_clock::now() < deadline && !stop_) {
        if (eof_.load()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return std::move(totals_);
}

void PcapStreamReader::run() {
    std::vector<std::uint8_t> buffer(kBufferBytes);
    std::size_t begin = 0, end = 0;
    bool blocking = false;
    for (;;) {
        if (stop_.load(std::memory_order_relaxed)) break;
        if (begin == end) {
            begin = end = 0;
        } else if (buffer.size() - end < kReadBytes) {
            std::memmove(buffer.data(), buffer.data() + begin, end - begin);
            end -= begin;
            begin = 0;
        }
        const ssize_t n = ::read(fd_, buffer.data() + end, kReadBytes);
        if (n > 0) {
            if (!blocking && header_seen()) {
                // The writer is here, and it is always stopped in the end (EOF): from now on, wait in read()
                // like the raw pipe's reader, instead of poll() plus a read that finds nothing.
                ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
                blocking = true;
            }
            end += static_cast<std::size_t>(n);
            begin += parse(buffer.data() + begin, end - begin);
            if (!totals_.error.empty()) break;
            continue;
        }
        if (n == 0 && header_seen()) break;  // the writer closed the FIFO
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            totals_.error = std::string("read failed: ") + std::strerror(errno);
            break;
        }
        // Nothing to read (or no writer yet): wait for data without spinning, checking stop_ now and then.
        pollfd p{fd_, POLLIN, 0};
        ::poll(&p, 1, 20);
    }
    if (end > begin && totals_.error.empty()) totals_.error = std::to_string(end - begin) + " bytes of a partial record at the end";
    timespec cpu{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    totals_.cpu_seconds = static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) / 1e9;
    eof_ = true;
}

std::size_t PcapStreamReader::parse(const std::uint8_t* data, std::size_t size) {
    std::size_t used = 0;
    if (!header_seen()) {
        if (size < kFileHeaderBytes) return 0;
        std::uint32_t magic;
        std::memcpy(&magic, data, 4);
        if (magic == kPcapngSectionHeader) {
            pcapng_ = true;
            std::uint32_t order;
            std::memcpy(&order, data + 8, 4);
            byte_swapped_ = order != kPcapngByteOrderMagic;
            header_seen_ = true;
            return parse_pcapng(data, size);
        }
        if (magic == kMagicMicro || magic == kMagicNano) {
            byte_swapped_ = false;
        } else if (__builtin_bswap32(magic) == kMagicMicro || __builtin_bswap32(magic) == kMagicNano) {
            byte_swapped_ = true;
        } else {
            totals_.error = "not a pcap stream";
            return 0;
        }
        totals_.link_type = static_cast<int>(host32(data + 20, byte_swapped_) & 0x0fffffff);
        header_seen_ = true;
        used = kFileHeaderBytes;
    }
    if (pcapng_) return parse_pcapng(data, size);
    while (size - used >= kRecordHeaderBytes) {
        const std::uint8_t* record = data + used;
        const std::uint32_t caplen = host32(record + 8, byte_swapped_);
        if (caplen > kMaxRecordBytes) {
            totals_.error = "record of " + std::to_string(caplen) + " bytes: not a sane pcap stream";
            return used;
        }
        if (size - used < kRecordHeaderBytes + caplen) break;
        count_record(record + kRecordHeaderBytes, caplen);
        used += kRecordHeaderBytes + caplen;
    }
    publish();
    return used;
}

std::size_t PcapStreamReader::parse_pcapng(const std::uint8_t* data, std::size_t size) {
    std::size_t used = 0;
    while (size - used >= 12) {
        const std::uint8_t* block = data + used;
        const std::uint32_t type = host32(block, byte_swapped_);
        const std::uint32_t total = host32(block + 4, byte_swapped_);
        if (total < 12 || total % 4 != 0 || total > kMaxRecordBytes + 4096) {
            totals_.error = "pcapng block of " + std::to_string(total) + " bytes: not a sane pcapng stream";
            return used;
        }
        if (size - used < total) break;
        if (type == kPcapngInterfaceDescription) {
            totals_.link_type = static_cast<int>(host32(block + 8, byte_swapped_) & 0xffff);
        } else if (type == kPcapngEnhancedPacket) {
            const std::uint32_t caplen = host32(block + 20, byte_swapped_);
            if (kPcapngEnhancedPacketFixedBytes + caplen + 4 > total) {
                totals_.error = "pcapng packet of " + std::to_string(caplen) + " bytes in a block of " + std::to_string(total);
                return used;
            }
            count_record(block + kPcapngEnhancedPacketFixedBytes, caplen);
        }
        used += total;
    }
    publish();
    return used;
}

void PcapStreamReader::publish() {
    // Published once per read, not per record: at millions of records a second the clock reads add up.
    if (totals_.messages != messages_.load(std::memory_order_relaxed)) {
        last_message_ticks_.store(std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
        messages_.store(totals_.messages, std::memory_order_release);
    }
}

void PcapStreamReader::count_record(const std::uint8_t* frame, std::size_t caplen) {
    ++totals_.records;
    if (totals_.link_type == kLinkTypeEthernet) {
        // Ethernet II, IPv4, TCP, as spicecap synthesizes them (docs/formats.md).
        if (caplen < 14 + 20 + 20 || be16(frame + 12) != 0x0800) return;
        const std::uint8_t* ip = frame + 14;
        const std::size_t ip_header = (ip[0] & 0x0f) * 4u;
        const std::size_t ip_total = be16(ip + 2);
        if (ip[9] != 6 || ip_total > caplen - 14 || ip_header + 20 > ip_total) return;
        const std::uint8_t* tcp = ip + ip_header;
        const std::size_t tcp_header = (tcp[12] >> 4) * 4u;
        if (ip_header + tcp_header > ip_total) return;
        const std::size_t payload_size = ip_total - ip_header - tcp_header;
        if (payload_size == 0) return;
        // Follow each direction of each connection like Wireshark's TCP analysis does.
        std::uint64_t key;
        std::memcpy(&key, ip + 12, 8);  // source and destination address
        key ^= std::uint64_t{be32(tcp)} << 17;  // source and destination port
        const std::uint32_t seq = be32(tcp + 4);
        TcpFlow* flow = nullptr;
        for (auto& f : flows_) {
            if (f.key == key) flow = &f;
        }
        if (flow == nullptr) {
            flows_.push_back({key, seq});
            flow = &flows_.back();
        }
        if (seq != flow->next_seq) {
            ++totals_.tcp_gaps;
            totals_.tcp_gap_bytes += static_cast<std::uint32_t>(seq - flow->next_seq);
        }
        flow->next_seq = seq + static_cast<std::uint32_t>(payload_size);
        count_payload(tcp + tcp_header, payload_size);
    } else if (totals_.link_type == kLinkTypeUpperPdu) {
        // Wireshark's exported PDU: tags (u16 type, u16 length, value), up to the end-of-options tag 0.
        std::size_t at = 0;
        while (at + 4 <= caplen) {
            const std::uint16_t tag = be16(frame + at);
            const std::size_t length = be16(frame + at + 2);
            at += 4 + length;
            if (tag == 0) break;
        }
        if (at <= caplen) count_payload(frame + at, caplen - at);
    }
}

void PcapStreamReader::count_payload(const std::uint8_t* payload, std::size_t size) {
    totals_.payload_bytes += size;
    const auto header = BenchPayloadHeader::parse({payload, size});
    if (!header) return;
    if (header->sequence != next_sequence_) ++totals_.sequence_breaks;
    next_sequence_ = header->sequence + 1;
    if (measure_latency_ && header->sent_ns != 0) {
        totals_.latencies_ns.push_back(wall_clock_ns() - static_cast<std::int64_t>(header->sent_ns));
    }
    ++totals_.messages;
}

}  // namespace spicecap::bench
