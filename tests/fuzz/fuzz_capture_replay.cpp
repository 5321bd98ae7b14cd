// Fuzz target: `spicecap replay`'s reading of an untrusted capture file (tools/replay/): link-layer and
// IPv4/IPv6/TCP decoding of every frame, TCP reassembly per direction, recognising SPICE connections and
// following them into messages.
//
// Input: a sequence of frames, each `u8 link type selector | u16 LE length | length bytes` (the last frame
// may be cut short; every byte string is a valid input). The selector picks one of the link types replay
// decodes (or one it does not). make_seeds.cpp writes synthesized SPICE sessions in this format.
// Checked: no crash, leak or undefined behaviour; what reaches the sink makes sense - a channel is opened
// before its messages, never twice at once, closed only when open, every message non-empty, and after
// finish() no channel is left open; the summary's per-channel counts equal what the sink was told.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>

#include "fuzz_check.hpp"
#include "replay/capture_replay.hpp"

namespace {

using namespace spicecap;

// EN10MB, LINUX_SLL, LINUX_SLL2, NULL, LOOP, RAW (two numbers), IPV4, IPV6, and one replay does not decode.
constexpr int kLinkTypes[] = {1, 113, 276, 0, 108, 12, 101, 228, 229, 147};

class CheckingSink final : public SpiceChannelSink {
public:
    Expected<Ok, std::string> channel_opened(SpiceChannelKey channel, HeaderMode) override {
        FUZZ_CHECK(open_.insert(channel).second);
        return Ok{};
    }
    void message(SpiceChannelKey channel, Direction direction, std::span<const std::uint8_t> bytes,
                 std::uint64_t) override {
        FUZZ_CHECK(open_.count(channel) == 1);
        FUZZ_CHECK(!bytes.empty());
        ++messages_[{channel, direction}];
    }
    void channel_closed(SpiceChannelKey channel) override { FUZZ_CHECK(open_.erase(channel) == 1); }

    const std::set<SpiceChannelKey>& open() const { return open_; }
    std::uint64_t messages(SpiceChannelKey channel, Direction direction) const {
        const auto it = messages_.find({channel, direction});
        return it == messages_.end() ? 0 : it->second;
    }

private:
    std::set<SpiceChannelKey> open_;
    std::map<std::pair<SpiceChannelKey, Direction>, std::uint64_t> messages_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    CheckingSink sink;
    // Small limits, so that short inputs reach the too_large and reassembly-window rules.
    ReplayOptions options;
    options.parser = SpiceParserLimits{.max_message_bytes = 4096, .max_link_bytes = 1024, .max_bytes_waiting_for_peer = 5120};
    CaptureReplay replay(sink, [](LogLevel, const std::string&) {}, options);
    std::uint64_t timestamp = 1'700'000'000'000'000'000ull;
    std::size_t at = 0;
    while (at < size) {
        const int link_type = kLinkTypes[data[at] % std::size(kLinkTypes)];
        std::size_t length = 0;
        if (at + 3 <= size) length = data[at + 1] | std::size_t{data[at + 2]} << 8;
        at += 3;
        const std::size_t available = at < size ? size - at : 0;
        const std::size_t n = std::min(length, available);
        replay.frame(link_type, timestamp += 1000, {data + std::min(at, size), n});
        at += n;
    }
    replay.finish();
    FUZZ_CHECK(sink.open().empty());
    for (const auto& [channel, counters] : replay.summary().channels) {
        FUZZ_CHECK(counters.first.messages == sink.messages(channel, Direction::client_to_server));
        FUZZ_CHECK(counters.second.messages == sink.messages(channel, Direction::server_to_client));
    }
    return 0;
}
