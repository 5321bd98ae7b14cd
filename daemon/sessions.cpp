// Sessions, channels and link-stage tracking (see sessions.hpp).
#include "sessions.hpp"

#include "spice/spice_protocol.hpp"

#include <algorithm>
#include <cstring>

namespace spicecap::daemon {

bool ChannelState::link_stage_takes(Direction direction, std::span<const std::uint8_t> payload) {
    if (kind != StreamKind::spice) return false;
    if (direction == Direction::client_to_server && starts_with_spice_magic(payload)) {
        preamble.restart_link_stage();
        link_stage = LinkStage::partial;
        link_server_records = 0;
        return true;
    }
    if (link_stage != LinkStage::partial) return false;
    if (direction == Direction::server_to_client && ++link_server_records == 2) link_stage = LinkStage::complete;
    return true;
}

bool ChannelPreamble::keep_opened_event(std::span<const std::uint8_t> frame, std::uint64_t position) {
    release(opened_event_);
    if (budget_->used_ + frame.size() > budget_->limit_) return false;
    opened_event_.assign(frame.begin(), frame.end());
    opened_event_position_ = position;
    budget_->used_ += frame.size();
    return true;
}

void ChannelPreamble::restart_link_stage() noexcept { release(link_frames_); }

bool ChannelPreamble::keep_link_frame(std::span<const std::uint8_t> frame, std::uint64_t position) {
    if (link_frames_.size() + frame.size() > kMaxLinkStageBytes || budget_->used_ + frame.size() > budget_->limit_) {
        release(link_frames_);
        return false;
    }
    link_frames_.insert(link_frames_.end(), frame.begin(), frame.end());
    link_end_position_ = position;
    budget_->used_ += frame.size();
    return true;
}

void ChannelPreamble::clear() noexcept {
    release(opened_event_);
    release(link_frames_);
}

std::uint64_t ChannelPreamble::end_position() const noexcept {
    std::uint64_t end = 0;
    if (!opened_event_.empty()) end = opened_event_position_;
    if (!link_frames_.empty()) end = std::max(end, link_end_position_);
    return end;
}

void ChannelPreamble::release(ByteBuffer& copy) noexcept {
    budget_->used_ -= copy.size();
    ByteBuffer().swap(copy);
}

void ChannelState::clear_preamble() noexcept {
    preamble.clear();
    link_stage = LinkStage::none;
    link_server_records = 0;
}

ChannelState& Session::channel(StreamKind kind, std::uint8_t channel_type, std::uint8_t channel_id) {
    const std::uint32_t key = channel_key(static_cast<std::uint8_t>(kind), channel_type, channel_id);
    if (last_channel_ != nullptr && last_key_ == key) return *last_channel_;
    auto [it, inserted] = channels.try_emplace(key, *budget_);
    if (inserted) {
        it->second.kind = kind;
        it->second.channel_type = channel_type;
        it->second.channel_id = channel_id;
    }
    last_channel_ = &it->second;
    last_key_ = key;
    return it->second;
}

nlohmann::json Session::to_json() const {
    nlohmann::json channel_list = nlohmann::json::array();
    for (const auto& [key, ch] : channels) {
        nlohmann::json c = {{"kind", stream_kind_name(ch.kind)},
                            {"channel_type", ch.channel_type},
                            {"channel_id", ch.channel_id},
                            {"open", ch.open},
                            {"records", ch.records},
                            {"bytes", ch.bytes}};
        if (ch.kind == StreamKind::spice) {
            c["channel"] = std::string(spice_channel_name(ch.channel_type).value_or("unknown"));
            c["header"] = ch.header.empty() ? nlohmann::json(nullptr) : nlohmann::json(ch.header);
            c["link_stage"] = ch.link_stage == LinkStage::complete ? "complete"
                              : ch.link_stage == LinkStage::partial ? "partial"
                                                                    : "none";
        }
        channel_list.push_back(std::move(c));
    }
    return {{"id", id},
            {"label", label},
            {"name", name},
            {"pid", pid},
            {"active", active},
            {"started_ns", started_ns},
            {"ended_ns", active ? nlohmann::json(nullptr) : nlohmann::json(ended_ns)},
            {"records", records},
            {"bytes", bytes},
            {"producer_dropped_records", producer_dropped_records},
            {"producer_dropped_bytes", producer_dropped_bytes},
            {"channels", std::move(channel_list)}};
}

Session& SessionRegistry::open(std::string name, std::string label, std::int64_t pid, std::uint64_t now_ns) {
    auto session = std::make_unique<Session>(budget_);
    session->id = next_id_++;
    if (next_id_ == 0) next_id_ = 1;  // after 4 billion sessions; ids of live sessions are never reused
    session->name = std::move(name);
    session->label = std::move(label);
    session->pid = pid;
    session->started_ns = now_ns;
    Session& ref = *session;
    active_.emplace(ref.id, std::move(session));
    return ref;
}

void SessionRegistry::close(Session& session, std::uint64_t now_ns) {
    auto it = active_.find(session.id);
    if (it == active_.end()) return;
    it->second->active = false;
    it->second->ended_ns = now_ns;
    for (auto& [key, ch] : it->second->channels) {
        ch.open = false;
        ch.clear_preamble();
    }
    ended_.push_front(std::move(it->second));
    active_.erase(it);
    if (ended_.size() > kEndedKept) ended_.pop_back();
}

nlohmann::json SessionRegistry::to_json() const {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [id, s] : active_) list.push_back(s->to_json());
    for (const auto& s : ended_) list.push_back(s->to_json());
    return list;
}

}  // namespace spicecap::daemon
