"""`python -m localmodels --port 0`: serve the embedded models over Ollama's API.

Why the URL on stdout's first line: a parent process (tests, the driver) starts this with
port 0 and needs the port the OS chose; `OLLAMA_URL=...` is flushed before anything else,
so the parent can read one line and go. SIGTERM and SIGINT stop it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from aiohttp import web

from localmodels.engine import Engine
from localmodels.registry import MODELS
from localmodels.server import make_app


async def serve(host: str, port: int, preload: list[str]) -> None:
    engine = Engine()
    for name in preload:
        await engine.load(MODELS[name])
    runner = web.AppRunner(make_app(engine), handler_cancellation=True, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    print(f"OLLAMA_URL=http://{host}:{bound[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localmodels", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434, help="0: any free port (printed)")
    parser.add_argument("--preload", action="append", default=[], choices=sorted(MODELS),
                        help="load this model before serving (repeatable)")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, args.preload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
