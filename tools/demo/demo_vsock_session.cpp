// The USB vsock demo's script.
#include "demo/demo_vsock_session.hpp"

#include <string>
#include <string_view>

#include "vsock/vsock_packet.hpp"

namespace spicecap::cli {
namespace {

using vsock::Address;
using vsock::PacketType;
using Dir = Direction;

std::span<const std::uint8_t> bytes_of(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Host-side ports are ephemeral; the device serves ssh (22) and a log stream (5001).
const Address kSsh{DemoVsockSession::kDeviceCid, DemoVsockSession::kHostCid, DemoVsockSession::kSshPort, 40022};
const Address kLog{DemoVsockSession::kDeviceCid, DemoVsockSession::kHostCid, DemoVsockSession::kLogPort, 40501};
const Address kControl{};

DemoVsockTransfer transfer(Dir direction) { return DemoVsockTransfer{direction, {}}; }

}  // namespace

std::vector<DemoVsockTransfer> DemoVsockSession::opening() {
    std::vector<DemoVsockTransfer> out;
    // Sync both ways: each side announces its protocol version; Sync is the last packet of its transfer.
    auto host_sync = transfer(Dir::host_to_device);
    vsock::append_packet(host_sync.bytes, PacketType::sync, kControl, bytes_of(vsock::sync_payload({1, {}})));
    out.push_back(std::move(host_sync));
    auto device_sync = transfer(Dir::device_to_host);
    vsock::append_packet(device_sync.bytes, PacketType::sync, kControl, bytes_of(vsock::sync_payload({1, {}})));
    out.push_back(std::move(device_sync));

    // Two connections asked for in one transfer (2 packets), accepted in one transfer.
    auto connects = transfer(Dir::host_to_device);
    vsock::append_packet(connects.bytes, PacketType::connect, kSsh);
    vsock::append_packet(connects.bytes, PacketType::connect, kLog);
    out.push_back(std::move(connects));
    auto accepts = transfer(Dir::device_to_host);
    vsock::append_packet(accepts.bytes, PacketType::accept, kSsh);
    vsock::append_packet(accepts.bytes, PacketType::accept, kLog);
    out.push_back(std::move(accepts));

    // A control-stream message, then the device's log burst: 50 packets in one transfer.
    auto control = transfer(Dir::host_to_device);
    vsock::append_packet(control.bytes, PacketType::data, kControl, bytes_of("{\"hello\":\"spicecap demo\"}"));
    out.push_back(std::move(control));
    auto burst = transfer(Dir::device_to_host);
    for (int i = 0; i < 50; ++i) {
        const std::string line = "log line " + std::to_string(i) + ": all systems nominal\n";
        vsock::append_packet(burst.bytes, PacketType::data, kLog, bytes_of(line));
    }
    out.push_back(std::move(burst));

    // One 1 MiB transfer: a file copied to the device over the ssh connection.
    auto big = transfer(Dir::host_to_device);
    std::vector<std::uint8_t> file(1024 * 1024 - vsock::Header::size);
    for (std::size_t i = 0; i < file.size(); ++i) file[i] = static_cast<std::uint8_t>(i * 31 + 7);
    vsock::append_packet(big.bytes, PacketType::data, kSsh, file);
    out.push_back(std::move(big));
    return out;
}

DemoVsockTransfer DemoVsockSession::next() {
    const std::uint64_t at = step_++ % 8;
    const std::string n = std::to_string(step_);
    switch (at) {
        case 0: {
            auto t = transfer(Dir::host_to_device);
            vsock::append_packet(t.bytes, PacketType::data, kSsh, bytes_of("ssh keystroke " + n));
            return t;
        }
        case 1: {
            auto t = transfer(Dir::device_to_host);
            vsock::append_packet(t.bytes, PacketType::data, kSsh, bytes_of("ssh echo " + n + "\r\n"));
            return t;
        }
        case 2: {
            auto t = transfer(Dir::host_to_device);
            vsock::append_packet(t.bytes, PacketType::echo, kControl, bytes_of("ping " + n));
            return t;
        }
        case 3: {
            auto t = transfer(Dir::device_to_host);
            vsock::append_packet(t.bytes, PacketType::echo_reply, kControl, bytes_of("ping " + n));
            return t;
        }
        case 4: {
            auto t = transfer(Dir::device_to_host);
            const auto pause = vsock::pause_payload(true);
            vsock::append_packet(t.bytes, PacketType::pause, kControl, pause);
            return t;
        }
        case 5: {
            auto t = transfer(Dir::device_to_host);
            const auto resume = vsock::pause_payload(false);
            vsock::append_packet(t.bytes, PacketType::pause, kControl, resume);
            return t;
        }
        case 6: {
            // Two packets on two connections in one transfer.
            auto t = transfer(Dir::device_to_host);
            vsock::append_packet(t.bytes, PacketType::data, kLog, bytes_of("log line " + n + "\n"));
            vsock::append_packet(t.bytes, PacketType::data, kSsh, bytes_of("$ "));
            return t;
        }
        default: {
            auto t = transfer(Dir::host_to_device);
            vsock::append_packet(t.bytes, PacketType::data, kControl, bytes_of("{\"tick\":" + n + "}"));
            return t;
        }
    }
}

std::vector<DemoVsockTransfer> DemoVsockSession::closing() {
    std::vector<DemoVsockTransfer> out;
    // The ssh connection closes politely; the log stream is reset by the device.
    auto finish = transfer(Dir::host_to_device);
    vsock::append_packet(finish.bytes, PacketType::finish, kSsh);
    out.push_back(std::move(finish));
    auto finish_ack = transfer(Dir::device_to_host);
    vsock::append_packet(finish_ack.bytes, PacketType::reset, kSsh);
    out.push_back(std::move(finish_ack));
    auto reset = transfer(Dir::device_to_host);
    vsock::append_packet(reset.bytes, PacketType::reset, kLog);
    out.push_back(std::move(reset));
    return out;
}

}  // namespace spicecap::cli
