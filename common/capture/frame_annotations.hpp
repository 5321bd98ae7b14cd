// What a pcapng capture says about its frames besides their bytes (docs/formats.md "pcapng"):
//  - the first frame of each channel's connection names its producer and stream, e.g.
//    "remote-viewer pid 4242 · session vm1 · display:0 · mini headers";
//  - every frame spicecap made up says so ("synthesized by spicecap: TCP handshake");
//  - the first frame of a stream and direction after spicecapd dropped records for this capture carries
//    how many (pcapng epb_dropcount), beside the TCP sequence gap SPICE frames already show.
// The capture pipeline keeps one of these per capture and annotates each frame in stream order, after the
// capture filter, so the comment sits on the first frame a reader actually gets.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "capture/frame_output.hpp"
#include "capture/session_directory.hpp"
#include "pcap/frame_sink.hpp"
#include "spicecap/header_mode.hpp"
#include "wire/events.hpp"

namespace spicecap::capture {

class FrameAnnotations {
public:
    explicit FrameAnnotations(SessionDirectory sessions) : sessions_(std::move(sessions)) {}

    /// A channel_opened event: its header mode goes into the channel's comment.
    void opened(std::uint32_t session, const ChannelOpened& event);
    /// A channel_closed event: the channel's next connection is announced again.
    void closed(std::uint32_t session, const ChannelClosed& event);
    /// Records spicecapd dropped for this capture: counted on the stream's next frame in that direction.
    void dropped(const DropNotice& notice);

    /// `meta` with the comment and drop count of the next frame of `stream` (the comment's text stays valid
    /// until the next call).
    FrameMeta annotate(const FrameStream& stream, const FrameMeta& meta);

    /// The records counted into frames so far (the drops spicecapd reported and a frame carries).
    std::uint64_t drops_counted() const noexcept { return drops_counted_; }

private:
    using Key = std::tuple<StreamKind, std::uint32_t, std::uint8_t, std::uint8_t>;
    struct Stream {
        bool announced = false;
        std::optional<HeaderMode> header;
        std::uint64_t drops[2] = {0, 0};
    };
    static Key key_of(const FrameStream& stream) {
        return {stream.kind, stream.session, stream.channel_type, stream.channel_id};
    }
    std::string announcement(const FrameStream& stream, const Stream& state);

    SessionDirectory sessions_;
    std::map<Key, Stream> streams_;
    std::string comment_;
    std::uint64_t drops_counted_ = 0;
};

}  // namespace spicecap::capture
