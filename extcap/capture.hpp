// `--capture`: subscribe to spicecapd and stream what it sends as pcap into Wireshark's FIFO.
#pragma once

#include "extcap_options.hpp"
#include "base/log.hpp"

namespace spicecap::extcap {

/// Runs a capture until SIGTERM/SIGINT, the reader closing the FIFO, EOF on control-in, or the daemon
/// going away. Returns the process exit code; on failure one sentence has been logged (Wireshark shows
/// the extcap's stderr in a dialog).
int run_capture(const ExtcapOptions& options, Log& log);

}  // namespace spicecap::extcap
