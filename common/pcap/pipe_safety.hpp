// Writing to a FIFO or pipe whose reader may go away at any time (Wireshark, dumpcap, ssh): SIGPIPE must
// not kill the writer, and EPIPE should read as what happened.
#pragma once

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

namespace spicecap {

/// Ignores SIGPIPE unless the program installed a handler of its own, so a closed pipe becomes EPIPE.
inline void ignore_sigpipe() {
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) std::signal(SIGPIPE, SIG_IGN);
}

/// errno as a sentence for an output error, with EPIPE said plainly.
inline std::string output_error_text(int error) {
    if (error == EPIPE) return "the reader closed the pipe (EPIPE)";
    return std::strerror(error);
}

}  // namespace spicecap
