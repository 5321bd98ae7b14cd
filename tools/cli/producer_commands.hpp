// The `spicecap` subcommands that are producers themselves: they report SPICE traffic to spicecapd.
// Each takes the arguments after its name and returns the exit code.
#pragma once

namespace spicecap::cli {

/// `spicecap proxy --listen ADDR:PORT --server HOST:PORT`: a SPICE proxy that reports what passes.
int proxy_command(int argc, char** argv);
/// `spicecap replay FILE`: sends the SPICE traffic of a pcap/pcapng capture to the daemon.
int replay_command(int argc, char** argv);
/// `spicecap send MESSAGE...`: reports hand-made messages (hex or files) to the daemon.
int send_command(int argc, char** argv);

}  // namespace spicecap::cli
