// Schedules the frames a capture writes for Wireshark's live packet list, so that Wireshark 4.0's SPICE
// dissector decodes them right there, not only in `tshark -r`.
//
// Why (docs/wireshark-live-redissection.md has the evidence): the SPICE dissector keeps each channel's
// link-stage state in its conversation and advances it whenever it dissects a link-stage frame, also when
// the packet list dissects an older row again to draw it (pinfo->fd->visited). Drawing a link-stage row
// after later frames of its channel were read rewinds that state, and every frame read afterwards is
// decoded as if it were the next link-stage message. Re-dissecting a channel's link result is harmless
// (it leaves the state at "data"), and the Qt packet list draws the newest rows of each batch it reads,
// in order, last.
//
// So the pacer
//  - writes link stages that come together (a new subscriber's preamble, channels opening at once) as one
//    piece that ends with all their link results. Frames that arrived meanwhile keep their order within
//    their own stream: other streams' data stays before the results, and a stream's own data after its
//    link result waits behind the piece (it starts the next batch). A piece is complete when no link stage
//    is open and a data frame follows, or the caller says the burst is over (end_of_burst());
//  - then holds everything else back for `settle`: dumpcap hands frames to Wireshark in batches (at most
//    every 500 ms), and the pause makes the link results the last rows of their batch, which Wireshark
//    draws before it reads the next batch. Link stages completed during the pause are written when it
//    ends, after what was held, and start a new pause: two pieces never share a batch.
// Data with no link stage in flight passes straight through. The held bytes are bounded: beyond
// `max_held_bytes` everything held is written at once (the guarantee is lost, never memory or data).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <span>
#include <vector>

#include "capture/frame_output.hpp"
#include "pcap/frame_sink.hpp"

namespace spicecap::capture {

struct LiveViewPacerOptions {
    /// How long output pauses after a link stage: longer than dumpcap's 500 ms update interval plus its
    /// pipe polling, so that the link stage ends a batch Wireshark reads (and draws) by itself.
    std::chrono::milliseconds settle{1000};
    /// A link stage whose end never comes (a stalled producer) stops holding frames after this long.
    std::chrono::milliseconds max_link_stage_wait{2000};
    /// Frames held beyond this many bytes are written at once.
    std::size_t max_held_bytes = 64u << 20;
};

class LiveViewPacer {
public:
    using Clock = std::chrono::steady_clock;
    /// Where the pacer writes a frame when its time has come.
    using Out = std::function<void(const FrameStream& stream, const FrameMeta& meta, std::span<const std::uint8_t> frame)>;

    explicit LiveViewPacer(LiveViewPacerOptions options = {});

    /// Takes one frame of `stream` (an empty one may mark a link stage's end); writes to `out` what may be
    /// written now.
    void submit(const FrameStream& stream, const FrameMeta& meta, std::span<const std::uint8_t> frame,
                Clock::time_point now, const Out& out);
    /// Nothing more is queued for now: a complete piece is written.
    void end_of_burst(Clock::time_point now, const Out& out);
    /// Writes what has become due by `now` (call at next_deadline()).
    void poll(Clock::time_point now, const Out& out);
    /// When poll() has something to do, if ever.
    std::optional<Clock::time_point> next_deadline() const;
    /// Writes everything held, in order (end of capture).
    void drain(const Out& out);

    /// Frames held back now.
    std::size_t held_frames() const noexcept { return before_.size() + results_.size() + after_.size(); }
    /// Link stages written as one piece so far.
    std::uint64_t link_stage_pieces() const noexcept { return pieces_; }

private:
    struct HeldFrame {
        FrameStream stream;
        FrameMeta meta;
        /// The text meta.comment points to while the frame is held.
        std::string comment;
        std::vector<std::uint8_t> bytes;

        void write(const Out& out) const;
    };
    /// A stream as one number, for the sets below.
    static std::uint64_t key(const FrameStream& stream) noexcept;
    void hold(std::deque<HeldFrame>& where, const FrameStream& stream, const FrameMeta& meta,
              std::span<const std::uint8_t> frame);
    void write_held(const Out& out);
    bool piece_complete() const noexcept;
    void write_piece(Clock::time_point now, const Out& out);

    LiveViewPacerOptions options_;
    /// Streams whose link stage began and has not ended.
    std::set<std::uint64_t> open_stages_;
    /// Held frames to write first, in arrival order.
    std::deque<HeldFrame> before_;
    /// Held link results (and other link-stage ends), written after `before_`.
    std::deque<HeldFrame> results_;
    /// Held frames of streams whose result is in `results_`: written after the piece, in the next batch.
    std::deque<HeldFrame> after_;
    /// Streams with a result in `results_`, and streams with frames in `after_`.
    std::set<std::uint64_t> result_streams_;
    std::set<std::uint64_t> after_streams_;
    std::size_t held_bytes_ = 0;
    /// When the first link stage of the piece being gathered began.
    std::optional<Clock::time_point> stage_started_;
    /// Output pauses until then (after a link stage was written).
    std::optional<Clock::time_point> settle_until_;
    std::uint64_t pieces_ = 0;
};

}  // namespace spicecap::capture
