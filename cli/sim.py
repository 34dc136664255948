"""`fleetbench sim serve`: the wire-compatible provider simulator as a standalone service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import input_errors_exit_2
from harness.errors import InputError

sim_app = typer.Typer(help="The wire-compatible provider simulator.", no_args_is_help=True)


@sim_app.command("serve")
@input_errors_exit_2
def sim_serve(
    config: Annotated[Path | None, typer.Option(help="simulator config YAML/JSON")] = None,
    host: str = "127.0.0.1",
    port: int = 8765,
) -> None:
    """Serve the simulator until interrupted (prints SIM_URL=...): on loopback, or on --host
    (an address every node reaches, to serve a Ray cluster)."""
    from simulator.__main__ import serve

    try:
        serve(config, host, port)
    except ValueError as exc:
        raise InputError(str(config), str(exc)) from None


def register(app: typer.Typer) -> None:
    app.add_typer(sim_app, name="sim")
