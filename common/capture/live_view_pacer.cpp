// Link stages written as one piece ending with their link results, then a pause (see the header).
#include "capture/live_view_pacer.hpp"

namespace spicecap::capture {

LiveViewPacer::LiveViewPacer(LiveViewPacerOptions options) : options_(options) {}

std::uint64_t LiveViewPacer::key(const FrameStream& stream) noexcept {
    return std::uint64_t{stream.session} << 16 | std::uint64_t{stream.channel_type} << 8 | stream.channel_id;
}

void LiveViewPacer::hold(std::deque<HeldFrame>& where, const FrameStream& stream, const FrameMeta& meta,
                         std::span<const std::uint8_t> frame) {
    if (frame.empty()) return;  // a link stage that ended with nothing on the wire
    where.push_back(HeldFrame{stream, meta, std::string(meta.comment), std::vector<std::uint8_t>(frame.begin(), frame.end())});
    held_bytes_ += frame.size();
}

void LiveViewPacer::HeldFrame::write(const Out& out) const {
    FrameMeta written = meta;
    written.comment = comment;
    out(stream, written, bytes);
}

void LiveViewPacer::write_held(const Out& out) {
    for (auto* queue : {&before_, &results_, &after_}) {
        for (const auto& f : *queue) f.write(out);
        queue->clear();
    }
    result_streams_.clear();
    after_streams_.clear();
    held_bytes_ = 0;
}

void LiveViewPacer::submit(const FrameStream& stream, const FrameMeta& meta, std::span<const std::uint8_t> frame,
                           Clock::time_point now, const Out& out) {
    const std::uint64_t id = key(stream);
    switch (meta.link_stage) {
        case LinkStageRole::part:
            if (result_streams_.count(id) > 0 || after_streams_.count(id) > 0) {
                // The stream opens again before its last piece was written (a reconnection within the
                // pause): keep its order, at the price of this piece's guarantee.
                for (auto& f : results_) before_.push_back(std::move(f));
                for (auto& f : after_) before_.push_back(std::move(f));
                results_.clear();
                after_.clear();
                result_streams_.clear();
                after_streams_.clear();
            }
            // Link stages that follow each other (a new subscriber's preamble, channels opening together)
            // join one piece, so that all their results come last.
            if (!stage_started_) stage_started_ = now;
            open_stages_.insert(id);
            hold(before_, stream, meta, frame);
            break;
        case LinkStageRole::end:
            open_stages_.erase(id);
            result_streams_.insert(id);
            hold(results_, stream, meta, frame);
            break;
        case LinkStageRole::none:
            if (piece_complete() && !settle_until_) write_piece(now, out);
            if (open_stages_.empty() && results_.empty() && !settle_until_ && before_.empty()) {
                out(stream, meta, frame);  // the common case: nothing to wait for
                return;
            }
            if (result_streams_.count(id) > 0 || after_streams_.count(id) > 0) {
                after_streams_.insert(id);
                hold(after_, stream, meta, frame);  // its stream's link result comes first
            } else {
                hold(before_, stream, meta, frame);
            }
            break;
    }
    if (held_bytes_ > options_.max_held_bytes) {
        write_held(out);
        open_stages_.clear();
        stage_started_.reset();
        settle_until_.reset();
    }
}

bool LiveViewPacer::piece_complete() const noexcept { return open_stages_.empty() && !results_.empty(); }

void LiveViewPacer::write_piece(Clock::time_point now, const Out& out) {
    // Results last, then nothing until Wireshark has read (and drawn) the piece by itself; the frames that
    // must follow the results are the start of what is held next.
    for (auto* queue : {&before_, &results_}) {
        for (const auto& f : *queue) f.write(out);
        queue->clear();
    }
    before_.swap(after_);
    held_bytes_ = 0;
    for (const auto& f : before_) held_bytes_ += f.bytes.size();
    result_streams_.clear();
    after_streams_.clear();
    stage_started_.reset();
    settle_until_ = now + options_.settle;
    ++pieces_;
}

void LiveViewPacer::end_of_burst(Clock::time_point now, const Out& out) {
    if (piece_complete() && !settle_until_) write_piece(now, out);
}

void LiveViewPacer::poll(Clock::time_point now, const Out& out) {
    if (stage_started_ && !open_stages_.empty() && now >= *stage_started_ + options_.max_link_stage_wait) {
        // A link stage that does not end: stop waiting for it.
        open_stages_.clear();
        stage_started_.reset();
        write_held(out);
        settle_until_.reset();
        return;
    }
    if (settle_until_ && now < *settle_until_) return;
    settle_until_.reset();
    // A link stage that began while output paused keeps everything after it waiting for its end.
    if (!open_stages_.empty()) return;
    if (piece_complete()) {
        write_piece(now, out);  // what was held, then the results that came meanwhile, then a new pause
    } else {
        write_held(out);
    }
}

std::optional<LiveViewPacer::Clock::time_point> LiveViewPacer::next_deadline() const {
    if (piece_complete() && !settle_until_) return Clock::time_point::min();  // due now
    std::optional<Clock::time_point> at = settle_until_;
    if (stage_started_ && !open_stages_.empty()) {
        const auto give_up = *stage_started_ + options_.max_link_stage_wait;
        if (!at || give_up < *at) at = give_up;
    }
    if (!at && !before_.empty() && open_stages_.empty()) return Clock::time_point::min();
    return at;
}

void LiveViewPacer::drain(const Out& out) {
    write_held(out);
    open_stages_.clear();
    stage_started_.reset();
    settle_until_.reset();
}

}  // namespace spicecap::capture
