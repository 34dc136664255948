"""Which plan `fleetbench run` uses when `--plan` is not given: the quick tour only for the
no-argument main job; a suite or models the user names run in full, so a load test of one
endpoint is never trimmed to a handful of calls behind the user's back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import cli.run
from agents.run_setup import default_plan
from cli.app import app


def test_the_default_plan_is_quick_only_with_no_suite_and_no_models() -> None:
    assert default_plan([], []) == "quick"
    assert default_plan(["baseline"], []) == "full"
    assert default_plan([], ["sim/a"]) == "full"
    assert default_plan(["smoke"], ["sim/a"]) == "full"


@pytest.mark.parametrize("args,plan,baseline_calls", [
    ([], "quick", 8),                                                # the main job: 4 items x 2 models
    (["baseline"], "full", 24),                                      # a named suite: every item
    (["--models", "local/smollm2-135m"], "full", 12),
    (["baseline", "--plan", "quick"], "quick", 8),                   # asked for: still quick
])
def test_the_cli_picks_the_plan_from_its_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   args: list[str], plan: str, baseline_calls: int) -> None:
    started: dict[str, Any] = {}
    monkeypatch.setattr(cli.run, "start_run", lambda prepared, **_: started.setdefault("prepared", prepared))
    done = CliRunner().invoke(app, ["run", *args, "--phase", "baseline", "--runs-dir", str(tmp_path / "runs")])
    assert done.exit_code == 0, done.output
    prepared = started["prepared"]
    assert prepared.spec.plan == plan
    assert len(prepared.plans["baseline"]) == baseline_calls
    assert not (tmp_path / "runs").exists()  # planning writes nothing
