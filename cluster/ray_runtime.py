"""Start a local Ray or join a cluster, once per driver process.

Why quiet by default: Ray's start-up warnings (the token-authentication banner...) and the
workers' own output forwarded to the driver would bury the run's progress and results; a
run's failures are records and events in its archive. `--verbose` (FLEETBENCH_VERBOSE)
brings them back.
"""

from __future__ import annotations

import logging
import os

import ray

from cluster.limiter_actor import NAMESPACE
from harness.logs import verbose


def ensure_ray(address: str | None) -> bool:
    """Returns True when this call started Ray (so the caller should shut it down)."""
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    loud = verbose()
    if not loud:
        logging.getLogger("ray").setLevel(logging.ERROR)
    kwargs: dict[str, object] = {"namespace": NAMESPACE, "include_dashboard": False,
                                 "configure_logging": False, "log_to_driver": loud}
    if address:
        ray.init(address=address, **kwargs)  # type: ignore[arg-type]
    else:
        # "local": always a fresh instance, never a stray cluster found in /tmp/ray
        ray.init(address="local", **kwargs)  # type: ignore[arg-type]
    return True


def driver_node_id() -> str:
    return ray.get_runtime_context().get_node_id()


def node_count() -> int:
    return len([n for n in ray.nodes() if n.get("Alive")])  # type: ignore[no-untyped-call]
