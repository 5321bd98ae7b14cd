// Writes pcapng (draft-ietf-opsawg-pcapng) to a file or an open descriptor such as the FIFO Wireshark
// hands an extcap: a Section Header Block naming the writer, one Interface Description Block per
// interface, Enhanced Packet Blocks with comments and drop counts, Interface Statistics Blocks. libpcap
// 1.10 reads pcapng but cannot write it, hence this writer; docs/formats.md lists the blocks and options.
//
// Blocks are built in a buffer and written in large writes; flush() pushes them out (callers flush when
// their input goes idle). When the reader of a FIFO or pipe goes away, write and flush return an error
// saying so: the process does not die of SIGPIPE.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/expected.hpp"

namespace spicecap {

/// What the Section Header Block says about who wrote the file.
struct PcapngSection {
    /// shb_userappl, e.g. "spicecap 0.1.0".
    std::string application;
    /// shb_os, e.g. "Linux 6.1.0-28-amd64".
    std::string os;
    /// shb_hardware, e.g. the CPU model.
    std::string hardware;
};

/// One Interface Description Block.
struct PcapngInterface {
    /// The link type (LINKTYPE_*) of its packets.
    int link_type = 1;
    /// The largest number of bytes of a packet written; longer packets are cut (their length kept).
    std::uint32_t snap_length = 262144;
    /// if_name, e.g. "spice".
    std::string name;
    /// if_description, e.g. "SPICE capture (spicecap)".
    std::string description;
    /// if_filter, the libpcap capture filter in force; empty for none.
    std::string filter;
    /// if_os, if it differs from the section's; empty for none.
    std::string os;
};

/// One Enhanced Packet Block.
struct PcapngPacket {
    /// Which interface (its index in the order they were described).
    std::uint32_t interface_id = 0;
    /// When, in ns since the Unix epoch (every interface has if_tsresol 9).
    std::uint64_t timestamp_ns = 0;
    /// The packet's bytes.
    std::span<const std::uint8_t> bytes;
    /// opt_comment; empty for none.
    std::string_view comment;
    /// epb_dropcount: packets lost between the previous packet and this one; nothing for none.
    std::optional<std::uint64_t> drop_count;
};

/// One Interface Statistics Block: what happened on an interface over a capture.
struct PcapngStatistics {
    /// Which interface.
    std::uint32_t interface_id = 0;
    /// When the statistics were taken, ns since the Unix epoch.
    std::uint64_t timestamp_ns = 0;
    /// isb_starttime / isb_endtime: the capture's start and end, ns since the Unix epoch.
    std::uint64_t start_ns = 0;
    std::uint64_t end_ns = 0;
    /// isb_ifrecv: packets the interface received.
    std::uint64_t received = 0;
    /// isb_ifdrop: packets the interface dropped.
    std::uint64_t dropped = 0;
    /// isb_filteraccept: packets the capture filter accepted.
    std::uint64_t filter_accepted = 0;
    /// opt_comment; empty for none.
    std::string comment;
};

class PcapngWriter {
public:
    /// Takes ownership of `fd` and writes the section header and the interface descriptions at once, so a
    /// reader sees a valid stream before the first packet.
    static Expected<PcapngWriter, std::string> open_fd(int fd, const PcapngSection& section,
                                                       const std::vector<PcapngInterface>& interfaces);
    /// Creates (truncates) `path` and writes the headers.
    static Expected<PcapngWriter, std::string> open_path(const std::string& path, const PcapngSection& section,
                                                         const std::vector<PcapngInterface>& interfaces);

    PcapngWriter(PcapngWriter&& other) noexcept;
    PcapngWriter& operator=(PcapngWriter&& other) noexcept;
    PcapngWriter(const PcapngWriter&) = delete;
    PcapngWriter& operator=(const PcapngWriter&) = delete;
    ~PcapngWriter();

    /// Appends one Enhanced Packet Block (buffered). Fails once the output has failed.
    Expected<Ok, std::string> write(const PcapngPacket& packet);
    /// Appends one Interface Statistics Block (buffered).
    Expected<Ok, std::string> write(const PcapngStatistics& statistics);
    /// Pushes buffered blocks to the output.
    Expected<Ok, std::string> flush();
    /// Flushes and closes; further writes fail.
    Expected<Ok, std::string> close();

    std::uint64_t packets_written() const noexcept { return packets_; }

    /// This machine, as the section header describes it: spicecap's version, the OS and its release, the CPU.
    static PcapngSection this_machine();

private:
    explicit PcapngWriter(int fd) : fd_(fd) {}
    Expected<Ok, std::string> check() const;

    int fd_ = -1;
    std::vector<std::uint8_t> buffer_;
    std::vector<std::uint32_t> snap_lengths_;
    std::uint64_t packets_ = 0;
    std::string failure_;
};

}  // namespace spicecap
