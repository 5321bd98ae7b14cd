// One capture as one stream (see stream_output.hpp).
#include "capture/stream_output.hpp"

#include "base/byte_size_text.hpp"
#include "capture/capture_pipeline.hpp"

namespace spicecap::capture {

FileStatistics capture_statistics(const CaptureOptions& options, const CaptureCounts& counts) {
    FileStatistics statistics;
    statistics.received = counts.frames_written + counts.frames_filtered_out;
    statistics.dropped = counts.dropped_records;
    statistics.filter_accepted = counts.frames_written;
    statistics.comment = "spicecapd sent " + std::to_string(counts.records) + " records (" +
                         byte_size_text(counts.bytes) + ") and dropped " + std::to_string(counts.dropped_records) +
                         " records for this capture; ";
    if (options.filter.empty()) {
        statistics.comment += std::to_string(counts.frames_written) + " frames, no capture filter";
    } else {
        statistics.comment += "the capture filter '" + options.filter + "' let " +
                              std::to_string(counts.frames_written) + " of " + std::to_string(statistics.received) +
                              " frames through";
    }
    return statistics;
}

Expected<std::unique_ptr<StreamOutput>, std::string> StreamOutput::open_fd(int fd, const CaptureOptions& options) {
    auto file = CaptureFile::open_fd(fd, options, CaptureFile::interface_of(options));
    if (!file) return Unexpected{file.error()};
    return std::unique_ptr<StreamOutput>(new StreamOutput(std::move(*file), options));
}

Expected<Ok, std::string> StreamOutput::write(const FrameStream&, const FrameMeta& meta,
                                              std::span<const std::uint8_t> frame) {
    return file_.write(meta, frame);
}

Expected<Ok, std::string> StreamOutput::flush() { return file_.flush(); }

Expected<Ok, std::string> StreamOutput::close(const CaptureCounts& counts) {
    return file_.close(capture_statistics(options_, counts));
}

}  // namespace spicecap::capture
