// spicecapd's command line: the socket, --verbose, and every limit (docs/protocol.md §8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "base/expected.hpp"

namespace spicecap::daemon {

/// Every configurable limit, with the defaults of docs/protocol.md §8.
struct DaemonLimits {
    /// Largest RECORD frame length (type + body) a producer may send.
    std::uint32_t max_frame_bytes = 16u * 1024 * 1024;
    /// Producers connected at once.
    std::size_t max_producers = 64;
    /// Subscribers connected at once.
    std::size_t max_subscribers = 16;
    /// Connections that have not said HELLO yet plus control connections.
    std::size_t max_other_connections = 32;
    /// Backlog kept for each subscriber beyond the history before its oldest records are dropped.
    std::uint64_t subscriber_queue_bytes = 8u * 1024 * 1024;
    /// Memory the history (record log) may hold.
    std::uint64_t history_bytes = 64u * 1024 * 1024;
    /// Age after which records leave the history.
    double history_seconds = 300;
};

/// Largest frame accepted before HELLO and for HELLO, EVENT and REQUEST frames.
inline constexpr std::uint32_t kMaxJsonFrameBytes = 64 * 1024;
/// Seconds a new connection has to send its HELLO.
inline constexpr double kHelloTimeoutSeconds = 10;

/// Everything the command line sets.
struct DaemonOptions {
    /// --socket PATH (otherwise the default rule of socket_path.hpp).
    std::optional<std::string> socket;
    /// --verbose: debug lines in the log.
    bool verbose = false;
    /// The limit options.
    DaemonLimits limits;
};

/// What the command line asks for.
enum class CommandLineAction { run, help, version };

/// The parsed command line.
struct CommandLine {
    CommandLineAction action = CommandLineAction::run;
    DaemonOptions options;
};

/// Parses argv; an error is one sentence for stderr.
Expected<CommandLine, std::string> parse_command_line(int argc, char** argv);

/// The --help text.
std::string usage_text();

/// Parses a byte count: a number optionally followed by K, M, G (or KiB, MiB, GiB), powers of 1024.
std::optional<std::uint64_t> parse_byte_count(std::string_view text);

}  // namespace spicecap::daemon
