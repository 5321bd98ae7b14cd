// Where a capture's frames go (common/capture/capture_pipeline.hpp): each front end of the pipeline has
// its own output, and every frame comes with the stream it belongs to.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/expected.hpp"
#include "pcap/frame_sink.hpp"
#include "wire/record.hpp"

namespace spicecap::capture {

/// Which stream a frame belongs to: a SPICE channel of a session, or a USB vsock link of a session.
struct FrameStream {
    /// SPICE or USB vsock.
    StreamKind kind = StreamKind::spice;
    /// The daemon's session id.
    std::uint32_t session = 0;
    /// SPICE: the channel type. USB vsock: 0.
    std::uint8_t channel_type = 0;
    /// SPICE: the channel id. USB vsock: the producer's link index.
    std::uint8_t channel_id = 0;
};

/// Where a capture's frames go. Errors are one sentence; the pipeline stops at the first.
class FrameOutput {
public:
    virtual ~FrameOutput() = default;
    /// One frame that passed the filter (never an empty one).
    virtual Expected<Ok, std::string> write(const FrameStream& stream, const FrameMeta& meta,
                                            std::span<const std::uint8_t> frame) = 0;
    /// Everything written so far should reach the reader now.
    virtual Expected<Ok, std::string> flush() = 0;
};

}  // namespace spicecap::capture
