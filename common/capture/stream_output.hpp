// The frames of one capture as one stream on a file descriptor: Wireshark's FIFO (the extcap) or standard
// output (`spicecap stream`). The file header is written at once, so a reader sees a valid stream before
// the first frame; a reader that goes away makes write and flush fail with a sentence, never a SIGPIPE.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "base/expected.hpp"
#include "capture/capture_options.hpp"
#include "capture/frame_output.hpp"
#include "pcap/pcap_writer.hpp"

namespace spicecap::capture {

struct CaptureCounts;

class StreamOutput final : public FrameOutput {
public:
    /// Takes ownership of `fd` and writes the header of a stream for captures with `options`.
    static Expected<std::unique_ptr<StreamOutput>, std::string> open_fd(int fd, const CaptureOptions& options);

    Expected<Ok, std::string> write(const FrameStream& stream, const FrameMeta& meta,
                                    std::span<const std::uint8_t> frame) override;
    Expected<Ok, std::string> flush() override;
    /// Ends the stream (with what the capture counted, where the format has room for it) and closes it.
    Expected<Ok, std::string> close(const CaptureCounts& counts);

private:
    explicit StreamOutput(PcapWriter writer);

    PcapWriter writer_;
};

}  // namespace spicecap::capture
