// The subcommands of the `spicecap` CLI. Each takes the arguments after its name and returns the exit code.
#pragma once

namespace spicecap::cli {

int install_command(int argc, char** argv);
int uninstall_command(int argc, char** argv);
int record_command(int argc, char** argv);
int demo_command(int argc, char** argv);
/// `spicecap status [--json] [--socket PATH]`: the daemon's sessions, subscribers and counters.
int status_command(int argc, char** argv);
/// `spicecap tap [options] -- COMMAND...`: runs COMMAND with libspicecap-tap.so preloaded (docs/tap.md).
int tap_command(int argc, char** argv);
/// `spicecap stream [--interface spice|usbvsock] [options]`: one live capture on standard output (docs/remote.md).
int stream_command(int argc, char** argv);
/// `spicecap sessions [--socket PATH]`: the daemon's sessions as JSON, for programs (the extcap over SSH).
int sessions_command(int argc, char** argv);

}  // namespace spicecap::cli
