// The capture pipeline (see capture_pipeline.hpp).
#include "capture/capture_pipeline.hpp"

#include "base/clock.hpp"

namespace spicecap::capture {

Expected<std::unique_ptr<CapturePipeline>, std::string> CapturePipeline::open(asio::io_context& io,
                                                                             const CaptureOptions& options,
                                                                             FrameOutput& output) {
    auto filter = BpfFilter::compile(options.filter, options.pcap_link_type());
    if (!filter) return Unexpected{"invalid capture filter '" + options.filter + "': " + filter.error()};
    std::unique_ptr<CapturePipeline> pipeline(new CapturePipeline(options, output, std::move(*filter)));

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

CapturePipeline::CapturePipeline(const CaptureOptions& options, FrameOutput& output, BpfFilter filter)
    : options_(options),
      output_(output),
      filter_(std::move(filter)),
      spice_(SpiceFrameOptions{.server_port = options.server_port, .handshake = options.handshake}),
      sink_([this](std::uint64_t timestamp_ns, std::span<const std::uint8_t> frame) { emit(timestamp_ns, frame); }) {}

CapturePipeline::~CapturePipeline() = default;

void CapturePipeline::start(EndHandler on_end, DropHandler on_drop) {
    on_end_ = std::move(on_end);
    on_drop_ = std::move(on_drop);
    subscription_->start(*this);
}

void CapturePipeline::stop() {
    stopped_ = true;
    if (subscription_) subscription_->close();
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
    if (notice.where.kind == StreamKind::spice) {
        spice_.drop(notice);
    } else {
        vsock_.drop(notice);
    }
    if (on_drop_) on_drop_(notice);
}

void CapturePipeline::on_event(const Event& event) {
    const auto* closed = std::get_if<ChannelClosed>(&event.what);
    if (closed == nullptr || closed->kind != StreamKind::spice || options_.kind != StreamKind::spice) return;
    current_ = FrameStream{StreamKind::spice, event.session, closed->channel_type, closed->channel_id};
    // The daemon stamps every event it forwards; a stamp of 0 would put the FIN in 1970.
    const std::uint64_t when = event.timestamp_ns != 0 ? event.timestamp_ns : wall_clock_ns();
    spice_.channel_closed({event.session, closed->channel_type, closed->channel_id}, when, sink_);
}

void CapturePipeline::on_idle() {
    // Nothing more is queued: this is the moment to show the reader what we have.
    if (stopped_) return;
    if (auto flushed = output_.flush(); !flushed) {
        output_failed_ = true;
        end(CaptureEnd::output, flushed.error());
    }
}

void CapturePipeline::on_end(const std::string& why) { end(CaptureEnd::daemon, why); }

void CapturePipeline::emit(std::uint64_t timestamp_ns, std::span<const std::uint8_t> frame) {
    if (output_failed_) return;
    if (!filter_.accepts_everything() && !filter_.matches(frame)) {
        ++counts_.frames_filtered_out;
        return;
    }
    if (auto written = output_.write(current_, timestamp_ns, frame); !written) {
        output_failed_ = true;
        end(CaptureEnd::output, written.error());
        return;
    }
    ++counts_.frames_written;
}

void CapturePipeline::end(CaptureEnd why, const std::string& sentence) {
    if (stopped_) return;
    stopped_ = true;
    if (subscription_) subscription_->close();
    if (on_end_) on_end_(why, sentence);
}

}  // namespace spicecap::capture
