// docs/protocol.md's worked examples are real: every ```hex block decodes as exactly one valid frame.
#include <doctest/doctest.h>

#include "wire/frame.hpp"
#include "wire/record.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

using namespace spicecap;

namespace {

// The bytes of each ```hex block: lines "OFFSET  HH HH ... HH  ascii", hex columns only.
std::vector<std::vector<std::uint8_t>> hex_blocks(const std::string& path) {
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "cannot open " << path);
    std::vector<std::vector<std::uint8_t>> blocks;
    std::string line;
    bool inside = false;
    while (std::getline(in, line)) {
        if (line == "```hex") {
            inside = true;
            blocks.emplace_back();
            continue;
        }
        if (inside && line.rfind("```", 0) == 0) {
            inside = false;
            continue;
        }
        if (!inside) continue;
        // 4 offset digits, two spaces, then up to 16 "HH " groups (48 columns).
        const std::size_t offset = std::stoul(line.substr(0, 4), nullptr, 16);
        CHECK(offset == blocks.back().size());
        std::istringstream hex(line.substr(6, 48));
        std::string byte;
        while (hex >> byte) blocks.back().push_back(static_cast<std::uint8_t>(std::stoul(byte, nullptr, 16)));
    }
    return blocks;
}

}  // namespace

TEST_CASE("protocol doc: every worked example is one valid frame") {
    const auto blocks = hex_blocks(std::string(SPICECAP_SOURCE_DIR) + "/docs/protocol.md");
    REQUIRE(blocks.size() >= 8);
    int records = 0, drops = 0, json = 0;
    for (const auto& block : blocks) {
        FrameDecoder decoder;
        decoder.feed(block);
        auto frame = decoder.next();
        REQUIRE_MESSAGE(frame, frame.error().message);
        REQUIRE(frame.value());
        CHECK(decoder.buffered_bytes() == 0);
        const FrameView& f = **frame;
        if (f.type == FrameType::record) {
            auto record = Record::parse(f.body);
            CHECK_MESSAGE(record, (record ? "" : record.error().message));
            ++records;
        } else if (f.type == FrameType::drop) {
            auto drop = DropNotice::parse(f.body);
            REQUIRE_MESSAGE(drop, (drop ? "" : drop.error().message));
            CHECK(drop->records == 5);
            CHECK(drop->bytes == 320);
            ++drops;
        } else {
            CHECK(nlohmann::json::parse(f.text()).is_object());
            ++json;
        }
    }
    CHECK(records == 1);
    CHECK(drops == 1);
    CHECK(json == 6);
}
