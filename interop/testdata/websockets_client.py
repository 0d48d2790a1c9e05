# Python websockets client for the interop tests: for each combination of
# permessage-deflate parameters it connects, sends messages that compress,
# and checks every echo. One JSON line per combination on stdout.
import asyncio
import json
import os
import sys

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory


def messages():
    phrase = b"the quick brown fox jumps over the lazy dog; "
    out = []
    for i, n in enumerate([0, 1, 50, 300, 5000, 40000, 200000]):
        b = bytes(phrase[(j * 7 + i) % len(phrase)] for j in range(n))
        out += [b.decode(), b, b.decode()]
    out.append(os.urandom(3000))
    return out


async def run(url, combos):
    msgs = messages()
    for c in combos:
        factory = ClientPerMessageDeflateFactory(
            server_no_context_takeover=c["snt"],
            client_no_context_takeover=c["cnt"],
            server_max_window_bits=c["sb"] or None,
            client_max_window_bits=c["cb"] or True,
        )
        try:
            async with websockets.connect(url, extensions=[factory], compression=None, max_size=2**24) as ws:
                ext = ws.response_headers.get("Sec-WebSocket-Extensions", "")
                for m in msgs:
                    await ws.send(m)
                    got = await ws.recv()
                    if got != m:
                        raise Exception("echo of a %d-byte message differs" % len(m))
            print(json.dumps({"id": c["id"], "ext": ext, "ok": True}), flush=True)
        except Exception as e:
            print(json.dumps({"id": c["id"], "ok": False, "err": repr(e)}), flush=True)


asyncio.run(run(sys.argv[1], json.loads(sys.argv[2])))
