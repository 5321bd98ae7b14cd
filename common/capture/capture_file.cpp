// A capture stream in pcap or pcapng (see capture_file.hpp).
#include "capture/capture_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/clock.hpp"

namespace spicecap::capture {
namespace {

int snap_length(const CaptureOptions& options) {
    return options.kind == StreamKind::spice ? kDefaultSnapLength : static_cast<int>(vsock::max_record_size);
}

}  // namespace

FileInterface CaptureFile::interface_of(const CaptureOptions& options) {
    if (options.kind == StreamKind::spice) {
        return {"spice", "SPICE capture (spicecap): each SPICE channel in a synthesized Ethernet/IPv4/TCP connection"};
    }
    return {"usbvsock", "USB vsock capture (spicecap): USB transfers behind a 16-byte pseudo-header"};
}

Expected<CaptureFile, std::string> CaptureFile::open_fd(int fd, const CaptureOptions& options,
                                                        const FileInterface& interface) {
    return open(fd, options, interface);
}

Expected<CaptureFile, std::string> CaptureFile::open_path(const std::string& path, const CaptureOptions& options,
                                                          const FileInterface& interface) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Unexpected{"cannot create " + path + ": " + std::strerror(errno)};
    return open(fd, options, interface);
}

Expected<CaptureFile, std::string> CaptureFile::open(int fd, const CaptureOptions& options,
                                                     const FileInterface& interface) {
    const std::uint64_t now = wall_clock_ns();
    if (options.format == OutputFormat::pcap) {
        auto writer = PcapWriter::open_fd(fd, options.pcap_link_type(), snap_length(options));
        if (!writer) return Unexpected{writer.error()};
        return CaptureFile(Writer(std::move(*writer)), now);
    }
    PcapngInterface description;
    description.link_type = options.pcap_link_type();
    description.snap_length = static_cast<std::uint32_t>(snap_length(options));
    description.name = interface.name;
    description.description = interface.description;
    description.filter = options.filter;
    auto writer = PcapngWriter::open_fd(fd, PcapngWriter::this_machine(), {description});
    if (!writer) return Unexpected{writer.error()};
    return CaptureFile(Writer(std::move(*writer)), now);
}

Expected<Ok, std::string> CaptureFile::write(const FrameMeta& meta, std::span<const std::uint8_t> frame) {
    Expected<Ok, std::string> written = Ok{};
    if (auto* pcap = std::get_if<PcapWriter>(&writer_)) {
        written = pcap->write(meta.timestamp_ns, frame);
    } else {
        PcapngPacket packet;
        packet.timestamp_ns = meta.timestamp_ns;
        packet.bytes = frame;
        packet.comment = meta.comment;
        if (meta.drops_before > 0) packet.drop_count = meta.drops_before;
        written = std::get<PcapngWriter>(writer_).write(packet);
    }
    if (written) {
        ++frames_;
        bytes_ += frame.size();
    }
    return written;
}

Expected<Ok, std::string> CaptureFile::flush() {
    return std::visit([](auto& writer) { return writer.flush(); }, writer_);
}

Expected<Ok, std::string> CaptureFile::close(const FileStatistics& statistics) {
    if (auto* pcapng = std::get_if<PcapngWriter>(&writer_)) {
        const std::uint64_t now = wall_clock_ns();
        PcapngStatistics isb;
        isb.timestamp_ns = now;
        isb.start_ns = opened_ns_;
        isb.end_ns = now;
        isb.received = statistics.received;
        isb.dropped = statistics.dropped;
        isb.filter_accepted = statistics.filter_accepted;
        isb.comment = statistics.comment;
        (void)pcapng->write(isb);
    }
    return std::visit([](auto& writer) { return writer.close(); }, writer_);
}

}  // namespace spicecap::capture
