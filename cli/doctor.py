"""`fleetbench doctor`: is this machine ready to run the main job and the tests?

Each check is one line: its verdict, what was found, and when not ok a one-line fix. A
`missing` verdict is something the main job cannot do without (exit 1); `warn` is
something only part of the project needs (hosted models' keys, the dashboard's browser
test). Read-only and quick: no Ray, no model loaded (llama.cpp's build flags come from the
installed library's own system info), keys by name only, never their values.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import DEFAULT_RUNS_DIR, RunsDir, input_errors_exit_2, out

Verdict = Literal["ok", "warn", "missing"]
SETUP = "bash scripts/setup.sh"
MIN_PYTHON = (3, 11)
MIN_RAY = (2, 40)
LLAMA_VERSION = "0.3.36"  # scripts/install_local_models.sh builds this one
MIN_FREE_DISK_GIB = 2.0  # the venv's packages are installed; a run's archive is a few MB
MIN_FREE_RAM_GIB = 3.0  # idle Ray ~0.7 GB, both embedded models ~0.5 GB, the subagents ~1 GB
GIB = 1024**3


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    found: str
    fix: str  # what to do if it is not ok (shown only then)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def check_python() -> Check:
    found = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info[:2] >= MIN_PYTHON
    return Check("python", "ok" if ok else "missing", found,
                 f"install Python {'.'.join(map(str, MIN_PYTHON))}+, then {SETUP}")


def check_ray() -> Check:
    try:
        found = version("ray")
    except PackageNotFoundError:
        return Check("ray", "missing", "not installed", SETUP)
    ok = _version_tuple(found) >= MIN_RAY
    return Check("ray", "ok" if ok else "missing", found, f"{SETUP} (needs ray >= 2.40)")


def build_flags(system_info: str) -> dict[str, str]:
    """llama.cpp's `CPU : SSE3 = 1 | AVX = 1 | AMX_INT8 = 1 | ...` as {"SSE3": "1", ...}."""
    pairs = (part.partition("=") for part in system_info.split("|"))
    return {k.split(":")[-1].strip(): v.strip() for k, _, v in pairs if v.strip()}


def check_llama_build() -> Check:
    """The installed llama.cpp's CPU features: AMX kernels crash on this CPU family."""
    try:
        found = version("llama_cpp_python")
        import llama_cpp

        info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    except (PackageNotFoundError, ImportError, OSError) as exc:
        return Check("llama.cpp", "missing", f"not importable ({type(exc).__name__})", REBUILD)
    return llama_verdict(found, info)


REBUILD = f"rm -rf ~/.cache/fleetbench/wheels && .venv/bin/pip uninstall -y llama-cpp-python && {SETUP}"


def llama_verdict(found: str, system_info: str) -> Check:
    flags = build_flags(system_info)
    amx = sorted(k for k, v in flags.items() if "AMX" in k and v != "0")
    on = " ".join(k for k in ("AVX", "AVX2", "FMA", "F16C", "BMI2") if flags.get(k) == "1")
    if amx:
        return Check("llama.cpp", "missing", f"{found}, built with {', '.join(amx)}", f"rebuild without AMX: {REBUILD}")
    if found != LLAMA_VERSION:
        return Check("llama.cpp", "warn", f"{found} (the project builds {LLAMA_VERSION}), {on}", REBUILD)
    return Check("llama.cpp", "ok", f"{found}, no AMX, {on}", REBUILD)


def check_models() -> Check:
    from localmodels.files import ModelFileMissing, model_path
    from localmodels.registry import MODELS

    present, absent = [], []
    for name, spec in MODELS.items():
        try:
            present.append(f"{name} ({model_path(spec).stat().st_size // 2**20} MB)")
        except (ModelFileMissing, OSError):
            absent.append(name)
    fix = "bash scripts/install_local_models.sh"
    if absent:
        return Check("embedded models", "missing", f"absent: {', '.join(absent)}", fix)
    return Check("embedded models", "ok", ", ".join(present), fix)


