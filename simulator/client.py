"""Tiny sync client for the control API, usable from any process (no event loop needed).

Why urllib: benchmark drivers and subprocess tests should not need aiohttp or a loop just
to read the simulator's ground truth.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def _call(url: str, method: str = "GET", body: bytes | None = None, timeout: float = 10.0) -> Any:
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Content-Type": "application/json"} if body is not None else {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read().decode("utf-8"))


def fetch_truths(base_url: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """All RequestTruth records as dicts (see simulator.truth.RequestTruth for fields)."""
    result: list[dict[str, Any]] = _call(base_url.rstrip("/") + "/_sim/requests", timeout=timeout)
    return result


def reset(base_url: str, timeout: float = 10.0) -> None:
    """Clear truths, limit windows and fault counters."""
    _call(base_url.rstrip("/") + "/_sim/reset", "POST", b"{}", timeout)


def configure(base_url: str, config: dict[str, Any], timeout: float = 10.0) -> None:
    """Replace the running simulator's SimConfig (given as its JSON-able dict)."""
    _call(base_url.rstrip("/") + "/_sim/config", "POST", json.dumps(config).encode(), timeout)


def health(base_url: str, timeout: float = 5.0) -> dict[str, Any]:
    result: dict[str, Any] = _call(base_url.rstrip("/") + "/_sim/health", timeout=timeout)
    return result
