// Fuzz target: the SPICE framing parser (common/spice/spice_stream_parser.hpp), as a proxy
// uses it: SpiceConnectionParser fed both directions of one channel connection in arbitrary pieces.
//
// Input: a chunk stream (chunked_input.hpp); lane 0 = client to server, lane 1 = server to client.
// Checked, per direction: the messages returned are the bytes fed, in order, back to back from the start
// of the stream (nothing invented, skipped or reordered); each message is within the limits and of a
// kind that direction can send; an error is reported once, and afterwards nothing more comes out of that
// direction; data messages have the header size of the negotiated mode; and once in the data stage a
// direction buffers less than one message's limit, and at any time no more than the limit for a direction
// waiting for the other's link information.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "chunked_input.hpp"
#include "fuzz_check.hpp"
#include "spice/spice_stream_parser.hpp"

namespace {

using namespace spicecap;

// Small limits, so that short inputs reach the too_large rules.
constexpr SpiceParserLimits kLimits{.max_message_bytes = 2048, .max_link_bytes = 512, .max_bytes_waiting_for_peer = 2560};

struct DirectionState {
    std::vector<std::uint8_t> fed;
    std::size_t returned = 0;  // bytes of `fed` returned in messages so far
    bool failed = false;
};

bool sent_by_client(SpiceMessageKind kind) {
    return kind == SpiceMessageKind::link_mess || kind == SpiceMessageKind::auth_mechanism ||
           kind == SpiceMessageKind::ticket || kind == SpiceMessageKind::data;
}

bool sent_by_server(SpiceMessageKind kind) {
    return kind == SpiceMessageKind::link_reply || kind == SpiceMessageKind::link_result ||
           kind == SpiceMessageKind::data;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::ChunkReader reader({data, size});
    SpiceConnectionParser parser(kLimits);
    DirectionState state[2];
    fuzz::Chunk chunk;
    while (reader.next(chunk)) {
        const auto direction = static_cast<Direction>(chunk.lane);
        state[chunk.lane].fed.insert(state[chunk.lane].fed.end(), chunk.bytes.begin(), chunk.bytes.end());
        auto result = parser.feed(direction, chunk.bytes);
        for (const auto& message : result.messages) {
            auto& s = state[static_cast<unsigned>(message.direction)];
            FUZZ_CHECK(!s.failed);
            FUZZ_CHECK(!message.bytes.empty());
            FUZZ_CHECK(s.returned + message.bytes.size() <= s.fed.size());
            FUZZ_CHECK(std::equal(message.bytes.begin(), message.bytes.end(),
                                  s.fed.begin() + static_cast<std::ptrdiff_t>(s.returned)));
            s.returned += message.bytes.size();
            if (message.direction == Direction::client_to_server) FUZZ_CHECK(sent_by_client(message.kind));
            else FUZZ_CHECK(sent_by_server(message.kind));
            if (message.kind == SpiceMessageKind::data) {
                FUZZ_CHECK(message.bytes.size() <= kLimits.max_message_bytes);
                FUZZ_CHECK(parser.header_mode() == message.header_mode);
                FUZZ_CHECK(message.bytes.size() >= data_header_size(message.header_mode));
                FUZZ_CHECK(message.body().size() == message.bytes.size() - data_header_size(message.header_mode));
            } else if (message.kind == SpiceMessageKind::link_mess || message.kind == SpiceMessageKind::link_reply) {
                FUZZ_CHECK(message.bytes.size() <= kLimits.max_link_bytes);
            }
        }
        if (result.error) {
            FUZZ_CHECK(!result.error->message.empty());
            // The error belongs to a direction that had not failed before; it stays failed.
            const bool client_failed = parser.client().failure().has_value();
            const bool server_failed = parser.server().failure().has_value();
            FUZZ_CHECK(client_failed || server_failed);
            bool newly_failed = false;
            for (unsigned lane = 0; lane < 2; ++lane) {
                const bool failed_now = lane == 0 ? client_failed : server_failed;
                if (failed_now && !state[lane].failed) newly_failed = true;
            }
            FUZZ_CHECK(newly_failed);
        }
        // The channel is the one the client's link message names.
        if (const auto& link = parser.client().link_mess()) {
            FUZZ_CHECK(parser.channel_type() == channel_from_number(link->channel_type));
            FUZZ_CHECK(parser.channel_id() == link->channel_id);
        } else {
            FUZZ_CHECK(!parser.channel_type() && !parser.channel_id());
        }
        state[0].failed = parser.client().failure().has_value();
        state[1].failed = parser.server().failure().has_value();
        // Whatever was fed and not returned is still buffered (unless the direction gave up); in the data
        // stage that is less than one whole message.
        for (unsigned lane = 0; lane < 2; ++lane) {
            const auto& p = lane == 0 ? parser.client() : parser.server();
            if (state[lane].failed) continue;
            FUZZ_CHECK(p.buffered_bytes() == state[lane].fed.size() - state[lane].returned);
            if (p.in_data_stage()) FUZZ_CHECK(p.buffered_bytes() < kLimits.max_message_bytes);
            FUZZ_CHECK(p.buffered_bytes() <= kLimits.max_bytes_waiting_for_peer);
        }
    }
    return 0;
}
