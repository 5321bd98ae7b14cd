// The one way from spicecapd to frames, shared by every capture front end (the extcap, `spicecap record`,
// `spicecap stream`):
//
//   subscription (client/) -> records, drops, events -> frame encoder (pcap/spice_frames or
//   pcap/vsock_frames) -> capture filter (pcap/bpf_filter) -> FrameOutput (the front end's: a FIFO,
//   per-channel files, stdout)
//
// A front end chooses options and an output; it does not see records. Flushing follows the daemon: when
// everything it sent is handled, the output is flushed, so a record shows at once at low rates while high
// rates are written in large batches.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "base/expected.hpp"
#include "capture/capture_options.hpp"
#include "capture/frame_annotations.hpp"
#include "capture/frame_output.hpp"
#include "capture/live_view_pacer.hpp"
#include "client/subscription.hpp"
#include "pcap/bpf_filter.hpp"
#include "pcap/spice_frames.hpp"
#include "pcap/vsock_frames.hpp"

namespace spicecap::capture {

/// What a capture has done so far.
struct CaptureCounts {
    /// Records received from the daemon and encoded.
    std::uint64_t records = 0;
    /// Their payload bytes.
    std::uint64_t bytes = 0;
    /// Frames written to the output (after the filter).
    std::uint64_t frames_written = 0;
    /// Frames the capture filter rejected.
    std::uint64_t frames_filtered_out = 0;
    /// Records spicecapd dropped for this capture because it could not keep up.
    std::uint64_t dropped_records = 0;
};

/// Why a capture ended by itself.
enum class CaptureEnd {
    /// The daemon closed the subscription or broke the protocol.
    daemon,
    /// The output failed: the reader went away (a FIFO or pipe closed) or a file could not be written.
    output,
};

class CapturePipeline final : private SubscriptionHandler {
public:
    /// Called once when the capture ends by itself (never after stop()): what ended it, and one sentence.
    using EndHandler = std::function<void(CaptureEnd, const std::string&)>;
    /// Called for every DROP notice, after it is accounted for (the front end may show it).
    using DropHandler = std::function<void(const DropNotice&)>;

    /// Compiles the filter and subscribes to the daemon. The error is one sentence saying what to do
    /// (e.g. how to start spicecapd).
    static Expected<std::unique_ptr<CapturePipeline>, std::string> open(asio::io_context& io,
                                                                        const CaptureOptions& options,
                                                                        FrameOutput& output);
    ~CapturePipeline() override;
    CapturePipeline(const CapturePipeline&) = delete;
    CapturePipeline& operator=(const CapturePipeline&) = delete;

    /// Schedules the SPICE frames for Wireshark's live packet list (LiveViewPacer): link stages as pieces
    /// that end with their link results, then a pause. Only for Wireshark's GUI; call before start().
    void pace_for_live_view(LiveViewPacerOptions options = {});
    /// Starts handing frames to the output; runs on `io`.
    void start(EndHandler on_end, DropHandler on_drop = {});
    /// Stops receiving (the capture is being closed by its front end).
    void stop();
    /// The end of the capture: closes every open SPICE channel (FIN exchanges with --handshake), then
    /// flushes the output. Call after stop() or after the end handler ran.
    Expected<Ok, std::string> finish();

    const CaptureCounts& counts() const noexcept { return counts_; }
    const CaptureOptions& options() const noexcept { return options_; }

private:
    CapturePipeline(asio::io_context& io, const CaptureOptions& options, FrameOutput& output, BpfFilter filter);

    void on_record(const Record& record) override;
    void on_drop(const DropNotice& notice) override;
    void on_event(const Event& event) override;
    void on_idle() override;
    void on_end(const std::string& why) override;

    /// The sink the encoders write to while handling one record or event of `current_`: the filter, then
    /// the pacer if there is one, then write().
    void emit(const FrameMeta& meta, std::span<const std::uint8_t> frame);
    /// Hands one frame to the output.
    void write(const FrameStream& stream, const FrameMeta& meta, std::span<const std::uint8_t> frame);
    /// Pushes what was written to the reader; false (after end()) if the output failed.
    bool flush_output();
    /// Sets the pacer's timer for its next deadline.
    void arm_pacer();
    void end(CaptureEnd why, const std::string& sentence);

    asio::io_context& io_;
    CaptureOptions options_;
    FrameOutput& output_;
    BpfFilter filter_;
    std::unique_ptr<Subscription> subscription_;
    SpiceFrameEncoder spice_;
    vsock::VsockFrameEncoder vsock_;
    FrameSink sink_;
    LiveViewPacer::Out write_;
    FrameStream current_;
    /// Comments and drop counts, for a pcapng capture.
    std::optional<FrameAnnotations> annotations_;
    std::optional<LiveViewPacer> pacer_;
    std::optional<asio::steady_timer> pacer_timer_;
    std::optional<LiveViewPacer::Clock::time_point> pacer_armed_for_;
    CaptureCounts counts_;
    EndHandler on_end_;
    DropHandler on_drop_;
    /// No more deliveries: stopped by the front end or ended by itself.
    bool stopped_ = false;
    /// The output failed: nothing more is written to it.
    bool output_failed_ = false;
};

}  // namespace spicecap::capture
