// Which way a message travelled: the one direction type every part of spicecap uses (records on the wire,
// SPICE parsing and following, TCP synthesis, the USB vsock pseudo-header, the demos). Its values are the
// RecordHeader direction byte of docs/protocol.md §4 and the USB vsock pseudo-header's direction byte of
// docs/formats.md, so it is written to and read from the wire as it is.
#pragma once

#include <cstddef>
#include <cstdint>

namespace spicecap {

/// 0 is always the side that initiates (the SPICE client, the USB host), 1 the other way. Each protocol
/// names the two values in its own words; they are the same two values.
enum class Direction : std::uint8_t {
    /// SPICE: from the client to the server.
    client_to_server = 0,
    /// SPICE: from the server to the client.
    server_to_client = 1,
    /// USB vsock: from the host to the device (an OUT transfer; USB endpoint direction bit 0).
    host_to_device = 0,
    /// USB vsock: from the device to the host (an IN transfer; USB endpoint direction bit 1).
    device_to_host = 1,
};

/// The other way.
constexpr Direction opposite(Direction direction) noexcept {
    return direction == Direction::client_to_server ? Direction::server_to_client : Direction::client_to_server;
}

/// 0 or 1, to index per-direction arrays.
constexpr std::size_t index_of(Direction direction) noexcept { return static_cast<std::size_t>(direction); }

}  // namespace spicecap
