// Comments and drop counts of a pcapng capture (see frame_annotations.hpp).
#include "capture/frame_annotations.hpp"

#include "spice/spice_channel.hpp"

namespace spicecap::capture {
namespace {

constexpr const char* kDot = " \u00b7 ";
constexpr std::size_t kMaxCommentBytes = 960;

std::string_view origin_text(FrameOrigin origin) {
    switch (origin) {
        case FrameOrigin::record: return "";
        case FrameOrigin::tcp_handshake: return "synthesized by spicecap: TCP handshake opening the channel's connection";
        case FrameOrigin::tcp_close: return "synthesized by spicecap: TCP FIN exchange closing the channel's connection";
        case FrameOrigin::link_stage:
            return "synthesized by spicecap: SPICE link stage (the producer reported none; the ticket is filler)";
    }
    return "";
}

}  // namespace

void FrameAnnotations::opened(std::uint32_t session, const ChannelOpened& event) {
    Stream& s = streams_[{event.kind, session, event.channel_type, event.channel_id}];
    if (event.kind == StreamKind::spice) s.header = event.header;
}

void FrameAnnotations::closed(std::uint32_t session, const ChannelClosed& event) {
    streams_[{event.kind, session, event.channel_type, event.channel_id}].announced = false;
}

void FrameAnnotations::dropped(const DropNotice& notice) {
    const RecordHeader& w = notice.where;
    streams_[{w.kind, w.session, w.channel_type, w.channel_id}].drops[index_of(w.direction)] += notice.records;
}

std::string FrameAnnotations::announcement(const FrameStream& stream, const Stream& state) {
    std::string text = sessions_.describe(stream.session);
    if (stream.kind == StreamKind::spice) {
        text += kDot;
        text += std::string(spice_channel_name(stream.channel_type).value_or("channel")) + ":" +
                std::to_string(stream.channel_id);
        if (state.header) text += std::string(kDot) + (*state.header == HeaderMode::mini ? "mini" : "full") + " headers";
    } else {
        text += std::string(kDot) + "the producer's USB link " + std::to_string(stream.channel_id);
    }
    return text;
}

FrameMeta FrameAnnotations::annotate(const FrameStream& stream, const FrameMeta& meta) {
    FrameMeta annotated = meta;
    Stream& s = streams_[key_of(stream)];
    comment_.clear();
    if (!s.announced) {
        s.announced = true;
        comment_ = announcement(stream, s);
    }
    if (meta.synthesized()) {
        if (!comment_.empty()) comment_ += kDot;
        comment_ += origin_text(meta.origin);
    } else if (auto& drops = s.drops[index_of(meta.direction)]; drops > 0) {
        // A frame spicecap made up follows no loss: the count goes on the next frame a producer sent.
        annotated.drops_before = drops;
        drops_counted_ += drops;
        drops = 0;
    }
    // A comment is at most this long, so that a USB vsock record with one still fits its pcapng block
    // (vsock::max_pcapng_record_size): producer names and session labels are bounded well below it.
    if (comment_.size() > kMaxCommentBytes) {
        std::size_t cut = kMaxCommentBytes;
        while (cut > 0 && (static_cast<unsigned char>(comment_[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
        comment_.resize(cut);
    }
    annotated.comment = comment_;
    return annotated;
}

}  // namespace spicecap::capture