def check_keys() -> Check:
    """Which providers' key variables are set (from the environment or .env files): names only."""
    from agents.config import FleetConfig
    from agents.providers import LOCAL_PROVIDER, SIM_PROVIDER, known_provider_names, resolve_provider
    from harness.errors import InputError
    from harness.keys import load_env_files

    load_env_files()
    config = FleetConfig()
    wanted: dict[str, list[str]] = {}
    for name in sorted(known_provider_names(config) - {SIM_PROVIDER, LOCAL_PROVIDER}):
        try:
            env = resolve_provider(name, config).api_key_env
        except InputError:  # a preset with no endpoint set (vllm, llamacpp, the generic switch)
            continue
        if env:
            wanted.setdefault(env, []).append(name)
    found = [f"{env} ({', '.join(names)})" for env, names in sorted(wanted.items()) if os.environ.get(env)]
    absent = [env for env in sorted(wanted) if not os.environ.get(env)]
    text = f"found: {', '.join(found) or 'none'}; not set: {', '.join(absent) or 'none'}"
    return Check("provider keys", "ok" if found else "warn", text,
                 "hosted phases say 'no access' without keys; export them or put them in .env")


def check_chromium() -> Check:
    browser = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    driver = shutil.which("chromedriver")
    fix = f"{SETUP} --dev (installs chromium and chromium-driver)"
    if browser and driver:
        return Check("chromium", "ok", f"{browser} + chromedriver", fix)
    absent = ", ".join(n for n, p in (("chromium", browser), ("chromedriver", driver)) if not p)
    return Check("chromium", "warn", f"absent: {absent} (only the dashboard's browser test needs them)", fix)


def check_disk(path: Path) -> Check:
    where = next((p for p in (path, *path.resolve().parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(where).free / GIB
    ok = free >= MIN_FREE_DISK_GIB
    return Check("free disk", "ok" if ok else "missing", f"{free:.1f} GiB at {where}",
                 f"free at least {MIN_FREE_DISK_GIB:g} GiB there, or use --runs-dir elsewhere")


def check_ram() -> Check:
    import psutil

    memory = psutil.virtual_memory()
    free = memory.available / GIB
    ok = free >= MIN_FREE_RAM_GIB
    return Check("free RAM", "ok" if ok else "missing", f"{free:.1f} of {memory.total / GIB:.1f} GiB available",
                 f"a run needs about {MIN_FREE_RAM_GIB:g} GiB: stop other Ray instances or jobs")


def run_checks(runs_dir: Path) -> list[Check]:
    return [check_python(), check_ray(), check_llama_build(), check_models(), check_keys(), check_chromium(),
            check_disk(runs_dir), check_ram()]


_STYLE = {"ok": "green", "warn": "yellow", "missing": "bold red"}


@input_errors_exit_2
def doctor_command(
    runs_dir: RunsDir = DEFAULT_RUNS_DIR,
    quiet: Annotated[bool, typer.Option("--quiet", help="print only what is not ok")] = False,
) -> None:
    """Check Python, Ray, llama.cpp's build, the embedded models, provider keys (names only),
    chromium and free disk/RAM, each with a fix; exits 1 when something required is missing."""
    checks = run_checks(runs_dir)
    table = Table(title="fleetbench doctor", show_lines=False)
    for column in ("check", "verdict", "found", "fix"):
        table.add_column(column)
    for c in checks:
        if quiet and c.verdict == "ok":
            continue
        table.add_row(c.name, f"[{_STYLE[c.verdict]}]{c.verdict}[/]", escape(c.found),
                      "" if c.verdict == "ok" else escape(c.fix))
    out.print(table)
    missing = [c.name for c in checks if c.verdict == "missing"]
    out.print(f"missing: {', '.join(missing)}" if missing else "ready: the main job can run here")
    if missing:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)
