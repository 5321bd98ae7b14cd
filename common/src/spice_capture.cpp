// SPICE records -> synthesized TCP frames for one capture.
#include "spicecap/spice_capture.hpp"

#include <algorithm>
#include <cstring>

#include "spicecap/spice_link_stage.hpp"

namespace spicecap {
namespace {

TcpDirection tcp_direction(Direction d) {
    return d == Direction::client_to_server ? TcpDirection::client_to_server : TcpDirection::server_to_client;
}

// The SPICE link stage always opens with the client's SpiceLinkMess, whose magic is "REDQ".
bool starts_link_stage(const Record& r) {
    static constexpr std::uint8_t kMagic[4] = {'R', 'E', 'D', 'Q'};
    return r.header.direction == Direction::client_to_server && r.payload.size() >= 4 &&
           std::memcmp(r.payload.data(), kMagic, 4) == 0;
}

}  // namespace

SpiceCapture::SpiceCapture(SpiceCaptureOptions options) : options_(options) {}

std::uint32_t SpiceCapture::session_index(std::uint32_t session) {
    const auto [it, inserted] =
        session_indexes_.try_emplace(session, static_cast<std::uint32_t>(session_indexes_.size()));
    return it->second;
}

SpiceCapture::Stream& SpiceCapture::stream(std::uint32_t session, std::uint8_t channel_type,
                                           std::uint8_t channel_id) {
    const StreamKey key{session, channel_type, channel_id};
    auto it = streams_.find(key);
    if (it == streams_.end()) {
        const auto endpoints = spice_endpoints(session_index(session), channel_type, channel_id, options_.server_port);
        it = streams_
                 .emplace(key, Stream{TcpStreamSynthesizer(endpoints, TcpSynthOptions{.handshake = options_.handshake})})
                 .first;
        it->second.id = (std::uint64_t{session} << 16) | (std::uint64_t{channel_type} << 8) | channel_id;
    }
    return it->second;
}

void SpiceCapture::record(const Record& record, const FrameSink& sink) {
    this->record(record, RoledFrameSink([&sink](std::uint64_t ts, std::span<const std::uint8_t> f, FrameRole) {
        sink(ts, f);
    }));
}

void SpiceCapture::record(const Record& record, const RoledFrameSink& sink) {
    const RecordHeader& h = record.header;
    if (h.kind != StreamKind::spice) return;
    Stream& s = stream(h.session, h.channel_type, h.channel_id);
    if (s.fresh) {
        s.fresh = false;
        if (!starts_link_stage(record)) {
            // The producer hooked in after the handshake (or its link stage was lost): make one up so the
            // SPICE dissector knows the channel type and header mode of what follows.
            const HeaderMode mode = (h.flags & kRecordFlagFullHeader) ? HeaderMode::full : HeaderMode::mini;
            for (const auto& m : synthetic_link_stage(static_cast<ChannelType>(h.channel_type), h.channel_id, mode,
                                                      h.session)) {
                const auto dir = m.direction == SpiceDirection::client_to_server ? Direction::client_to_server
                                                                                 : Direction::server_to_client;
                message(s, dir, m.bytes, h.timestamp_ns, sink);
            }
            ++stats_.synthesized_link_stages;
        }
    }
    message(s, h.direction, record.payload, h.timestamp_ns, sink);
    ++stats_.records;
    stats_.bytes += record.payload.size();
}

void SpiceCapture::message(Stream& s, Direction direction, std::span<const std::uint8_t> bytes,
                           std::uint64_t timestamp_ns, const RoledFrameSink& sink) {
    // The link stage runs from the client's link message ("REDQ") to the server's second message, the
    // link result (the rule spicecapd keeps link stages by, docs/daemon.md).
    if (direction == Direction::client_to_server && bytes.size() >= 4 && std::memcmp(bytes.data(), "REDQ", 4) == 0) {
        s.in_link_stage = true;
        s.link_server_messages = 0;
    }
    FrameRole role{FrameRole::data, s.id};
    if (s.in_link_stage) {
        role.kind = FrameRole::link;
        if (direction == Direction::server_to_client && ++s.link_server_messages == 2) {
            role.kind = FrameRole::link_end;
            s.in_link_stage = false;
        }
    }
    s.tcp.message(tcp_direction(direction), bytes, timestamp_ns,
                  [&](std::uint64_t ts, std::span<const std::uint8_t> f) { sink(ts, f, role); });
}

void SpiceCapture::drop(const DropNotice& notice) {
    const RecordHeader& w = notice.where;
    stats_.dropped_records += notice.records;
    if (w.kind != StreamKind::spice) return;
    auto it = streams_.find({w.session, w.channel_type, w.channel_id});
    // Before a stream's first frame there is nothing to leave a gap after: it simply starts later.
    if (it == streams_.end() || it->second.fresh) return;
    it->second.tcp.skip(tcp_direction(w.direction), notice.bytes);
}

void SpiceCapture::channel_closed(std::uint32_t session, std::uint8_t channel_type, std::uint8_t channel_id,
                                  std::uint64_t timestamp_ns, const FrameSink& sink) {
    channel_closed(session, channel_type, channel_id, timestamp_ns,
                   RoledFrameSink([&sink](std::uint64_t ts, std::span<const std::uint8_t> f, FrameRole) { sink(ts, f); }));
}

void SpiceCapture::channel_closed(std::uint32_t session, std::uint8_t channel_type, std::uint8_t channel_id,
                                  std::uint64_t timestamp_ns, const RoledFrameSink& sink) {
    auto it = streams_.find({session, channel_type, channel_id});
    if (it == streams_.end()) return;
    close_stream(it->second, timestamp_ns, sink);
}

void SpiceCapture::close_all(std::uint64_t timestamp_ns, const FrameSink& sink) {
    close_all(timestamp_ns,
              RoledFrameSink([&sink](std::uint64_t ts, std::span<const std::uint8_t> f, FrameRole) { sink(ts, f); }));
}

void SpiceCapture::close_all(std::uint64_t timestamp_ns, const RoledFrameSink& sink) {
    for (auto& [key, s] : streams_) {
        if (!s.fresh) close_stream(s, timestamp_ns, sink);
        s.fresh = true;
    }
}

void SpiceCapture::close_stream(Stream& s, std::uint64_t timestamp_ns, const RoledFrameSink& sink) {
    // A channel closed in the middle of its link stage ends that stage with its FIN frames.
    const FrameRole role{s.in_link_stage ? FrameRole::link_end : FrameRole::data, s.id};
    bool emitted = false;
    s.tcp.close(timestamp_ns, [&](std::uint64_t ts, std::span<const std::uint8_t> f) {
        emitted = true;
        sink(ts, f, role);
    });
    // Without the handshake option there is no FIN; whoever waits for the stage's end still hears of it,
    // through an empty frame (nothing to write).
    if (s.in_link_stage && !emitted) sink(timestamp_ns, {}, role);
    s.in_link_stage = false;
    // Keep the synthesizer (its generation moves the next connection's sequence numbers) but require a
    // new link stage.
    s.fresh = true;
}

}  // namespace spicecap
