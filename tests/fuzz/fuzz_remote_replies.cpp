// Fuzz target: what another host sends back to the extcap's remote capture (extcap/remote/ssh_command.hpp,
// extcap/session_list.hpp): ssh's and the remote spicecap's stderr with an exit status, made into the one
// sentence Wireshark's error dialog shows; the output of `spicecap sessions` there, made into the session
// selector's lines; and the SSH destination a person types.
//
// Input: byte 0 % 3 picks what (0: stderr, 1: session list, 2: destination); for stderr, its bit 0x80 says
// "ended by a signal" and 0x40 "output had started"; byte 1 is the exit status or signal (session list:
// bit 0 picks the interface); the rest is the text.
// Checked besides "no crash, no exception": the sentence is one non-empty line without control characters
// that Wireshark shows whole (under 1024 bytes); every selector line is a well-formed `value {...}` line;
// a destination either parses to something ssh cannot take for an option or is refused with a sentence.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "extcap_options.hpp"
#include "fuzz_check.hpp"
#include "session_list.hpp"
#include "remote/ssh_command.hpp"

using namespace spicecap::extcap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::string text(reinterpret_cast<const char*>(data + 2), size - 2);
    switch (data[0] % 3) {
        case 0: {
            RemoteOptions remote;
            remote.destination = "me@lab-host:2222";
            remote.identity_file = "/home/me/.ssh/id_ed25519";
            SshOutcome outcome;
            if (data[0] & 0x80) outcome.signal = data[1];
            else outcome.exit_status = data[1];
            outcome.stderr_text = text;
            outcome.had_output = (data[0] & 0x40) != 0;
            const std::string sentence = explain_ssh_outcome(remote, outcome);
            FUZZ_CHECK(!sentence.empty());
            FUZZ_CHECK(sentence.size() < 1024);
            for (char c : sentence) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
            break;
        }
        case 1: {
            const auto sessions = sessions_from_output(text);
            const std::string lines = session_values(sessions ? *sessions : nlohmann::json::array(),
                                                     (data[1] & 1) ? kVsockInterface : kSpiceInterface);
            std::size_t start = 0;
            FUZZ_CHECK(!lines.empty() && lines.back() == '\n');
            while (start < lines.size()) {
                const std::size_t end = lines.find('\n', start);
                const std::string_view line(lines.data() + start, end - start);
                FUZZ_CHECK(line.starts_with("value {arg=2}{value="));
                FUZZ_CHECK(line.ends_with("}"));
                // Braces only where the syntax puts them: {arg=..}{value=..}{display=..}{default=..}.
                std::size_t open = 0;
                for (char c : line) open += c == '{';
                FUZZ_CHECK(open == 4);
                for (char c : line) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20);
                start = end + 1;
            }
            break;
        }
        case 2: {
            const auto destination = parse_ssh_destination(text);
            if (!destination) {
                FUZZ_CHECK(destination.error().starts_with("the SSH destination '"));
                break;
            }
            FUZZ_CHECK(!destination->destination.empty());
            FUZZ_CHECK(destination->destination.front() != '-');
            FUZZ_CHECK(!destination->port || *destination->port >= 1);
            break;
        }
    }
    return 0;
}
