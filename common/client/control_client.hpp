// The control side of the wire protocol (docs/protocol.md §9): a blocking connection that says HELLO as
// a control client and exchanges REQUESTs for REPLYs. Used by `spicecap status` and by the extcap's
// reloadable session list.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "base/expected.hpp"
#include "wire/frame.hpp"

namespace spicecap {

class ControlClient {
public:
    ControlClient() = default;
    ~ControlClient();
    ControlClient(const ControlClient&) = delete;
    ControlClient& operator=(const ControlClient&) = delete;

    /// Connects and says HELLO as a control client. For a daemon that is not running the error says how
    /// to start one.
    Expected<Ok, std::string> connect(const std::string& socket_path, int timeout_ms = 5000);
    /// Sends a REQUEST (e.g. {"command":"status"}) and returns the REPLY; an error if the daemon said
    /// ok:false, hung up, or did not answer within the timeout.
    Expected<nlohmann::json, std::string> request(const nlohmann::json& body);

private:
    Expected<nlohmann::json, std::string> exchange(FrameType type, const nlohmann::json& body);

    int fd_ = -1;
    int timeout_ms_ = 5000;
    FrameDecoder decoder_;
};

}  // namespace spicecap
