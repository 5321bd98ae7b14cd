// Fuzz target: spicecap-extcap's command line (extcap/extcap_options.hpp), which Wireshark builds from
// saved preferences that a person may have edited by hand.
//
// Input: the arguments separated by NUL bytes (like /proc/PID/cmdline, without argv[0]). Checked besides
// "no crash, no exception": a successful parse holds only values the capture can use; an error is a
// sentence.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "extcap_options.hpp"
#include "fuzz_check.hpp"
#include "wire/record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> args(1);
    for (std::size_t i = 0; i < size; ++i) {
        if (data[i] == 0) args.emplace_back();
        else args.back().push_back(static_cast<char>(data[i]));
    }
    if (size == 0) args.clear();

    auto options = spicecap::extcap::parse_extcap_options(args);
    if (!options) {
        FUZZ_CHECK(!options.error().empty());
        return 0;
    }
    FUZZ_CHECK(options->capture.server_port >= 1);
    FUZZ_CHECK(options->capture.link_type >= 147 && options->capture.link_type <= 162);
    FUZZ_CHECK(options->capture.history_seconds <= 86400);
    FUZZ_CHECK(!options->capture.session || *options->capture.session >= 1);
    for (std::uint8_t channel : options->capture.channels) FUZZ_CHECK(spicecap::spice_channel_name(channel));
    FUZZ_CHECK(options->ignored.size() <= args.size());
    return 0;
}
