"""Servers a run starts for itself: the provider simulator and the embedded models.

Why child processes: the simulator's ground-truth timestamps and llama.cpp's generation
must not share the driver's GIL; each server prints its URL as its first stdout line, so
there is no port guessing, and is stopped when the run ends.

Why a host: they listen on loopback, unless the run joins a cluster, where subagents on
other nodes call them too; then they listen on the address the driver's node has in that
cluster (the driver works it out, see `cluster.ray_runtime.cluster_ip`).
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from agents.providers import LOCAL_PROVIDER, SIM_PROVIDER
from harness.errors import InputError
from harness.limit_contract import ProviderLimits
from simulator.client import fetch_truths
from simulator.config import load_sim_config
from simulator.truth import RequestTruth
from suites import SUITES_DIR

if TYPE_CHECKING:
    from agents.run_setup import PreparedRun

DEFAULT_SIM_CONFIG = SUITES_DIR / "simulator.yaml"
LOOPBACK = "127.0.0.1"


PR_SET_PDEATHSIG = 1  # linux/prctl.h
# resolved in the driver: the child, between fork and exec, makes just the system call
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """In the server's process, before exec: SIGTERM when the driver dies, however it dies
    (its own session means a kill of the driver's process group no longer reaches it)."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)


class ChildServer:
    """`python -m MODULE ... --host HOST --port 0`, whose first stdout line is `PREFIX=url`.

    Started on construction, ready once `ready()` has read that line: the driver starts Ray
    in between, so the server's start-up (the embedded models load their weights) overlaps
    Ray's. Constructed in the thread that will outlive it (PR_SET_PDEATHSIG fires when the
    creating *thread* ends, not only the process)."""

    def __init__(self, args: list[str], prefix: str, host: str = LOOPBACK) -> None:
        # its own session: a Ctrl-C at the terminal reaches the driver only, which stops this
        # server once the run is archived, instead of the server dying under calls in flight
        # (their failures would be recorded as the model's). preexec_fn with threads: only a
        # prctl call runs there, resolved beforehand, as Ray does for its own daemons.
        self._proc = subprocess.Popen(
            [sys.executable, "-m", *args, "--host", host, "--port", "0"], stdout=subprocess.PIPE, text=True,
            start_new_session=True, preexec_fn=_die_with_parent)  # noqa: PLW1509
        self._args = args
        self._prefix = prefix
        self._url: str | None = None

    def ready(self) -> str:
        """Wait for the server's first line; its URL."""
        if self._url is None:
            assert self._proc.stdout is not None
            line = self._proc.stdout.readline().strip()
            if not line.startswith(f"{self._prefix}="):
                self._proc.kill()
                raise RuntimeError(f"{self._args[0]} failed to start (said {line!r})")
            self._url = line.split("=", 1)[1]
        return self._url

    @property
    def url(self) -> str:
        return self.ready()

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()


class SimHost(ChildServer):
    """The provider simulator, with its limits exposed as the `sim` provider's defaults."""

    def __init__(self, config_path: Path, host: str = LOOPBACK) -> None:
        try:
            sim_config = load_sim_config(config_path)
        except ValueError as exc:
            raise InputError(str(config_path), str(exc).removeprefix(f"{config_path}: ")) from None
        self.limits = ProviderLimits(max_concurrent=sim_config.limits.max_concurrent,
                                     requests_per_window=sim_config.limits.requests_per_window,
                                     window_s=sim_config.limits.window_s)
        super().__init__(["simulator", "--config", str(config_path)], "SIM_URL", host)

    @classmethod
    def for_run(cls, prepared: PreparedRun, host: str = LOOPBACK) -> SimHost | None:
        if SIM_PROVIDER not in prepared.provider_names:
            return None
        settings = prepared.config.providers.get(SIM_PROVIDER)
        if settings is not None and settings.base_url:
            return None  # an external simulator (`fleetbench sim serve`) was named
        return cls(prepared.config.simulator or DEFAULT_SIM_CONFIG, host)

    def truths(self) -> list[RequestTruth]:
        """The simulator's ground truth per request (for tests and benchmarks)."""
        return [RequestTruth(**row) for row in fetch_truths(self.url)]


class LocalModelsHost(ChildServer):
    """The embedded GGUF models (llama.cpp) behind Ollama's wire API."""

    def __init__(self, host: str = LOOPBACK) -> None:
        super().__init__(["localmodels"], "OLLAMA_URL", host)

    @classmethod
    def for_run(cls, prepared: PreparedRun, host: str = LOOPBACK) -> LocalModelsHost | None:
        if LOCAL_PROVIDER not in prepared.provider_names:
            return None
        settings = prepared.config.providers.get(LOCAL_PROVIDER)
        if settings is not None and settings.base_url:
            return None
        return cls(host)
