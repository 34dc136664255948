"""Two hosts on this machine for real multi-node tests: network namespaces joined by a veth.

Why namespaces: each one has its own network stack, so the two Ray nodes talk over a veth
pair whose addresses exist nowhere else. Other engineers' Ray instances on the same machine
(all on the host's loopback) can neither see them nor clash with their ports, and the node
IP Ray detects is the veth address, as on two machines. Nothing here touches the host's own
interfaces: the veth is created with both ends already inside the namespaces.

Why a PID namespace per node as well: `ray start --block` is its init, so one SIGKILL of
the process we started takes every process of that node down at once (the kernel kills the
rest of the namespace), as when a machine dies, and nothing a node starts can outlive it or
be confused with another engineer's Ray. `ray stop` is never used: it kills Ray processes
by name across the whole machine, whatever namespace it runs in.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUBNET = "10.231.0"  # exists only inside the namespaces made here
RAY = str(Path(sys.executable).with_name("ray"))
GCS_PORT = 6379
# fixed ports: free by construction in a fresh namespace, and with the agents' ports given the
# raylet does not wait for them to write port files (that wait timed out under load here)
NODE_PORTS = ("--node-manager-port=6380", "--object-manager-port=6381", "--metrics-export-port=6382",
              "--dashboard-agent-grpc-port=6383", "--dashboard-agent-listen-port=6384",
              "--runtime-env-agent-port=6385", "--min-worker-port=10100", "--max-worker-port=10199")


PR_SET_PDEATHSIG = 1  # linux/prctl.h
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl  # resolved here: the child only makes the call


def _die_with_test() -> None:
    """In the child, before exec: SIGKILL when the test process dies, however it dies, so a
    killed pytest leaves no Ray node, driver or simulator running in a namespace."""
    _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)


class NamespaceError(RuntimeError):
    """`ip` refused: the message quotes its command and its own words."""


def _ip(*args: str) -> str:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)
    if proc.returncode != 0:
        raise NamespaceError(f"`ip {' '.join(args)}` failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


@dataclass(frozen=True)
class Namespace:
    name: str  # also the name of its end of the veth (<= 15 characters)
    ip: str

    def command(self, args: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    def popen(self, args: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start `args` in this namespace, to die with the test (`ip netns exec` execs the
        command in its own process, which keeps the death signal)."""
        return subprocess.Popen(self.command(args), preexec_fn=_die_with_test, **kwargs)  # noqa: PLW1509

    def pids(self) -> list[int]:
        return [int(pid) for pid in _ip("netns", "pids", self.name).split()]

    def kill_all(self, timeout_s: float = 20.0) -> list[int]:
        """SIGKILL whatever still runs in this namespace (only what our tests started can);
        return the pids found."""
        found: list[int] = []
        deadline = time.monotonic() + timeout_s
        while (pids := self.pids()) and time.monotonic() < deadline:
            found += [p for p in pids if p not in found]
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        return found


@contextlib.contextmanager
def namespace_pair() -> Iterator[tuple[Namespace, Namespace]]:
    """Two fresh namespaces, `.1` and `.2` of SUBNET on a veth between them; on exit every
    process left in them is killed and both are deleted (which deletes the veth too)."""
    token = secrets.token_hex(3)
    first, second = Namespace(f"fbn{token}a", f"{SUBNET}.1"), Namespace(f"fbn{token}b", f"{SUBNET}.2")
    made: list[Namespace] = []
    try:
        for ns in (first, second):
            _ip("netns", "add", ns.name)
            made.append(ns)
        _ip("link", "add", first.name, "netns", first.name, "type", "veth",
            "peer", "name", second.name, "netns", second.name)
        for ns in made:
            _ip("-n", ns.name, "link", "set", "lo", "up")
            _ip("-n", ns.name, "addr", "add", f"{ns.ip}/24", "dev", ns.name)
            _ip("-n", ns.name, "link", "set", ns.name, "up")
        yield first, second
    finally:
        for ns in reversed(made):
            with contextlib.suppress(NamespaceError):
                ns.kill_all()
            with contextlib.suppress(NamespaceError):
                _ip("netns", "del", ns.name)


def node_env(token: str) -> dict[str, str]:
    """The environment of every process of the test cluster (nodes, driver, simulator).

    The test session keeps local Ray on loopback (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0), which
    would also make a joining driver take 127.0.0.1 for its node IP and miss its raylet, so
    it is dropped. Token authentication is on, with a token of the cluster's own: the
    machine-wide ~/.ray/auth_token is shared with other engineers' Ray instances.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_ENABLE_WINDOWS_OR_OSX", "RAY_AUTH"))}
    return {**env, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}


class RayNode:
    """`ray start --block` in `ns` (and in a PID namespace of its own), logging to a file."""

    def __init__(self, ns: Namespace, temp_dir: Path, env: Mapping[str, str], *, head: str | None = None,
                 extra: Sequence[str] = ()) -> None:
        self.ns = ns
        self.temp_dir = temp_dir
        self.log = temp_dir.with_suffix(".log")
        role = [f"--address={head}"] if head else ["--head", f"--port={GCS_PORT}", "--include-dashboard=false"]
        args = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc",
                RAY, "start", "--block", *role, f"--node-ip-address={ns.ip}", "--num-cpus=1",
                f"--temp-dir={temp_dir}", "--disable-usage-stats", *NODE_PORTS, *extra]
        with self.log.open("wb") as log:
            self.proc = ns.popen(args, stdout=log, stderr=subprocess.STDOUT, env=dict(env), start_new_session=True)

    @property
    def address(self) -> str:
        return f"{self.ns.ip}:{GCS_PORT}"

    def node_id(self) -> str:
        """The node's Ray ID, from its raylet's log (fleetbench's records name the first 8)."""
        log = self.temp_dir / "session_latest" / "logs" / "raylet.out"
        found = re.search(r"node_id=([0-9a-f]{56})", log.read_text(errors="replace"))
        assert found, f"no node id in {log}"
        return found.group(1)

    def wait_started(self, timeout_s: float = 240.0) -> None:
        """Return once `ray start` said the node is up; raise with its log if it died."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if "Ray runtime started" in self.log.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        tail = self.log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"ray start in {self.ns.name} did not come up (exit {self.proc.poll()}):\n{tail}")

    def kill(self) -> list[int]:
        """Kill the whole node at once; return what was still running in its namespace
        afterwards (killed too), which should be nothing."""
        self.proc.kill()  # a no-op once it has exited and been reaped (its pid may be reused)
        self.proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while self.ns.pids() and time.monotonic() < deadline:  # the kernel reaps the namespace
            time.sleep(0.05)
        return self.ns.kill_all()


def start_node(ns: Namespace, temp_dir: Path, env: Mapping[str, str], *, head: str | None = None,
               attempts: int = 2) -> tuple[RayNode, list[float]]:
    """A node that came up, and the seconds each attempt took. Why a second attempt: `ray
    start` gives its raylet a fixed 30 s to register, which a machine shared with other
    engineers' builds and Ray instances can exceed; a node that did not start is not a
    fleetbench failure, and the second attempt's error carries both logs."""
    took: list[float] = []
    failures: list[str] = []
    for attempt in range(attempts):
        node = RayNode(ns, temp_dir.with_name(f"{temp_dir.name}{attempt or ''}"), env, head=head)
        start = time.monotonic()
        try:
            node.wait_started()
        except RuntimeError as exc:
            node.kill()
            took.append(time.monotonic() - start)
            failures.append(str(exc))
            continue
        took.append(time.monotonic() - start)
        return node, took
    raise RuntimeError("\n\n".join(failures))
