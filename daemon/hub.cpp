// The daemon's shared state: ingest, retention, subscribers, status (see hub.hpp).
#include "hub.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <unistd.h>

#include "log.hpp"
#include "wire/record.hpp"

namespace spicecap::daemon {

Hub::Hub(DaemonLimits limits, std::string socket_path)
    : limits_(limits), socket_path_(std::move(socket_path)), started_ns_(wall_clock_ns()) {}

bool Hub::try_add_other() noexcept {
    if (other_connections_ >= limits_.max_other_connections) return false;
    ++other_connections_;
    return true;
}

void Hub::remove_other() noexcept {
    if (other_connections_ > 0) --other_connections_;
}

Expected<Session*, std::string> Hub::open_session(const ProducerHello& hello) {
    if (sessions_.active().size() >= limits_.max_producers) {
        return Unexpected{"too many producers (limit " + std::to_string(limits_.max_producers) + ")"};
    }
    return &sessions_.open(hello.name, hello.label, hello.pid, wall_clock_ns());
}

void Hub::close_session(Session& session) {
    const std::uint64_t now = wall_clock_ns();
    for (auto& [key, ch] : session.channels) {
        preamble_bytes_ -= ch.preamble_bytes();
        ch.clear_preamble();
        if (!ch.open) continue;
        ChannelEvent closed;
        closed.kind = ch.kind;
        closed.channel_type = ch.channel_type;
        closed.channel_id = ch.channel_id;
        log_event(session, &closed,
                  {{"event", "channel_closed"},
                   {"kind", stream_kind_name(ch.kind)},
                   {"channel_type", ch.channel_type},
                   {"channel_id", ch.channel_id},
                   {"reason", "producer disconnected"}},
                  now);
        ch.open = false;
    }
    sessions_.close(session, now);
    ingest_done(now);
}

Expected<Ok, std::string> Hub::ingest_record(Session& session, const FrameView& frame, std::uint64_t now_ns) {
    auto record = Record::parse(frame.body);
    if (!record) return Unexpected{"bad RECORD: " + record.error().message};
    RecordHeader header = record->header;
    header.session = session.id;
    if (header.timestamp_ns == 0) header.timestamp_ns = now_ns;
    const auto payload = record->payload;

    ChannelState& ch = session.channel(header.kind, header.channel_type, header.channel_id);
    ch.open = true;
    const std::size_t link_bytes_before = ch.link_frames.size();
    const bool link_stage = ch.link_stage_takes(header.direction, payload);
    preamble_bytes_ -= link_bytes_before - ch.link_frames.size();  // a new "REDQ" restarted the stage

    EntryHead head;
    head.frame_bytes = static_cast<std::uint32_t>(frame.encoded.size());
    head.session = session.id;
    head.timestamp_ns = header.timestamp_ns;
    head.payload_bytes = static_cast<std::uint32_t>(payload.size());
    head.kind = static_cast<std::uint8_t>(header.kind);
    head.channel_type = header.channel_type;
    head.channel_id = header.channel_id;
    head.direction = static_cast<std::uint8_t>(header.direction);
    head.type = EntryType::record;
    head.flags = link_stage ? entry_flags::link_stage : 0;
    std::uint64_t position = 0;
    std::uint8_t* out = log_.append(head, &position).data();
    std::memcpy(out, frame.encoded.data(), kFramePrefixBytes);
    header.encode_to(out + kFramePrefixBytes);
    if (!payload.empty()) std::memcpy(out + kFramePrefixBytes + RecordHeader::kSize, payload.data(), payload.size());

    if (link_stage) {
        const std::size_t size = frame.encoded.size();
        if (ch.link_frames.size() + size <= kMaxLinkStageBytes && preamble_bytes_ + size <= kMaxPreambleBytesTotal) {
            ch.link_frames.insert(ch.link_frames.end(), out, out + size);
            ch.link_end_position = position;
            preamble_bytes_ += size;
        } else {
            log(LogLevel::warning, "session ", session.id, ": link stage of ",
                stream_kind_name(ch.kind), " channel ", int(ch.channel_type), ":", int(ch.channel_id),
                " is too large to keep for late subscribers; they will not see it");
            preamble_bytes_ -= ch.link_frames.size();
            ByteBuffer().swap(ch.link_frames);
            ch.link_stage = LinkStage::none;
        }
    }

    ch.records += 1;
    ch.bytes += payload.size();
    session.records += 1;
    session.bytes += payload.size();
    totals_.records += 1;
    totals_.bytes += payload.size();
    return Ok{};
}

void Hub::log_event(Session& session, const ChannelEvent* channel, nlohmann::json json, std::uint64_t now_ns) {
    json["session"] = session.id;
    json["timestamp_ns"] = now_ns;
    const std::string text = json.dump();
    EntryHead head;
    head.frame_bytes = static_cast<std::uint32_t>(kFramePrefixBytes + text.size());
    head.session = session.id;
    head.timestamp_ns = now_ns;
    head.type = EntryType::event;
    if (channel != nullptr) {
        head.kind = static_cast<std::uint8_t>(channel->kind);
        head.channel_type = channel->channel_type;
        head.channel_id = channel->channel_id;
    }
    std::uint64_t position = 0;
    std::uint8_t* out = log_.append(head, &position).data();
    scratch_.clear();
    append_frame(scratch_, FrameType::event, std::string_view(text));
    std::memcpy(out, scratch_.data(), scratch_.size());

    if (channel != nullptr && channel->opened) {
        ChannelState& ch = session.channel(channel->kind, channel->channel_type, channel->channel_id);
        preamble_bytes_ -= ch.opened_event.size();
        ch.opened_event.clear();
        if (preamble_bytes_ + scratch_.size() <= kMaxPreambleBytesTotal) {
            ch.opened_event = scratch_;
            ch.opened_event_position = position;
            preamble_bytes_ += scratch_.size();
        }
    }
}

Expected<Ok, std::string> Hub::ingest_event(Session& session, const FrameView& frame, std::uint64_t now_ns,
                                            std::string* unknown_event) {
    auto event = parse_producer_event(frame.text());
    if (!event) return Unexpected{"bad EVENT: " + event.error()};
    if (auto* channel = std::get_if<ChannelEvent>(&event->what)) {
        ChannelState& ch = session.channel(channel->kind, channel->channel_type, channel->channel_id);
        if (channel->opened) {
            ch.open = true;
            if (channel->kind == StreamKind::spice) ch.header = channel->header;
            log_event(session, channel, std::move(event->json), now_ns);
        } else {
            log_event(session, channel, std::move(event->json), now_ns);
            ch.open = false;
            preamble_bytes_ -= ch.preamble_bytes();
            ch.clear_preamble();
        }
    } else if (auto* stats = std::get_if<ProducerStatsEvent>(&event->what)) {
        session.producer_dropped_records += stats->dropped_records;
        session.producer_dropped_bytes += stats->dropped_bytes;
        totals_.producer_dropped_records += stats->dropped_records;
        totals_.producer_dropped_bytes += stats->dropped_bytes;
        log_event(session, nullptr, std::move(event->json), now_ns);
    } else if (unknown_event != nullptr) {
        *unknown_event = std::get<UnknownEvent>(event->what).name;
    }
    return Ok{};
}

void Hub::ingest_done(std::uint64_t now_ns) {
    enforce_retention(now_ns);
    for (const auto& subscriber : subscribers_) {
        if (subscriber->wake && subscriber->has_output(log_)) subscriber->wake();
    }
}

void Hub::enforce_retention(std::uint64_t now_ns) {
    const double keep_ns = limits_.history_seconds * 1e9;
    const std::uint64_t cutoff = keep_ns >= static_cast<double>(now_ns) ? 0 : now_ns - static_cast<std::uint64_t>(keep_ns);
    while (log_.block_count() > 1) {
        const bool over_bytes = log_.memory_bytes() > limits_.history_bytes;
        const bool too_old = log_.front_newest_timestamp() < cutoff;
        if (!over_bytes && !too_old) break;
        // A subscriber whose backlog is still within its allowance keeps the block alive.
        const std::uint64_t end = log_.front_end_position();
        const std::uint64_t head = log_.head_position();
        bool held = false;
        for (const auto& s : subscribers_) {
            if (s->cursor() < end && head - s->cursor() <= limits_.subscriber_queue_bytes) {
                held = true;
                break;
            }
        }
        if (held) break;
        for (const auto& s : subscribers_) {
            if (s->cursor() < end) s->skip_to(log_, end, now_ns);
        }
        log_.evict_front();
    }
}

Expected<std::shared_ptr<Subscriber>, std::string> Hub::add_subscriber(const SubscriberHello& hello) {
    if (subscribers_.size() >= limits_.max_subscribers) {
        return Unexpected{"too many subscribers (limit " + std::to_string(limits_.max_subscribers) + ")"};
    }
    auto subscriber = std::make_shared<Subscriber>(next_subscriber_id_++, hello);
    subscriber->start(log_, sessions_, wall_clock_ns(), limits_.history_seconds);
    subscribers_.push_back(subscriber);
    return subscriber;
}

void Hub::remove_subscriber(const Subscriber& subscriber) {
    auto it = std::find_if(subscribers_.begin(), subscribers_.end(), [&](const auto& s) { return s.get() == &subscriber; });
    if (it == subscribers_.end()) return;
    totals_.departed_dropped_records += subscriber.dropped_records();
    totals_.departed_dropped_bytes += subscriber.dropped_bytes();
    subscribers_.erase(it);
}

nlohmann::json Hub::status_json(std::uint64_t now_ns) const {
    std::uint64_t dropped_records = totals_.departed_dropped_records;
    std::uint64_t dropped_bytes = totals_.departed_dropped_bytes;
    nlohmann::json subscribers = nlohmann::json::array();
    for (const auto& s : subscribers_) {
        dropped_records += s->dropped_records();
        dropped_bytes += s->dropped_bytes();
        subscribers.push_back(s->to_json(log_));
    }
    return {
        {"daemon",
         {{"version", SPICECAP_VERSION},
          {"pid", ::getpid()},
          {"socket", socket_path_},
          {"uptime_seconds", static_cast<double>(now_ns - std::min(now_ns, started_ns_)) / 1e9},
          {"limits",
           {{"max_frame_bytes", limits_.max_frame_bytes},
            {"max_producers", limits_.max_producers},
            {"max_subscribers", limits_.max_subscribers},
            {"max_other_connections", limits_.max_other_connections},
            {"subscriber_queue_bytes", limits_.subscriber_queue_bytes},
            {"history_bytes", limits_.history_bytes},
            {"history_seconds", limits_.history_seconds}}}}},
        {"producers", sessions_.active().size()},
        {"totals",
         {{"records", totals_.records},
          {"bytes", totals_.bytes},
          {"dropped_records", dropped_records},
          {"dropped_bytes", dropped_bytes},
          {"producer_dropped_records", totals_.producer_dropped_records},
          {"producer_dropped_bytes", totals_.producer_dropped_bytes},
          {"refused_connections", totals_.refused_connections},
          {"protocol_errors", totals_.protocol_errors}}},
        {"history",
         {{"entries", log_.entry_count()}, {"bytes", log_.memory_bytes()}, {"oldest_ns", log_.oldest_timestamp()}}},
        {"sessions", sessions_.to_json()},
        {"subscribers", std::move(subscribers)}};
}

}  // namespace spicecap::daemon
