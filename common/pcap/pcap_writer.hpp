// Writes pcap files and streams (nanosecond precision) through libpcap, to a path or to an already open
// file descriptor such as the FIFO Wireshark hands an extcap.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/expected.hpp"

typedef struct pcap pcap_t;
typedef struct pcap_dumper pcap_dumper_t;

namespace spicecap {

/// Link-layer header types spicecap writes (values of LINKTYPE_* / DLT_*).
inline constexpr int kLinkTypeEthernet = 1;
/// Frames up to this size are written whole: the largest synthesized TCP segment is 65549 bytes.
inline constexpr int kDefaultSnapLength = 262144;

/// A pcap output. Move-only; closing flushes. When the reader of a FIFO or pipe goes away, write and
/// flush return an error saying so: the process does not die of SIGPIPE (opening a writer sets SIGPIPE
/// to ignored, as a process that writes to a pipe it does not own must).
class PcapWriter {
public:
    /// Creates (truncates) `path` and writes the pcap file header.
    static Expected<PcapWriter, std::string> open_path(const std::string& path, int link_type,
                                                       int snap_length = kDefaultSnapLength);
    /// Takes ownership of `fd` (e.g. a FIFO opened for writing) and writes the pcap file header to it at
    /// once, so a reader sees a valid stream before the first record.
    static Expected<PcapWriter, std::string> open_fd(int fd, int link_type, int snap_length = kDefaultSnapLength);

    PcapWriter(PcapWriter&& other) noexcept;
    PcapWriter& operator=(PcapWriter&& other) noexcept;
    PcapWriter(const PcapWriter&) = delete;
    PcapWriter& operator=(const PcapWriter&) = delete;
    ~PcapWriter();

    /// Appends one record (buffered). `frame` longer than the snap length is truncated to it, with its
    /// original length recorded. Fails once the output has failed (e.g. the reader went away).
    Expected<Ok, std::string> write(std::uint64_t timestamp_ns, std::span<const std::uint8_t> frame);
    /// Pushes buffered records to the output.
    Expected<Ok, std::string> flush();
    /// Flushes and closes; further writes fail.
    Expected<Ok, std::string> close();

    int link_type() const noexcept { return link_type_; }
    std::uint64_t records_written() const noexcept { return records_; }

private:
    PcapWriter(pcap_t* pcap, pcap_dumper_t* dumper, int link_type, int snap_length);
    Expected<Ok, std::string> check_stream(const char* what);

    pcap_t* pcap_ = nullptr;
    pcap_dumper_t* dumper_ = nullptr;
    int link_type_ = 0;
    int snap_length_ = 0;
    std::uint64_t records_ = 0;
    std::string failure_;
};

}  // namespace spicecap
