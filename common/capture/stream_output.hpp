// The frames of one capture as one stream on a file descriptor: Wireshark's FIFO (the extcap) or standard
// output (`spicecap stream`), in the capture's format. The header is written at once, so a reader sees a
// valid stream before the first frame; a reader that goes away makes write and flush fail with a sentence,
// never a SIGPIPE.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "base/expected.hpp"
#include "capture/capture_file.hpp"
#include "capture/capture_options.hpp"
#include "capture/frame_output.hpp"

namespace spicecap::capture {

struct CaptureCounts;

/// The interface statistics of a whole capture, from its counts.
FileStatistics capture_statistics(const CaptureOptions& options, const CaptureCounts& counts);

class StreamOutput final : public FrameOutput {
public:
    /// Takes ownership of `fd` and writes the header of a stream for captures with `options`.
    static Expected<std::unique_ptr<StreamOutput>, std::string> open_fd(int fd, const CaptureOptions& options);

    Expected<Ok, std::string> write(const FrameStream& stream, const FrameMeta& meta,
                                    std::span<const std::uint8_t> frame) override;
    Expected<Ok, std::string> flush() override;
    /// Ends the stream (pcapng: with the capture's statistics) and closes it.
    Expected<Ok, std::string> close(const CaptureCounts& counts);

private:
    StreamOutput(CaptureFile file, const CaptureOptions& options) : file_(std::move(file)), options_(options) {}

    CaptureFile file_;
    CaptureOptions options_;
};

}  // namespace spicecap::capture
