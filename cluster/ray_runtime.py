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

from agents.sim_host import LOOPBACK
from cluster.limiter_actor import NAMESPACE
from harness.errors import InputError
from harness.logs import verbose

RAY_LOCAL = "local"  # Ray's address for "start a fresh local instance" (not a provider name)


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
        ray.init(address=RAY_LOCAL, **kwargs)  # type: ignore[arg-type]
    return True


def cluster_ip(address: str | None) -> str:
    """The IP this machine's node has in the cluster at `address` (loopback for a local Ray).

    Why ask Ray: it is the address Ray itself picks for a node joining from here (the local
    end of the route to the head), so a server the driver starts for the run listens where
    every node of the cluster already reaches this one. Works before `ray.init`, as the
    servers start first; "auto" is resolved the way `ray.init` resolves it. A Ray Client
    address (ray://) keeps loopback: this machine is not a node of that cluster.
    """
    if address is None or address == RAY_LOCAL or address.startswith("ray://"):
        return LOOPBACK
    # private, but the very function ray.init uses to read "auto" and "host:port"
    from ray._private.services import canonicalize_bootstrap_address

    try:
        bootstrap = canonicalize_bootstrap_address(address)
    except ValueError as exc:
        raise InputError("--address", str(exc)) from None
    if bootstrap is None:
        return LOOPBACK
    ip: str = ray.util.get_node_ip_address(bootstrap)  # type: ignore[no-untyped-call]
    return ip


def driver_node_id() -> str:
    return ray.get_runtime_context().get_node_id()


def node_count() -> int:
    return len([n for n in ray.nodes() if n.get("Alive")])  # type: ignore[no-untyped-call]
