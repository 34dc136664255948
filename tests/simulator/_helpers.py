"""Shared constants for simulator tests."""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")

FAST: dict[str, Any] = {"ttft_ms": 5, "itl_ms": 1, "output_tokens": 8}
MSG: Any = [{"role": "user", "content": "hello simulator"}]


def fault_cfg(kind: str, **rule: Any) -> dict[str, Any]:
    """A config whose model "m" fails every request with `kind`."""
    return {"models": {"m": FAST}, "faults": [{"kind": kind, "rate": 1.0, **rule}]}


OPEN_CLIENTS: list[Any] = []


def track(client: T) -> T:
    """Register an SDK client so the conftest closes it before the test's loop closes
    (otherwise httpx2 logs 'Event loop is closed' from a GC-time aclose)."""
    OPEN_CLIENTS.append(client)
    return client
