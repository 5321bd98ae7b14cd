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
        ch.clear_preamble();
        if (!ch.open) continue;
        const Event closed{ChannelClosed{ch.kind, ch.channel_type, ch.channel_id, "producer disconnected"}};
        log_event(session, &ch, event_to_json(closed), now);
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
    const bool link_stage = ch.link_stage_takes(header.direction, payload);

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

    if (link_stage && !ch.preamble.keep_link_frame({out, frame.encoded.size()}, position)) {
        log(LogLevel::warning, "session ", session.id, ": link stage of ", stream_kind_name(ch.kind), " channel ",
            int(ch.channel_type), ":", int(ch.channel_id),
            " is too large to keep for late subscribers; they will not see it");
        ch.link_stage = LinkStage::none;
    }

    ch.records += 1;
    ch.bytes += payload.size();
    session.records += 1;
    session.bytes += payload.size();
    totals_.records += 1;
    totals_.bytes += payload.size();
    return Ok{};
}

std::pair<std::span<const std::uint8_t>, std::uint64_t> Hub::log_event(Session& session, const ChannelState* channel,
                                                                    nlohmann::json json, std::uint64_t now_ns) {
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
    return {{out, scratch_.size()}, position};
}

Expected<Ok, std::string> Hub::ingest_event(Session& session, const FrameView& frame, std::uint64_t now_ns,
                                            std::string* unknown_event) {
    auto parsed = parse_producer_event(frame.text());
    if (!parsed) return Unexpected{"bad EVENT: " + parsed.error()};
    const Event& event = parsed->event;
    if (const auto* opened = std::get_if<ChannelOpened>(&event.what)) {
        ChannelState& ch = session.channel(opened->kind, opened->channel_type, opened->channel_id);
        ch.open = true;
        if (opened->kind == StreamKind::spice) ch.header = opened->header == HeaderMode::full ? "full" : "mini";
        const auto [logged, position] = log_event(session, &ch, std::move(parsed->json), now_ns);
        ch.preamble.keep_opened_event(logged, position);
    } else if (const auto* closed = std::get_if<ChannelClosed>(&event.what)) {
        ChannelState& ch = session.channel(closed->kind, closed->channel_type, closed->channel_id);
        log_event(session, &ch, std::move(parsed->json), now_ns);
        ch.open = false;
        ch.clear_preamble();
    } else if (const auto* drops = std::get_if<ProducerDrops>(&event.what)) {
        session.producer_dropped_records += drops->dropped_records;
        session.producer_dropped_bytes += drops->dropped_bytes;
        totals_.producer_dropped_records += drops->dropped_records;
        totals_.producer_dropped_bytes += drops->dropped_bytes;
        log_event(session, nullptr, std::move(parsed->json), now_ns);
    } else if (unknown_event != nullptr) {
        *unknown_event = std::get<UnknownEvent>(event.what).name;
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
