"""`python -m simulator [--config FILE] [--host H] [--port P]`: run the simulator standalone.

Why print `SIM_URL=...` first: a parent process starting us with `--port 0` learns the
bound port by reading one line of stdout, with no race and no port guessing.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from simulator.config import SimConfig, load_sim_config
from simulator.server import SimServer


async def _run(cfg: SimConfig, host: str, port: int) -> None:
    server = SimServer(cfg)
    url = await server.start(host, port)
    print(f"SIM_URL={url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def serve(config_path: Path | None, host: str = "127.0.0.1", port: int = 0) -> None:
    """Blocking: serve until SIGTERM/SIGINT. Raises ValueError for a bad config file."""
    cfg = load_sim_config(config_path) if config_path is not None else SimConfig()
    asyncio.run(_run(cfg, host, port))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator", description="fleetbench provider simulator")
    parser.add_argument("--config", type=Path, default=None, help="YAML or JSON SimConfig file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    args = parser.parse_args(argv)
    try:
        serve(args.config, args.host, args.port)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
