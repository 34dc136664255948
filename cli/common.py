"""What every `fleetbench` sub-command shares: the consoles and the bad-input policy.

Why a module of its own: the main CLI and its sub-apps (models, ...) all need these, and
keeping them here lets each sub-app import them directly, with no import cycle.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from agents.preflight import RunRefused
from harness.errors import InputError
from harness.redact import default_redactor

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_RUNS_DIR = Path("runs")
RunsDir = Annotated[Path, typer.Option("--runs-dir", help="archive root")]
Address = Annotated[str | None, typer.Option(help="Ray address to join (default: local Ray)")]
Verbose = Annotated[bool, typer.Option("--verbose", help="show Ray's and llama.cpp's own logs too")]

# pipes and CI logs get wide tables instead of ellipsised run IDs
out = Console() if sys.stdout.isatty() else Console(width=200)
err = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=200)


def input_errors_exit_2(fn: F) -> F:
    """Bad input: one clear line (redacted), exit 2, no traceback. A refused run: exit 3."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            err.print(f"[bold red]error:[/] {escape(default_redactor().redact(str(exc)))}", highlight=False,
                      soft_wrap=True)
            raise typer.Exit(2) from None
        except RunRefused as exc:
            err.print(f"[bold red]refused:[/] {escape(default_redactor().redact(str(exc)))}", highlight=False,
                      soft_wrap=True)
            raise typer.Exit(3) from None
    return wrapper  # type: ignore[return-value]


def local_ray_on_loopback(address: str | None) -> None:
    """A local Ray binds to loopback only; must be set before ray is first imported."""
    if address is None:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def show_third_party_logs(on: bool) -> None:
    """`--verbose`: every process of the run (Ray's workers, the model servers) inherits it."""
    from harness.logs import VERBOSE_ENV

    if on:
        os.environ[VERBOSE_ENV] = "1"
