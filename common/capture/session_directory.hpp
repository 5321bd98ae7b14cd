// Who each session of a capture is: the producer's name, pid and session label, as spicecapd's "sessions"
// control request tells (docs/protocol.md §9). Subscribers learn a session only by its id; a pcapng capture
// names each channel's producer in a comment, so that a saved file still says where a stream came from.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace spicecap::capture {

class SessionDirectory {
public:
    explicit SessionDirectory(std::filesystem::path socket) : socket_(std::move(socket)) {}

    /// "remote-viewer pid 4242 · session vm1" (the label part only when there is one), or "session #7"
    /// if the daemon does not know the session (any more). Asks the daemon (within a second) the first time
    /// it meets a session id, then remembers.
    const std::string& describe(std::uint32_t session);

private:
    void ask_daemon();

    std::filesystem::path socket_;
    std::map<std::uint32_t, std::string> known_;
};

}  // namespace spicecap::capture
