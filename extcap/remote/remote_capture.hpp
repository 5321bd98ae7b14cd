// `--capture` with a Remote destination: the system's ssh runs `spicecap stream` on the remote host and
// the extcap relays its standard output into Wireshark's FIFO byte for byte (the stream's format, pcap or
// pcapng, is whatever that spicecap writes for the capture options passed on).
//
// Stop (SIGTERM/SIGINT, EOF on control-in, the FIFO's reader gone) closes ssh's standard input, so that
// the remote spicecap sees EOF and ends, and ssh with it; if ssh is still there after 700 ms it gets
// SIGTERM (the remote end then sees the connection close), and SIGKILL 250 ms later. Nothing is left on
// either host.
#pragma once

#include "base/log.hpp"
#include "extcap_options.hpp"

namespace spicecap::extcap {

/// Runs a remote capture until it is stopped or ends; returns the exit code. Like the local capture it
/// opens the toolbar's pipes before anything can fail (design §11). A failure is one sentence on the log's
/// error level, naming the part that failed (ssh_command.hpp).
int run_remote_capture(const ExtcapOptions& options, Log& log);

}  // namespace spicecap::extcap
