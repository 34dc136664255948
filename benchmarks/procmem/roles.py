"""What a process of a fleetbench run is, from its command line.

Why the command line: Ray names a worker process after the actor it hosts by rewriting
its title (`ray::PhaseSubagent`, `ray::Collector`, `ray::LimiterActor`; `ray::IDLE` while
it hosts nothing), and its daemons are known executables or scripts (raylet, gcs_server,
the dashboard and its agents, the log monitor). The title of a worker changes over its
life, so the sampler keeps the last role that was not `ray::IDLE`.
"""

from __future__ import annotations

from collections.abc import Sequence

IDLE_WORKER = "ray idle worker"

# actor class -> role (the class is the title's part before any ".method")
_ACTORS = {"PhaseSubagent": "subagent", "Collector": "collector", "LimiterActor": "limiter",
           "DashboardAgent": "ray dashboard agent", "RuntimeEnvAgent": "ray runtime_env agent"}
# a daemon's executable or script, by the last path part of any argument -> role
_DAEMONS = {
    "raylet": "ray raylet",
    "gcs_server": "ray gcs_server",
    "dashboard.py": "ray dashboard",
    "agent.py": "ray dashboard agent",
    "log_monitor.py": "ray log_monitor",
    "monitor.py": "ray monitor",
    "runtime_env_agent.py": "ray runtime_env agent",
    "default_worker.py": "ray worker (starting)",
    "setup_worker.py": "ray worker (starting)",
}


def role_of(cmdline: Sequence[str], name: str = "") -> str:
    """The role of a process with this command line (and psutil name, the fallback)."""
    if not cmdline:
        return name or "unknown"
    first = cmdline[0]
    if first.startswith("ray::"):
        title = first.removeprefix("ray::").split()[0] if first.removeprefix("ray::").strip() else ""
        actor = title.split(".", 1)[0]
        if actor == "IDLE":
            return IDLE_WORKER
        return _ACTORS.get(actor, f"ray actor {actor}" if actor else "ray worker")
    if "-m" in cmdline:
        module = cmdline[cmdline.index("-m") + 1] if cmdline.index("-m") + 1 < len(cmdline) else ""
        if module == "simulator":
            return "simulator"
        if module == "localmodels":
            return "embedded models"
        if module in ("cli", "cli.app"):
            return _fleetbench_role(cmdline[cmdline.index("-m") + 2:])
    for arg in cmdline:
        base = arg.rsplit("/", 1)[-1]
        if base == "fleetbench":
            return _fleetbench_role(cmdline[cmdline.index(arg) + 1:])
        if base in _DAEMONS:
            return _DAEMONS[base]
    return name or first.rsplit("/", 1)[-1]


SIM_SERVE = ["sim", "serve"]  # the `fleetbench sim serve` command line (not a provider name)


def _fleetbench_role(args: Sequence[str]) -> str:
    if args[:2] == SIM_SERVE:
        return "simulator"
    return f"driver (fleetbench {args[0]})" if args else "driver (fleetbench)"
