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
                s.tcp.message(m.direction, m.bytes, h.timestamp_ns, sink);
            }
            ++stats_.synthesized_link_stages;
        }
    }
    s.tcp.message(h.direction, record.payload, h.timestamp_ns, sink);
    ++stats_.records;
    stats_.bytes += record.payload.size();
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
    it->second.tcp.close(timestamp_ns, sink);
    // Keep the synthesizer (its generation moves the next connection's sequence numbers) but require a
    // new link stage.
    it->second.fresh = true;
}

std::vector<SpiceStreamKey> SpiceFrameEncoder::open_streams() const {
    std::vector<SpiceStreamKey> open;
    for (const auto& [key, s] : streams_) {
        if (!s.fresh) open.push_back(key);
    }
    return open;
}

}  // namespace spicecap
