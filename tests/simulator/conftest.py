"""Fixtures: a real simulator on loopback, started per test with the config it needs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from simulator import SimConfig, SimServer
from tests.simulator._helpers import OPEN_CLIENTS

StartSim = Callable[..., Awaitable[SimServer]]


@pytest.fixture
async def start_sim() -> AsyncIterator[StartSim]:
    """Call `await start_sim(cfg)` to get a started SimServer (its URL is `.url`)."""
    servers: list[SimServer] = []

    async def _start(cfg: SimConfig | None = None, **kwargs: object) -> SimServer:
        server = SimServer(cfg if cfg is not None else SimConfig.model_validate(kwargs))
        await server.start()
        servers.append(server)
        return server

    yield _start
    while OPEN_CLIENTS:
        sdk_client = OPEN_CLIENTS.pop()
        await (sdk_client.aclose() if hasattr(sdk_client, "aclose") else sdk_client.close())
    for server in servers:
        await server.stop()
