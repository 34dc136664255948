"""`fleetbench models list|check`: what the catalogue offers, and whether we can call it.

Why its own module: the main CLI file is shared and near its size budget; this sub-app
only renders (the checking itself is `agents.model_check`). It imports no Ray, and nothing
heavy at import time, so `fleetbench --help` stays fast.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import input_errors_exit_2, out

if TYPE_CHECKING:
    from rich.console import JustifyMethod

    from harness.catalogue import Catalogue, CatalogueEntry

F = TypeVar("F", bound=Callable[..., Any])

models_app = typer.Typer(help="The model catalogue: list it, check access.", no_args_is_help=True)

ProviderOpt = Annotated[str | None, typer.Option("--provider", help="only this provider's models")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def _catalogue() -> Catalogue:
    from agents.run_setup import CATALOGUE_PATH
    from harness.catalogue import load_catalogue

    return load_catalogue(CATALOGUE_PATH)


def _price(value: float) -> str:
    return f"{value:g}"


def _capabilities(entry: CatalogueEntry) -> str:
    caps = entry.capabilities
    return ",".join(name for name, on in (("stream", caps.streaming), ("tools", caps.tools),
                                          ("reasoning", caps.reasoning)) if on) or "-"


@models_app.command("list")
@input_errors_exit_2
def models_list(provider: ProviderOpt = None, as_json: JsonOpt = False) -> None:
    """Every catalogued model: aliases, API, price per Mtok, context window, fallback."""
    from harness.errors import InputError

    catalogue = _catalogue()
    if provider is not None and provider not in catalogue.providers:
        known = ", ".join(sorted(catalogue.providers))
        raise InputError("--provider", f"no catalogued models for provider {provider!r} (catalogued: {known})")
    entries = [e for e in catalogue.models if provider is None or e.provider == provider]
    if as_json:
        typer.echo(json.dumps([e.model_dump(mode="json") for e in entries], indent=2))
        return
    table = Table(title=f"model catalogue ({len(entries)} models)")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("provider/id", "left"), ("aliases", "left"), ("API", "left"), ("$ in/Mtok", "right"),
        ("$ out/Mtok", "right"), ("context", "right"), ("capabilities", "left"), ("fallback", "left"))
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for e in entries:
        table.add_row(escape(e.name), escape(", ".join(e.aliases)) or "-", e.api, _price(e.price_in_per_mtok),
                      _price(e.price_out_per_mtok), f"{e.context_window:,}" if e.context_window else "-",
                      _capabilities(e), escape(e.fallback or "-"))
    out.print(table)


_STYLE = {"ok": "green", "no_key": "yellow", "not_listed": "red", "unreachable": "red"}


@models_app.command("check")
@input_errors_exit_2
def models_check(
    provider: ProviderOpt = None,
    models: Annotated[str | None, typer.Option("--models", help="provider/model,... (default: the catalogue)")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="fleetbench config YAML")] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="seconds per provider")] = 10.0,
    sim_url: Annotated[str | None, typer.Option("--sim-url", help="a running simulator (`sim serve`)")] = None,
    local_url: Annotated[str | None, typer.Option("--local-url", help="the embedded models' server")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Is each model's key set, and does its provider list it? A report: exits 0 whatever it finds.

    `sim` and `local` models are checked only with `--provider sim|local` (a run starts
    their servers; for `sim` one is started for the check unless `--sim-url` is given).
    """
    from agents.config import load_config
    from agents.model_check import check_models, select_targets, sim_for_check
    from harness.keys import load_env_files

    load_env_files()
    fleet = load_config(config)
    catalogue = _catalogue()
    names = [m.strip() for m in (models or "").split(",") if m.strip()]
    targets = select_targets(catalogue, fleet, provider, names)
    with sim_for_check(targets, fleet, sim_url) as url:
        results = asyncio.run(check_models(targets, fleet, catalogue, timeout=timeout, sim_url=url,
                                           local_url=local_url))
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
        return
    table = Table(title=f"model check ({len(results)} models)")
    for column in ("provider/id", "key", "checked by", "outcome", "detail"):
        table.add_column(column)
    for r in results:
        detail = r.detail if r.status == "unreachable" else ""
        table.add_row(escape(f"{r.provider}/{r.model}"), escape(r.key), r.method or "-",
                      f"[{_STYLE[r.status]}]{escape(r.outcome)}[/]", escape(detail))
    out.print(table)
    counts = {s: sum(r.status == s for r in results) for s in _STYLE}
    out.print(", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items() if n) or "nothing to check")


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
