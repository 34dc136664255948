"""Bad input: exit 2, one clear line naming the file and line or field, nothing archived."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from tests.cluster.helpers import cli

runner = CliRunner()

GOOD_ITEM = "  - id: a\n    prompt: say hi\n"


def _invoke(tmp_path: Path, *args: str) -> tuple[int, str]:
    runs = tmp_path / "runs"
    result = runner.invoke(app, ["run", *args, "--runs-dir", str(runs)])
    assert not runs.exists() or not any(runs.rglob("*")), "bad input must write nothing"
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


@pytest.mark.parametrize("text, where, words", [
    ("name: s\nitems:\n  - id: a\n    prompt: [unclosed\n", ":5", "flow sequence"),
    ("name: s\nitems:\n" + GOOD_ITEM + "    colour: red\n", ":5", "colour"),
    ("name: s\nitems:\n  - id: a\n    prompt: hi\n    max_tokens: lots\n", ":5", "max_tokens"),
    ("name: s\nitems:\n" + GOOD_ITEM + GOOD_ITEM, ":5", "duplicate item id 'a'"),
])
def test_malformed_suite_names_file_and_line(tmp_path: Path, text: str, where: str, words: str) -> None:
    suite = tmp_path / "bad_suite.yaml"
    suite.write_text(text)
    code, output = _invoke(tmp_path, str(suite))
    assert code == 2
    assert f"bad_suite.yaml{where}" in output and words in output
    assert "Traceback" not in output


def test_missing_suite_file(tmp_path: Path) -> None:
    code, output = _invoke(tmp_path, str(tmp_path / "nope.yaml"))
    assert code == 2 and "nope.yaml" in output


def test_unknown_provider_and_phase(tmp_path: Path) -> None:
    code, output = _invoke(tmp_path, "smoke", "--models", "warp/x")
    assert code == 2 and "unknown provider 'warp'" in output
    code, output = _invoke(tmp_path, "smoke", "--phase", "dance")
    assert code == 2 and "--phase" in output and "dance" in output


def test_bad_config_field(tmp_path: Path) -> None:
    config = tmp_path / "fleet.yaml"
    config.write_text("concurrency: 4\nretry:\n  max_attempts: zero\n")
    code, output = _invoke(tmp_path, "smoke", "--config", str(config))
    assert code == 2 and "fleet.yaml:3" in output and "max_attempts" in output


def test_run_id_escaping_runs_dir_is_refused(tmp_path: Path) -> None:
    code, output = _invoke(tmp_path, "smoke", "--run-id", "../../etc")
    assert code == 2 and "--run-id" in output
    code, output = _invoke(tmp_path, "smoke", "--resume", "../x")
    assert code == 2


def test_real_process_exit_code_and_no_traceback(tmp_path: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\nitems: 3\n")
    proc = cli("run", str(suite), "--runs-dir", str(tmp_path / "runs"))
    assert proc.returncode == 2
    assert "s.yaml:2" in proc.stderr and "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "runs").exists()


def test_preflight_refusal_exits_3_and_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "fleet.yaml"
    config.write_text("preflight:\n  min_free_disk_gb_warn: 1.0e12\n  min_free_disk_gb_refuse: 1.0e12\n")
    runs = tmp_path / "runs"
    result = runner.invoke(app, ["run", "smoke", "--phase", "baseline", "--models", "local/smollm2-135m", "--config", str(config),
                                 "--runs-dir", str(runs)])
    assert result.exit_code == 3, result.output
    assert "preflight refused local" in result.output and "free on the archive volume" in result.output
    assert not runs.exists() or not any(runs.rglob("*"))


@pytest.mark.parametrize("args, flag, words", [
    (["--phase", "tool-use", "--variants", "baseline,psychic"], "--variants", "psychic"),
    (["--phase", "tool-use", "--tool-mode", "telepathy"], "--tool-mode", "telepathy"),
    (["--phase", "long-context", "--context-lengths", "2k,tiny"], "--context-lengths", "tiny"),
    (["--phase", "long-context", "--context-lengths", "10"], "--context-lengths", "too small"),
    (["--phase", "long-context", "--long-context-items", "no-such-item"], "--long-context-items", "no-such-item"),
    (["--phase", "long-context", "--payload-depths", "end,150%"], "--payload-depths", "150%"),
])
def test_bad_phase_flags_name_the_flag(tmp_path: Path, args: list[str], flag: str, words: str) -> None:
    code, output = _invoke(tmp_path, *args)
    assert code == 2, output
    assert flag in output and words in output and "Traceback" not in output


def test_bad_tier_thresholds_in_config(tmp_path: Path) -> None:
    config = tmp_path / "fleet.yaml"
    config.write_text("tool_use:\n  tier1_min: 0.2\n  tier2_min: 0.5\n")
    code, output = _invoke(tmp_path, "--phase", "tool-use", "--config", str(config))
    assert code == 2 and "fleet.yaml" in output and "tier2_min" in output


def test_bad_calibration_tasks_file_names_file_and_line(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text("tasks:\n  - id: t1\n    name: T\n    category: backend\n    prompt: p\n    complexity: galactic\n    language: python\n")
    code, output = _invoke(tmp_path, "--phase", "calibration", "--calibration-tasks", str(tasks))
    assert code == 2 and "tasks.yaml:" in output and "complexity" in output, output
    code, output = _invoke(tmp_path, "--phase", "calibration", "--calibration-tasks", str(tmp_path / "gone.yaml"))
    assert code == 2 and "gone.yaml" in output, output


def _imported(stderr: str) -> set[str]:
    """Top-level packages from `python -X importtime`'s report (one `| name` per import)."""
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


@pytest.mark.parametrize("args", [["--help"], ["run", "no-such-suite"], ["run", "smoke", "--limit", "0"],
                                  ["run", "--resume", "no-such-run"], ["run", "--plan", "tiny"]])
def test_help_and_bad_input_never_import_ray(tmp_path: Path, args: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "cli", *args, "--runs-dir", str(tmp_path)]
                          if args != ["--help"] else [sys.executable, "-X", "importtime", "-m", "cli", *args],
                          capture_output=True, text=True, check=False, timeout=120)
    imported = _imported(proc.stderr)
    assert proc.returncode == (0 if args == ["--help"] else 2), proc.stderr[-2000:]
    assert "typer" in imported and "ray" not in imported and "cluster" not in imported
