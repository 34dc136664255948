"""Resource hygiene before a local (Ollama) run: is the server idle, is there disk and RAM?

Why: a local model shares the machine with the benchmark. Another model already loaded
steals RAM and CPU (and skews every latency), a full archive volume loses results at the
end of a long run, and too little free RAM makes the model swap. Checking first turns
those into a clear `warn` or `refuse` with reasons, instead of a silently bad run.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Literal

import ollama
import psutil
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.providers.ollama_chat import resolve_host

Verdict = Literal["ok", "warn", "refuse"]
_GB = 1024**3
_RANK: dict[Verdict, int] = {"ok": 0, "warn": 1, "refuse": 2}


class PreflightThresholds(BaseModel):
    """Below `warn_*` the run goes ahead with a warning; below `refuse_*` it should not start."""

    model_config = ConfigDict(extra="forbid")

    min_free_disk_gb_warn: float = Field(default=5.0, ge=0)
    min_free_disk_gb_refuse: float = Field(default=1.0, ge=0)
    min_free_ram_gb_warn: float = Field(default=4.0, ge=0)
    min_free_ram_gb_refuse: float = Field(default=1.0, ge=0)
    max_loaded_models_warn: int = Field(default=1, ge=0,
                                        description="more models than this already loaded: not idle")

    @model_validator(mode="after")
    def _refuse_below_warn(self) -> PreflightThresholds:
        if self.min_free_disk_gb_refuse > self.min_free_disk_gb_warn:
            raise ValueError("min_free_disk_gb_refuse must not exceed min_free_disk_gb_warn")
        if self.min_free_ram_gb_refuse > self.min_free_ram_gb_warn:
            raise ValueError("min_free_ram_gb_refuse must not exceed min_free_ram_gb_warn")
        return self


class LoadedModel(BaseModel):
    name: str
    size_bytes: int | None = None
    context_length: int | None = None


class PreflightReport(BaseModel):
    """What was found, and the verdict with one reason per finding that was not ok."""

    host: str
    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)
    loaded_models: list[LoadedModel] = Field(default_factory=list)
    server_reachable: bool = True
    free_disk_gb: float
    free_ram_gb: float

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"


def _worse(a: Verdict, b: Verdict) -> Verdict:
    return a if _RANK[a] >= _RANK[b] else b


def _existing(path: Path) -> Path:
    """The archive dir may not exist yet; its nearest existing ancestor is on the same volume."""
    current = path.resolve()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


async def preflight(host: str | None, archive_dir: Path, thresholds: PreflightThresholds,
                    timeout_s: float = 5.0) -> PreflightReport:
    """Check the Ollama server at `host` (None: `$OLLAMA_HOST`) and this machine's disk and RAM.

    An unreachable server is a `refuse`: every call of the run would fail anyway.
    """
    url = resolve_host(host)
    verdict: Verdict = "ok"
    reasons: list[str] = []
    loaded: list[LoadedModel] = []
    reachable = True
    client = ollama.AsyncClient(host=url)
    try:
        ps = await asyncio.wait_for(client.ps(), timeout=timeout_s)
        loaded = [LoadedModel(name=m.model or m.name or "?", size_bytes=m.size,
                              context_length=m.context_length) for m in ps.models]
    except Exception as exc:  # noqa: BLE001 - any failure means "cannot use this server"
        reachable = False
        verdict = "refuse"
        reasons.append(f"Ollama at {url} did not answer /api/ps ({type(exc).__name__}); "
                       f"is it running, and is $OLLAMA_HOST right?")
    finally:
        await client.close()  # type: ignore[no-untyped-call]
    if reachable and len(loaded) > thresholds.max_loaded_models_warn:
        verdict = _worse(verdict, "warn")
        names = ", ".join(m.name for m in loaded)
        reasons.append(f"Ollama at {url} is not idle: {len(loaded)} models loaded ({names}), "
                       f"more than {thresholds.max_loaded_models_warn}")

    disk_gb = shutil.disk_usage(_existing(archive_dir)).free / _GB
    if disk_gb < thresholds.min_free_disk_gb_refuse:
        verdict = _worse(verdict, "refuse")
        reasons.append(f"only {disk_gb:.1f} GB free on the archive volume of {archive_dir} "
                       f"(refuse below {thresholds.min_free_disk_gb_refuse:g} GB)")
    elif disk_gb < thresholds.min_free_disk_gb_warn:
        verdict = _worse(verdict, "warn")
        reasons.append(f"only {disk_gb:.1f} GB free on the archive volume of {archive_dir} "
                       f"(warn below {thresholds.min_free_disk_gb_warn:g} GB)")

    ram_gb = psutil.virtual_memory().available / _GB
    if ram_gb < thresholds.min_free_ram_gb_refuse:
        verdict = _worse(verdict, "refuse")
        reasons.append(f"only {ram_gb:.1f} GB RAM available (refuse below {thresholds.min_free_ram_gb_refuse:g} GB)")
    elif ram_gb < thresholds.min_free_ram_gb_warn:
        verdict = _worse(verdict, "warn")
        reasons.append(f"only {ram_gb:.1f} GB RAM available (warn below {thresholds.min_free_ram_gb_warn:g} GB)")

    return PreflightReport(host=url, verdict=verdict, reasons=reasons, loaded_models=loaded,
                           server_reachable=reachable, free_disk_gb=round(disk_gb, 2),
                           free_ram_gb=round(ram_gb, 2))
