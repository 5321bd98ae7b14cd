// spicecapd: parse the command line, open the socket, run the event loop until SIGTERM/SIGINT.
#include <csignal>
#include <cstdio>
#include <iostream>

#include <asio/io_context.hpp>

#include "listener.hpp"
#include "log.hpp"
#include "options.hpp"
#include "server.hpp"
#include "wire/socket_path.hpp"

int main(int argc, char** argv) {
    using namespace spicecap;
    using namespace spicecap::daemon;

    auto command_line = parse_command_line(argc, argv);
    if (!command_line) {
        std::cerr << "spicecapd: " << command_line.error() << "\n";
        return 2;
    }
    if (command_line->action == CommandLineAction::help) {
        std::cout << usage_text();
        return 0;
    }
    if (command_line->action == CommandLineAction::version) {
        std::cout << "spicecapd " << SPICECAP_VERSION << " (protocol " << kProtocolVersion << ")\n";
        return 0;
    }
    const DaemonOptions& options = command_line->options;
    log_init(options.verbose);
    // A subscriber that vanishes must not kill the daemon: write errors are handled where they happen.
    std::signal(SIGPIPE, SIG_IGN);

    const auto where = choose_socket_path(options.socket ? std::optional<std::string_view>(*options.socket) : std::nullopt);
    asio::io_context io(1);
    auto listener = open_listener(io, where);
    if (!listener) {
        log(LogLevel::error, listener.error());
        return 1;
    }
    {
        Server server(io, std::move(*listener), options.limits);
        server.start();
        const auto& l = options.limits;
        log(LogLevel::message, "spicecapd ", SPICECAP_VERSION, " listening on ", where.path.string(), " (from ",
            socket_path_source_name(where.source), "); history ", l.history_bytes, " bytes / ", l.history_seconds,
            " s, subscriber queue ", l.subscriber_queue_bytes, " bytes, max frame ", l.max_frame_bytes, " bytes");
        io.run();
    }
    log(LogLevel::message, "stopped");
    return 0;
}
