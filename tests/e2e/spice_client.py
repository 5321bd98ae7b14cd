#!/usr/bin/python3
"""A real SPICE client for the end-to-end tests: spice-gtk's SpiceClientGLib through PyGObject.

Connects to HOST:PORT, opens every channel the server offers (the main channel lists them), types a few
keys and moves the mouse on the inputs channel, stays SECONDS, disconnects. Prints one line per channel
opened and exits non-zero if a channel failed or none but main opened: the test must fail loudly, never
pass on a client that did nothing.

usage: spice_client.py HOST PORT SECONDS [--tls CA_FILE]
  --tls CA_FILE   PORT is the server's tls-port: every channel over TLS, the server's certificate checked
                  against CA_FILE
"""
import sys

import gi

gi.require_version("SpiceClientGLib", "2.0")
from gi.repository import GLib, GObject, SpiceClientGLib as Spice  # noqa: E402

# SpiceSession.connect() and SpiceChannel.connect() shadow GObject's signal connect.
connect_signal = GObject.Object.connect

# PC AT scan codes of "spice" (s p i c e), typed on the inputs channel.
KEYS = [0x1F, 0x19, 0x17, 0x2E, 0x12]


def main():
    host, port, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    if sys.argv[4:5] == ["--tls"]:
        session = Spice.Session(host=host, tls_port=port, ca_file=sys.argv[5])
    else:
        session = Spice.Session(host=host, port=port)
    loop = GLib.MainLoop()
    channels = {}  # name -> state
    problems = []

    def channel_name(channel):
        return "%s:%d" % (type(channel).__name__.replace("Channel", "").lower(), channel.props.channel_id)

    def on_event(channel, event):
        name = channel_name(channel)
        nick = event.value_nick
        if nick == "opened":
            channels[name] = "opened"
            print("opened", name, flush=True)
        elif nick.startswith("error"):
            channels[name] = nick
            problems.append("%s: %s" % (name, nick))
            print("error", name, nick, flush=True)

    inputs = []

    def on_new_channel(_session, channel):
        channels[channel_name(channel)] = "connecting"
        connect_signal(channel, "channel-event", on_event)
        if isinstance(channel, Spice.InputsChannel):
            inputs.append(channel)
        if not isinstance(channel, Spice.MainChannel):
            Spice.Channel.connect(channel)

    typed = [0]

    def type_a_key():
        # One key down/up and a mouse move every 300 ms, so the inputs channel carries client messages.
        for channel in inputs:
            code = KEYS[typed[0] % len(KEYS)]
            channel.key_press(code)
            channel.key_release(code)
            channel.motion(3, 2, 0)
        typed[0] += 1
        return True

    connect_signal(session, "channel-new", on_new_channel)
    if not Spice.Session.connect(session):
        print("spice_client: cannot start connecting to %s:%s" % (host, port), file=sys.stderr)
        return 1
    GLib.timeout_add(300, type_a_key)
    GLib.timeout_add(int(seconds * 1000), loop.quit)
    loop.run()
    session.disconnect()
    # Let the disconnect reach the sockets before the process exits.
    end = GLib.MainLoop()
    GLib.timeout_add(300, end.quit)
    end.run()

    opened = sorted(name for name, state in channels.items() if state == "opened")
    print("channels opened:", " ".join(opened), flush=True)
    if problems:
        print("spice_client: channel errors: " + "; ".join(problems), file=sys.stderr)
        return 1
    not_opened = sorted(name for name, state in channels.items() if state != "opened")
    if not_opened or len(opened) < 2:
        print("spice_client: channels that did not open: %s (opened: %s)" % (not_opened, opened), file=sys.stderr)
        return 1
    print("keys typed: %d" % typed[0], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
