#!/usr/bin/python3
"""The scripted SPICE session of tests/bench/tap_cost: spice-gtk (SpiceClientGLib) connects to HOST:PORT,
opens every channel the server offers and then, for SECONDS, keeps the inputs channel busy (a mouse move
and five key presses and releases every millisecond), so that the client's CPU time is mostly spent on
SPICE messages rather than on starting Python. Exits non-zero if a channel fails or inputs never opens.

usage: spice_busy_client.py HOST PORT SECONDS
"""
import sys

import gi

gi.require_version("SpiceClientGLib", "2.0")
from gi.repository import GLib, GObject, SpiceClientGLib as Spice  # noqa: E402

connect_signal = GObject.Object.connect
KEYS = [0x1F, 0x19, 0x17, 0x2E, 0x12]


def main():
    host, port, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    session = Spice.Session(host=host, port=port)
    loop = GLib.MainLoop()
    inputs, problems, sent, running = [], [], [0], [True]

    def on_event(channel, event):
        if event.value_nick.startswith("error"):
            problems.append("%s: %s" % (type(channel).__name__, event.value_nick))
        elif event.value_nick == "opened" and isinstance(channel, Spice.InputsChannel):
            inputs.append(channel)

    def on_new_channel(_session, channel):
        connect_signal(channel, "channel-event", on_event)
        if not isinstance(channel, Spice.MainChannel):
            Spice.Channel.connect(channel)

    def busy():
        if not running[0]:
            return False
        for channel in inputs:
            channel.motion(1, 1, 0)
            for code in KEYS:
                channel.key_press(code)
                channel.key_release(code)
            sent[0] += 11
        return True

    connect_signal(session, "channel-new", on_new_channel)
    if not Spice.Session.connect(session):
        return "cannot connect"
    GLib.timeout_add(1, busy)
    GLib.timeout_add(int(seconds * 1000), loop.quit)
    loop.run()
    running[0] = False
    session.disconnect()
    end = GLib.MainLoop()
    GLib.timeout_add(200, end.quit)
    end.run()
    if problems or not inputs:
        return "spice_busy_client: %s" % (problems or "the inputs channel never opened")
    print("inputs calls: %d" % sent[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
