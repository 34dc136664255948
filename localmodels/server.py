"""Ollama's HTTP API over the embedded models, so the OllamaProvider (and any Ollama client)
benchmarks them exactly as it would a real Ollama server.

Why Ollama's wire and not a new one: the adapter, its error classification and the
simulator's Ollama tests then cover local models too, with no special case. Field names
follow `ollama/_types.py`, since the client validates with pydantic and a misnamed field
silently becomes None. Streamed lines carry one sampled token each (text held back only
while it might begin a stop string), so line timing is token timing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from localmodels.engine import ContextOverflow, Engine, Final, Message, Options, Piece, Started
from localmodels.files import ModelFileMissing
from localmodels.registry import MODELS, ModelSpec, lookup

VERSION = "0.12.0-fleetbench-local"
_KEEP_ALIVE_S = 300  # reported only: models stay loaded for the life of the process
ENGINE_KEY = web.AppKey("engine", Engine)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _json(obj: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=json.dumps(obj).encode(), content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


def _details(spec: ModelSpec) -> dict[str, Any]:
    return {"parent_model": "", "format": "gguf", "family": spec.family, "families": [spec.family],
            "parameter_size": spec.parameter_size, "quantization_level": spec.quantization}


def _options(body: dict[str, Any], spec: ModelSpec) -> Options:
    raw = body.get("options") or {}
    if not isinstance(raw, dict):
        raise TypeError("options must be an object")
    stop = raw.get("stop")
    stops = tuple(str(s) for s in stop) if isinstance(stop, list) else ((str(stop),) if stop else ())
    num_predict = raw.get("num_predict")
    fmt = body.get("format")
    if fmt not in (None, "", "json") and not isinstance(fmt, dict):
        raise TypeError("format must be \"json\" or a JSON Schema object")
    return Options(
        json_format=json.dumps(fmt, sort_keys=True) if isinstance(fmt, dict) else (fmt or None),
        num_predict=int(num_predict) if num_predict is not None else None,
        temperature=float(raw["temperature"]) if raw.get("temperature") is not None else 0.8,
        top_k=int(raw.get("top_k") or 40), top_p=float(raw.get("top_p") or 0.9),
        stop=stops if "stop" in raw else spec.default_stop)  # an explicit [] means none


def _final_fields(final: Final) -> dict[str, Any]:
    return {"done": True, "done_reason": final.done_reason, "total_duration": final.total_ns,
            "load_duration": final.load_ns, "prompt_eval_count": final.prompt_tokens,
            "prompt_eval_duration": final.prompt_eval_ns, "eval_count": final.output_tokens,
            "eval_duration": final.eval_ns}


class _Request:
    """One parsed /api/chat or /api/generate body."""

    def __init__(self, spec: ModelSpec, body: dict[str, Any], chat: bool) -> None:
        self.spec = spec
        self.chat = chat
        self.stream = body.get("stream") is not False  # Ollama streams unless told not to
        self.options = _options(body, spec)
        self.prompt: str | None = None
        self.messages: list[Message] | None = None
        if chat:
            messages = body.get("messages") or []
            if not isinstance(messages, list):
                raise ValueError("messages must be a list")
            self.messages = [{"role": str(m.get("role", "user")), "content": str(m.get("content") or "")}
                             for m in messages if isinstance(m, dict)]
        else:
            prompt = str(body.get("prompt") or "")
            system = body.get("system")
            if body.get("raw") or not spec.chat_template:
                self.prompt = f"{system}\n\n{prompt}" if system else prompt
            else:
                self.messages = ([{"role": "system", "content": str(system)}] if system else []) + [
                    {"role": "user", "content": prompt}]

    def line(self, text: str, final: Final | None = None) -> dict[str, Any]:
        obj: dict[str, Any] = {"model": self.spec.name, "created_at": _now_iso()}
        if self.chat:
            obj["message"] = {"role": "assistant", "content": text}
        else:
            obj["response"] = text
        obj.update(_final_fields(final) if final is not None else {"done": False})
        return obj


async def _parse(request: web.Request, chat: bool) -> _Request | web.Response:
    try:
        body = json.loads(await request.read())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return _error(400, f"invalid JSON body: {err}")
    if not isinstance(body, dict):
        return _error(400, "request body must be a JSON object")
    name = str(body.get("model") or "")
    if not name:
        return _error(400, "model is required")
    spec = lookup(name)
    if spec is None:
        return _error(404, f'model "{name}" not found, try pulling it first')
    if body.get("tools"):
        return _error(400, f"registry.ollama.ai/library/{spec.name} does not support tools")
    try:
        return _Request(spec, body, chat)
    except (TypeError, ValueError) as err:
        return _error(400, f"invalid request: {err}")


async def _generation(request: web.Request, chat: bool) -> web.StreamResponse:
    parsed = await _parse(request, chat)
    if isinstance(parsed, web.Response):
        return parsed
    engine = request.app[ENGINE_KEY]
    events: AsyncGenerator[Any, None] = engine.generate(parsed.spec, parsed.options, prompt=parsed.prompt,
                                                 messages=parsed.messages)
    try:
        try:
            first = await anext(events)  # Started, or the reason the prompt cannot run
        except ContextOverflow as err:
            return _error(400, str(err))
        except ModelFileMissing as err:
            return _error(500, str(err))
        assert isinstance(first, Started)
        if not parsed.stream:
            parts: list[str] = []
            async for event in events:
                if isinstance(event, Piece):
                    parts.append(event.text)
                elif isinstance(event, Final):
                    return _json(parsed.line("".join(parts), event))
            return _error(500, "generation ended without a result")
        resp = web.StreamResponse(status=200)
        resp.content_type = "application/x-ndjson"
        await resp.prepare(request)
        try:
            try:
                async for event in events:
                    if isinstance(event, Piece):
                        await resp.write(json.dumps(parsed.line(event.text)).encode() + b"\n")
                    elif isinstance(event, Final):
                        await resp.write(json.dumps(parsed.line("", event)).encode() + b"\n")
            except ConnectionResetError:
                raise
            except Exception as err:  # noqa: BLE001 - headers are out: report in-stream, as Ollama does
                await resp.write(json.dumps({"error": f"{type(err).__name__}: {err}"}).encode() + b"\n")
            await resp.write_eof()
        except ConnectionResetError:
            pass  # the client hung up (it had its answer, or gave up): nobody is left to tell
        return resp
    finally:
        await events.aclose()  # stops a generation nobody reads


async def chat(request: web.Request) -> web.StreamResponse:
    return await _generation(request, chat=True)


async def generate(request: web.Request) -> web.StreamResponse:
    return await _generation(request, chat=False)


async def tags(request: web.Request) -> web.Response:
    """Every registered model, whether its file is already there or not (it is `pulled`
    in the sense that matters: installed packages, assembled on first use)."""
    models = [{"name": f"{s.name}:latest", "model": f"{s.name}:latest", "modified_at": _now_iso(),
               "size": 0, "digest": "", "details": _details(s)} for s in MODELS.values()]
    return _json({"models": models})


async def ps(request: web.Request) -> web.Response:
    expires = (datetime.now(UTC) + timedelta(seconds=_KEEP_ALIVE_S)).isoformat().replace("+00:00", "Z")
    models = [{"name": f"{e.spec.name}:latest", "model": f"{e.spec.name}:latest", "size": e.size_bytes,
               "digest": "", "details": _details(e.spec), "expires_at": expires, "size_vram": 0,
               "context_length": e.spec.n_ctx} for e in request.app[ENGINE_KEY].loaded()]
    return _json({"models": models})


async def version(request: web.Request) -> web.Response:
    return _json({"version": VERSION})


def make_app(engine: Engine | None = None) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[ENGINE_KEY] = engine or Engine()
    app.router.add_post("/api/chat", chat)
    app.router.add_post("/api/generate", generate)
    app.router.add_get("/api/tags", tags)
    app.router.add_get("/api/ps", ps)
    app.router.add_get("/api/version", version)

    async def _close(app: web.Application) -> None:
        app[ENGINE_KEY].close()

    app.on_cleanup.append(_close)
    return app
