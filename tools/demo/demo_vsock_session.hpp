// The scripted USB vsock session `spicecap demo --vsock` plays: the Sync handshake, connections opened
// with Connect/Accept, Data both ways (control stream and connections), Echo/EchoReply, Pause, Finish and
// Reset — in transfers of 1, 2 and 50 packets, and one transfer of 1 MiB.
#pragma once

#include <cstdint>
#include <vector>

#include "base/direction.hpp"

namespace spicecap::cli {

/// One USB transfer of the demo.
struct DemoVsockTransfer {
    /// OUT (host to device) or IN (device to host).
    Direction direction = Direction::host_to_device;
    /// The transfer: one or more vsock packets back to back.
    std::vector<std::uint8_t> bytes;
};

/// Generates the demo's transfers. Deterministic.
class DemoVsockSession {
public:
    /// Sync handshake, connections, a 50-packet transfer and a 1 MiB transfer.
    std::vector<DemoVsockTransfer> opening();
    /// The next transfer of the steady part (data both ways, echoes, pauses).
    DemoVsockTransfer next();
    /// Finish and Reset of the connections.
    std::vector<DemoVsockTransfer> closing();

    /// The device and host context ids and ports the demo uses.
    static constexpr std::uint32_t kDeviceCid = 3;
    static constexpr std::uint32_t kHostCid = 2;
    static constexpr std::uint32_t kSshPort = 22;
    static constexpr std::uint32_t kLogPort = 5001;

private:
    std::uint64_t step_ = 0;
};

}  // namespace spicecap::cli
