// One capture as one stream (see stream_output.hpp).
#include "capture/stream_output.hpp"

#include "capture/capture_pipeline.hpp"

namespace spicecap::capture {

Expected<std::unique_ptr<StreamOutput>, std::string> StreamOutput::open_fd(int fd, const CaptureOptions& options) {
    auto writer = PcapWriter::open_fd(fd, options.pcap_link_type(),
                                      options.kind == StreamKind::spice ? kDefaultSnapLength
                                                                        : static_cast<int>(vsock::max_record_size));
    if (!writer) return Unexpected{writer.error()};
    return std::unique_ptr<StreamOutput>(new StreamOutput(std::move(*writer)));
}

StreamOutput::StreamOutput(PcapWriter writer) : writer_(std::move(writer)) {}

Expected<Ok, std::string> StreamOutput::write(const FrameStream&, const FrameMeta& meta,
                                              std::span<const std::uint8_t> frame) {
    return writer_.write(meta.timestamp_ns, frame);
}

Expected<Ok, std::string> StreamOutput::flush() { return writer_.flush(); }

Expected<Ok, std::string> StreamOutput::close(const CaptureCounts&) { return writer_.close(); }

}  // namespace spicecap::capture
