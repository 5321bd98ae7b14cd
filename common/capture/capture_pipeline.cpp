// The capture pipeline (see capture_pipeline.hpp).
#include "capture/capture_pipeline.hpp"

#include "base/clock.hpp"

namespace spicecap::capture {

Expected<std::unique_ptr<CapturePipeline>, std::string> CapturePipeline::open(asio::io_context& io,
                                                                             const CaptureOptions& options,
                                                                             FrameOutput& output) {
    auto filter = BpfFilter::compile(options.filter, options.pcap_link_type());
    if (!filter) return Unexpected{"invalid capture filter '" + options.filter + "': " + filter.error()};
    std::unique_ptr<CapturePipeline> pipeline(new CapturePipeline(io, options, output, std::move(*filter)));

    SubscriptionRequest request;
    request.kind = options.kind;
    if (options.kind == StreamKind::spice) request.channels = options.channels;
    request.session = options.session;
    request.history_seconds = options.history_seconds;
    auto subscription = Subscription::open(io, options.socket_path(), request);
    if (!subscription) return Unexpected{subscription.error()};
    pipeline->subscription_ = std::move(*subscription);
    return pipeline;
}

CapturePipeline::CapturePipeline(asio::io_context& io, const CaptureOptions& options, FrameOutput& output,
                                 BpfFilter filter)
    : io_(io),
      options_(options),
      output_(output),
      filter_(std::move(filter)),
      spice_(SpiceFrameOptions{.server_port = options.server_port, .handshake = options.handshake}),
      vsock_(options.format == OutputFormat::pcapng ? vsock::max_pcapng_record_size : vsock::max_record_size),
      sink_([this](const FrameMeta& meta, std::span<const std::uint8_t> frame) { emit(meta, frame); }),
      write_([this](const FrameStream& stream, const FrameMeta& meta, std::span<const std::uint8_t> frame) {
          write(stream, meta, frame);
      }) {
    if (options.format == OutputFormat::pcapng) annotations_.emplace(SessionDirectory(options.socket_path()));
}

CapturePipeline::~CapturePipeline() = default;

void CapturePipeline::pace_for_live_view(LiveViewPacerOptions options) {
    // Only SPICE has link stages; tshark and files never re-dissect, so they never need this.
    if (options_.kind != StreamKind::spice) return;
    pacer_.emplace(options);
    pacer_timer_.emplace(io_);
}

void CapturePipeline::start(EndHandler on_end, DropHandler on_drop) {
    on_end_ = std::move(on_end);
    on_drop_ = std::move(on_drop);
    subscription_->start(*this);
}

void CapturePipeline::stop() {
    stopped_ = true;
    if (subscription_) subscription_->close();
    if (pacer_timer_) pacer_timer_->cancel();
}

Expected<Ok, std::string> CapturePipeline::finish() {
    stop();
    if (output_failed_) return Ok{};  // already reported through the end handler
    // A capture that ends is a connection that closes: each open channel gets its FIN exchange.
    const std::uint64_t now = wall_clock_ns();
    for (const SpiceStreamKey& key : spice_.open_streams()) {
        current_ = FrameStream{StreamKind::spice, key.session, key.channel_type, key.channel_id};
        spice_.channel_closed(key, now, sink_);
    }
    if (pacer_) pacer_->drain(write_);
    if (output_failed_) return Ok{};
    return output_.flush();
}

void CapturePipeline::on_record(const Record& record) {
    const RecordHeader& h = record.header;
    if (h.kind != options_.kind) return;
    current_ = FrameStream{h.kind, h.session, h.channel_type, h.channel_id};
    if (h.kind == StreamKind::spice) {
        spice_.encode(record, sink_);
    } else {
        vsock_.encode(record, sink_);
    }
    ++counts_.records;
    counts_.bytes += record.payload.size();
}

void CapturePipeline::on_drop(const DropNotice& notice) {
    counts_.dropped_records += notice.records;
    if (annotations_) annotations_->dropped(notice);
    if (notice.where.kind == StreamKind::spice) {
        spice_.drop(notice);
    } else {
        vsock_.drop(notice);
    }
    if (on_drop_) on_drop_(notice);
}

void CapturePipeline::on_event(const Event& event) {
    if (const auto* opened = std::get_if<ChannelOpened>(&event.what)) {
        if (annotations_) annotations_->opened(event.session, *opened);
        return;
    }
    const auto* closed = std::get_if<ChannelClosed>(&event.what);
    if (closed == nullptr) return;
    if (closed->kind == StreamKind::spice && options_.kind == StreamKind::spice) {
        current_ = FrameStream{StreamKind::spice, event.session, closed->channel_type, closed->channel_id};
        // The daemon stamps every event it forwards; a stamp of 0 would put the FIN in 1970.
        const std::uint64_t when = event.timestamp_ns != 0 ? event.timestamp_ns : wall_clock_ns();
        spice_.channel_closed({event.session, closed->channel_type, closed->channel_id}, when, sink_);
    }
    // After its FIN: the channel's next connection is announced afresh.
    if (annotations_) annotations_->closed(event.session, *closed);
}

void CapturePipeline::on_idle() {
    // Nothing more is queued: this is the moment to show the reader what we have.
    if (stopped_) return;
    if (pacer_) {
        pacer_->end_of_burst(LiveViewPacer::Clock::now(), write_);
        arm_pacer();
    }
    flush_output();
}

void CapturePipeline::on_end(const std::string& why) { end(CaptureEnd::daemon, why); }

void CapturePipeline::emit(const FrameMeta& meta, std::span<const std::uint8_t> frame) {
    if (output_failed_) return;
    if (!frame.empty() && !filter_.accepts_everything() && !filter_.matches(frame)) {
        ++counts_.frames_filtered_out;
        // A rejected frame is not written, but the end of a link stage it marks still counts for the pacer.
        if (!pacer_ || meta.link_stage != LinkStageRole::end) return;
        frame = {};
    }
    const FrameMeta annotated = annotations_ && !frame.empty() ? annotations_->annotate(current_, meta) : meta;
    if (pacer_) {
        pacer_->submit(current_, annotated, frame, LiveViewPacer::Clock::now(), write_);
    } else {
        write(current_, annotated, frame);
    }
}

void CapturePipeline::write(const FrameStream& stream, const FrameMeta& meta, std::span<const std::uint8_t> frame) {
    if (frame.empty() || output_failed_) return;
    if (auto written = output_.write(stream, meta, frame); !written) {
        output_failed_ = true;
        end(CaptureEnd::output, written.error());
        return;
    }
    ++counts_.frames_written;
}

bool CapturePipeline::flush_output() {
    if (output_failed_) return false;
    if (auto flushed = output_.flush(); !flushed) {
        output_failed_ = true;
        end(CaptureEnd::output, flushed.error());
        return false;
    }
    return true;
}

void CapturePipeline::arm_pacer() {
    const auto due = pacer_->next_deadline();
    if (!due || (pacer_armed_for_ && *pacer_armed_for_ == *due)) return;
    pacer_armed_for_ = due;
    pacer_timer_->expires_at(*due);
    pacer_timer_->async_wait([this](const asio::error_code& error) {
        if (error || stopped_) return;
        pacer_armed_for_.reset();
        pacer_->poll(LiveViewPacer::Clock::now(), write_);
        if (flush_output()) arm_pacer();
    });
}

void CapturePipeline::end(CaptureEnd why, const std::string& sentence) {
    if (stopped_) return;
    stopped_ = true;
    if (subscription_) subscription_->close();
    if (pacer_timer_) pacer_timer_->cancel();
    if (on_end_) on_end_(why, sentence);
}

}  // namespace spicecap::capture
