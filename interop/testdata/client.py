"""Interop client on python3-websockets (asyncio API): drives a wss echo
server through the cases of peers_test.go and prints "ok <case>" for
each, then "done".

Usage: /usr/bin/python3 client.py ws://host:port/ sizes...
"""
import asyncio
import sys

import websockets


def fail(msg):
    print("FAIL " + msg, flush=True)
    sys.exit(1)


def payload(n, text):
    """n bytes of a repeating pattern: ASCII letters for text, every byte
    value for binary."""
    unit = b"abcdefghijklmnopqrstuvwxyz" if text else bytes(range(251))
    return (unit * (n // len(unit) + 1))[:n]


async def echo(ws, name, data, text, fragments=None):
    msg = data.decode() if text else data
    if fragments is not None:
        await ws.send([f.decode() if text else f for f in fragments])
    else:
        await ws.send(msg)
    got = await ws.recv()
    if isinstance(got, str) != text:
        fail(name + ": message type changed")
    if got != msg:
        fail("%s: got %d back, sent %d" % (name, len(got), len(msg)))
    print("ok " + name, flush=True)


async def main(url, sizes):
    async with websockets.connect(url, max_size=None, ping_interval=None) as ws:
        for n in sizes:
            await echo(ws, "text %d" % n, payload(n, True), True)
            await echo(ws, "binary %d" % n, payload(n, False), False)
        await echo(ws, "text unicode", "héllo wörld € 𝄞".encode(), True)
        await echo(ws, "fragmented text", "fragmented € message".encode(), True,
                   ["frag".encode(), "mented €".encode(), " message".encode()])
        parts = [payload(100000, False), payload(1, False), payload(70000, False)]
        await echo(ws, "fragmented binary", b"".join(parts), False, parts)

        waiter = await ws.ping(b"hello-ping")
        await asyncio.wait_for(waiter, 10)
        print("ok client ping", flush=True)

        # The asyncio API answers pings itself and does not report them:
        # what can be checked is that the connection goes on after one.
        await ws.send("cmd:ping:srv")
        if await ws.recv() != "pinged":
            fail("no reply after the server's ping")
        print("ok server ping", flush=True)

        await ws.close(4000, "bye")
        if ws.close_code != 4000:
            fail("client close answered with %s" % ws.close_code)
        print("ok client close", flush=True)

    async with websockets.connect(url, max_size=None, ping_interval=None) as ws:
        await ws.send("cmd:close:4001")
        try:
            await ws.recv()
            fail("no close after cmd:close")
        except websockets.ConnectionClosed:
            pass
        await ws.wait_closed()
        if ws.close_code != 4001:
            fail("server close code %s" % ws.close_code)
        print("ok server close", flush=True)
    print("done", flush=True)


asyncio.run(main(sys.argv[1], [int(a) for a in sys.argv[2:]]))
