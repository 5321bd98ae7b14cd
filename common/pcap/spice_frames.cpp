// SPICE records -> synthesized TCP frames for one capture.
#include "pcap/spice_frames.hpp"

#include "spice/spice_link_stage.hpp"

namespace spicecap {
namespace {

// The SPICE link stage always opens with the client's SpiceLinkMess, whose magic is "REDQ".
bool starts_link_stage(const Record& r) {
    return r.header.direction == Direction::client_to_server && starts_with_spice_magic(r.payload);
}

}  // namespace

SpiceFrameEncoder::SpiceFrameEncoder(SpiceFrameOptions options) : options_(options) {}

SpiceFrameEncoder::Stream& SpiceFrameEncoder::stream(const SpiceStreamKey& key) {
    auto it = streams_.find(key);
    if (it == streams_.end()) {
        const auto endpoints =
            spice_endpoints(session_index(key.session), key.channel_type, key.channel_id, options_.server_port);
        it = streams_
                 .emplace(key, Stream{TcpStreamSynthesizer(endpoints, TcpSynthOptions{.handshake = options_.handshake})})
                 .first;
    }
    return it->second;
}

void SpiceFrameEncoder::encode(const Record& record, const FrameSink& sink) {
    const RecordHeader& h = record.header;
    if (h.kind != StreamKind::spice) return;
    Stream& s = stream({h.session, h.channel_type, h.channel_id});
    if (s.fresh) {
        s.fresh = false;
        if (!starts_link_stage(record)) {
            // The producer hooked in after the handshake (or its link stage was lost): make one up so the
            // SPICE dissector knows the channel type and header mode of what follows.
            const HeaderMode mode = (h.flags & kRecordFlagFullHeader) ? HeaderMode::full : HeaderMode::mini;
            for (const auto& m : synthetic_link_stage(static_cast<ChannelType>(h.channel_type), h.channel_id, mode,
                                                      h.session)) {
                message(s, m.direction, m.bytes, FrameMeta{.timestamp_ns = h.timestamp_ns, .origin = FrameOrigin::link_stage}, sink);
            }
            ++stats_.synthesized_link_stages;
        }
    }
    message(s, h.direction, record.payload, FrameMeta{.timestamp_ns = h.timestamp_ns}, sink);
    ++stats_.records;
    stats_.bytes += record.payload.size();
}

void SpiceFrameEncoder::message(Stream& s, Direction direction, std::span<const std::uint8_t> bytes, FrameMeta meta,
                                const FrameSink& sink) {
    // The link stage runs from the client's link message ("REDQ") to the server's second message, the
    // link result (the rule spicecapd keeps link stages by, docs/daemon.md).
    if (direction == Direction::client_to_server && starts_with_spice_magic(bytes)) {
        s.in_link_stage = true;
        s.link_server_messages = 0;
    }
    if (s.in_link_stage) {
        meta.link_stage = LinkStageRole::part;
        if (direction == Direction::server_to_client && ++s.link_server_messages == 2) {
            meta.link_stage = LinkStageRole::end;
            s.in_link_stage = false;
        }
    }
    s.tcp.message(direction, bytes, meta, sink);
}

void SpiceFrameEncoder::drop(const DropNotice& notice) {
    const RecordHeader& w = notice.where;
    stats_.dropped_records += notice.records;
    if (w.kind != StreamKind::spice) return;
    auto it = streams_.find({w.session, w.channel_type, w.channel_id});
    // Before a stream's first frame there is nothing to leave a gap after: it simply starts later.
    if (it == streams_.end() || it->second.fresh) return;
    it->second.tcp.skip(w.direction, notice.bytes);
}

void SpiceFrameEncoder::channel_closed(const SpiceStreamKey& key, std::uint64_t timestamp_ns, const FrameSink& sink) {
    auto it = streams_.find(key);
    if (it == streams_.end() || it->second.fresh) return;
    Stream& s = it->second;
    const FrameMeta meta{.timestamp_ns = timestamp_ns,
                         .link_stage = s.in_link_stage ? LinkStageRole::end : LinkStageRole::none};
    // Whoever waits for the link stage's end hears of it, through an empty frame if there is no FIN.
    if (!s.tcp.close(meta, sink) && s.in_link_stage) sink(meta, {});
    s.in_link_stage = false;
    // Keep the synthesizer (its generation moves the next connection's sequence numbers) but require a
    // new link stage.
    s.fresh = true;
}

std::vector<SpiceStreamKey> SpiceFrameEncoder::open_streams() const {
    std::vector<SpiceStreamKey> open;
    for (const auto& [key, s] : streams_) {
        if (!s.fresh) open.push_back(key);
    }
    return open;
}

}  // namespace spicecap
