"""The simulator's HTTP server: routes, control endpoints, and in-process runners.

Why aiohttp with `handler_cancellation=True`: a client that times out on a hung request
must cancel the handler, so the truth record says `client_disconnected` and nothing
keeps sleeping for an hour. TCP_NODELAY is aiohttp's default, so each chunk leaves at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import threading
import time
from types import TracebackType
from typing import Any, Self

import msgspec
from aiohttp import web
from pydantic import ValidationError

from simulator.config import SimConfig
from simulator.pipeline import SimState, handle
from simulator.truth import RequestTruth
from simulator.wire import Wire, dumps
from simulator.wire_anthropic import AnthropicWire, anthropic_models_response
from simulator.wire_ollama import VERSION, OllamaWire, ps_response, tags_response
from simulator.wire_openai import OpenAIWire, models_response
from simulator.wire_responses import ResponsesWire

_MAX_BODY = 64 * 1024 * 1024  # long-context tests send big prompts


def _json(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=dumps(obj), content_type="application/json", headers=headers)


class SimServer:
    """One simulator instance on the current event loop."""

    def __init__(self, cfg: SimConfig | None = None) -> None:
        self._state = SimState(cfg or SimConfig())
        self._runner: web.AppRunner | None = None
        self._meta_ids = itertools.count(1)
        self._url: str | None = None

    @property
    def url(self) -> str:
        """Base URL; only valid after `start()`."""
        if self._url is None:
            raise RuntimeError("SimServer not started")
        return self._url

    # -- lifecycle -------------------------------------------------------------------
    def _app(self) -> web.Application:
        app = web.Application(client_max_size=_MAX_BODY)
        openai_wire, anthropic_wire, ollama_wire = OpenAIWire(), AnthropicWire(), OllamaWire()
        app.router.add_post("/v1/chat/completions", self._generation(openai_wire))
        app.router.add_post("/v1/responses", self._generation(ResponsesWire()))
        app.router.add_post("/v1/messages", self._generation(anthropic_wire))
        app.router.add_post("/api/chat", self._generation(ollama_wire))
        app.router.add_get("/v1/models", self._v1_models)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_get("/api/ps", self._ps)
        app.router.add_get("/api/version", self._version)
        app.router.add_get("/_sim/health", self._health)
        app.router.add_get("/_sim/requests", self._requests)
        app.router.add_post("/_sim/reset", self._reset)
        app.router.add_post("/_sim/config", self._config)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen and return the base URL (e.g. http://127.0.0.1:41234)."""
        runner = web.AppRunner(self._app(), handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port, backlog=2048)
        await site.start()
        self._runner = runner
        bound = runner.addresses[0]
        self._url = f"http://{host}:{bound[1]}"
        return self._url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- state -----------------------------------------------------------------------
    def truths(self) -> list[RequestTruth]:
        """Copies of all records so far (copies: in-flight records are still mutating)."""
        return [dataclasses.replace(t) for t in self._state.log.records]

    def reset(self) -> None:
        """Clear truths, limit windows and fault counters (the RNG is re-seeded)."""
        self._state.reset()

    def configure(self, cfg: SimConfig) -> None:
        self._state.configure(cfg)

    @property
    def config(self) -> SimConfig:
        return self._state.cfg

    # -- handlers --------------------------------------------------------------------
    def _generation(self, wire: Wire) -> Any:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await handle(self._state, wire, request)
        return handler

    def _meta_headers(self) -> dict[str, str]:
        rid = f"sim-meta-{next(self._meta_ids)}"
        return {"x-request-id": rid, "request-id": rid}

    async def _v1_models(self, request: web.Request) -> web.Response:
        names = self._state.model_names()
        if "anthropic-version" in request.headers:
            return _json(anthropic_models_response(names), headers=self._meta_headers())
        return _json(models_response(names, int(time.time())), headers=self._meta_headers())

    async def _tags(self, request: web.Request) -> web.Response:
        return _json(tags_response(self._state.model_names()), headers=self._meta_headers())

    async def _ps(self, request: web.Request) -> web.Response:
        names = self._state.model_names()
        windows = {n: self._state.cfg.models[n].context_window for n in names}
        return _json(ps_response(names, windows), headers=self._meta_headers())

    async def _version(self, request: web.Request) -> web.Response:
        return _json({"version": VERSION}, headers=self._meta_headers())

    async def _health(self, request: web.Request) -> web.Response:
        return _json({"status": "ok", "requests": len(self._state.log.records)})

    async def _requests(self, request: web.Request) -> web.Response:
        return _json([t.to_dict() for t in self._state.log.records])

    async def _reset(self, request: web.Request) -> web.Response:
        self.reset()
        return _json({"status": "reset"})

    async def _config(self, request: web.Request) -> web.Response:
        try:
            cfg = SimConfig.model_validate(msgspec.json.decode(await request.read()))
        except (msgspec.DecodeError, ValidationError) as err:
            return _json({"error": str(err)}, status=400)
        self.configure(cfg)
        return _json({"status": "configured"})


class SimThread:
    """A SimServer on its own event loop in a daemon thread, for sync code and tests.

    Why a thread: the harness under test runs its own loop; sharing it would let the
    simulator's work distort the very latencies being measured less visibly than a
    separate loop does (and a blocked test loop would stall the server).
    """

    def __init__(self, cfg: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = SimServer(cfg)
        self._host, self._port = host, port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fleetbench-sim", daemon=True)
        self.url = ""

    def _call(self, fn: Any, *args: Any) -> Any:
        async def run() -> Any:
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=10)

    def start(self) -> str:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._server.start(self._host, self._port), self._loop)
        self.url = fut.result(timeout=10)
        return self.url

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._server.stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def truths(self) -> list[RequestTruth]:
        result: list[RequestTruth] = self._call(self._server.truths)
        return result

    def reset(self) -> None:
        self._call(self._server.reset)

    def configure(self, cfg: SimConfig) -> None:
        self._call(self._server.configure, cfg)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
