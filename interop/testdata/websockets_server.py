# Python websockets echo server for the interop tests, with
# permessage-deflate accepting what the client offers. It prints its port,
# then serves until stdin closes.
import asyncio
import sys

import websockets


async def echo(ws):
    async for m in ws:
        await ws.send(m)


async def main():
    async with websockets.serve(echo, "127.0.0.1", 0, compression="deflate", max_size=2**24) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)


asyncio.run(main())
