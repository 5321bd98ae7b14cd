// pcap output through libpcap's dumper, with errors instead of SIGPIPE deaths.
#include "pcap/pcap_writer.hpp"

#include "pcap/pipe_safety.hpp"

#include <pcap/pcap.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <utility>

namespace spicecap {
namespace {

// A bigger stdio buffer than the default 4 KiB: at millions of small records a second, every write(2)
// saved counts. Callers flush when the input goes idle, so latency stays low at low rates.
constexpr std::size_t kStreamBufferBytes = 256 * 1024;

}  // namespace

PcapWriter::PcapWriter(pcap_t* pcap, pcap_dumper_t* dumper, int link_type, int snap_length)
    : pcap_(pcap), dumper_(dumper), link_type_(link_type), snap_length_(snap_length) {}

Expected<PcapWriter, std::string> PcapWriter::open_path(const std::string& path, int link_type, int snap_length) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Unexpected{"cannot create " + path + ": " + std::strerror(errno)};
    return open_fd(fd, link_type, snap_length);
}

Expected<PcapWriter, std::string> PcapWriter::open_fd(int fd, int link_type, int snap_length) {
    ignore_sigpipe();
    pcap_t* pcap = pcap_open_dead_with_tstamp_precision(link_type, snap_length, PCAP_TSTAMP_PRECISION_NANO);
    if (pcap == nullptr) {
        ::close(fd);
        return Unexpected{std::string("libpcap cannot open a writer for link type ") + std::to_string(link_type)};
    }
    FILE* stream = fdopen(fd, "wb");
    if (stream == nullptr) {
        const int err = errno;
        ::close(fd);
        pcap_close(pcap);
        return Unexpected{std::string("cannot write to file descriptor: ") + std::strerror(err)};
    }
    std::setvbuf(stream, nullptr, _IOFBF, kStreamBufferBytes);
    pcap_dumper_t* dumper = pcap_dump_fopen(pcap, stream);
    if (dumper == nullptr) {
        std::string err = pcap_geterr(pcap);
        std::fclose(stream);
        pcap_close(pcap);
        return Unexpected{"libpcap cannot write a pcap stream: " + err};
    }
    PcapWriter writer(pcap, dumper, link_type, snap_length);
    if (auto flushed = writer.flush(); !flushed) return Unexpected{flushed.error()};
    return writer;
}

PcapWriter::PcapWriter(PcapWriter&& other) noexcept
    : pcap_(std::exchange(other.pcap_, nullptr)),
      dumper_(std::exchange(other.dumper_, nullptr)),
      link_type_(other.link_type_),
      snap_length_(other.snap_length_),
      records_(other.records_),
      failure_(std::move(other.failure_)) {}

PcapWriter& PcapWriter::operator=(PcapWriter&& other) noexcept {
    if (this != &other) {
        (void)close();
        pcap_ = std::exchange(other.pcap_, nullptr);
        dumper_ = std::exchange(other.dumper_, nullptr);
        link_type_ = other.link_type_;
        snap_length_ = other.snap_length_;
        records_ = other.records_;
        failure_ = std::move(other.failure_);
    }
    return *this;
}

PcapWriter::~PcapWriter() { (void)close(); }

Expected<Ok, std::string> PcapWriter::check_stream(const char* what) {
    if (!failure_.empty()) return Unexpected{failure_};
    FILE* stream = pcap_dump_file(dumper_);
    if (std::ferror(stream)) {
        failure_ = std::string("pcap ") + what + " failed: " + output_error_text(errno);
        return Unexpected{failure_};
    }
    return Ok{};
}

Expected<Ok, std::string> PcapWriter::write(std::uint64_t timestamp_ns, std::span<const std::uint8_t> frame) {
    if (dumper_ == nullptr) return Unexpected{failure_.empty() ? std::string("pcap writer is closed") : failure_};
    if (!failure_.empty()) return Unexpected{failure_};
    pcap_pkthdr header{};
    // With nanosecond precision, libpcap's dumper stores tv_usec as the nanosecond part.
    header.ts.tv_sec = static_cast<time_t>(timestamp_ns / 1'000'000'000u);
    header.ts.tv_usec = static_cast<suseconds_t>(timestamp_ns % 1'000'000'000u);
    header.len = static_cast<bpf_u_int32>(frame.size());
    header.caplen = static_cast<bpf_u_int32>(std::min<std::size_t>(frame.size(), static_cast<std::size_t>(snap_length_)));
    errno = 0;
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &header, frame.data());
    ++records_;
    return check_stream("write");
}

Expected<Ok, std::string> PcapWriter::flush() {
    if (dumper_ == nullptr) return Unexpected{failure_.empty() ? std::string("pcap writer is closed") : failure_};
    if (!failure_.empty()) return Unexpected{failure_};
    errno = 0;
    if (pcap_dump_flush(dumper_) != 0) {
        failure_ = "pcap flush failed: " + output_error_text(errno);
        return Unexpected{failure_};
    }
    return check_stream("flush");
}

Expected<Ok, std::string> PcapWriter::close() {
    if (dumper_ == nullptr) return Ok{};
    auto flushed = flush();
    pcap_dump_close(dumper_);
    pcap_close(pcap_);
    dumper_ = nullptr;
    pcap_ = nullptr;
    if (!flushed) return flushed;
    return Ok{};
}

}  // namespace spicecap
