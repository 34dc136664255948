"""`fleetbench doctor`: one line per check on this machine (the test environment is set up,
so the required checks pass); keys by name, never by value; llama.cpp's flags read from its
system info (AMX refused); a missing requirement exits 1 with its fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import doctor
from cli.app import app

runner = CliRunner()
FAKE_KEY = "sk-doctor-never-shown-0123456789abcdef"


def test_doctor_on_this_machine_names_keys_but_never_their_values(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("ANTHROPIC_API_KEY", "OPENROUTER_API_KEY", "SCW_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    result = runner.invoke(app, ["doctor", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert FAKE_KEY not in result.output and FAKE_KEY[:12] not in result.output
    checks = {c.name: c for c in doctor.run_checks(tmp_path / "runs")}
    assert set(checks) == {"python", "ray", "llama.cpp", "embedded models", "provider keys", "chromium",
                           "free disk", "free RAM"}
    assert all(c.fix for c in checks.values())
    keys = checks["provider keys"]
    assert keys.verdict == "ok" and "OPENAI_API_KEY (openai" in keys.found and "not set: ANTHROPIC_API_KEY" in keys.found
    for name in ("python", "ray", "llama.cpp", "embedded models", "free disk", "free RAM"):
        assert checks[name].verdict == "ok", checks[name]
    assert "no AMX" in checks["llama.cpp"].found and "AVX2" in checks["llama.cpp"].found
    assert "ready" in result.output


def test_llama_flags_from_system_info_refuse_amx() -> None:
    info = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | FMA = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | "
    assert doctor.build_flags(info)["AMX_INT8"] == "1"
    amx = doctor.llama_verdict(doctor.LLAMA_VERSION, info)
    assert amx.verdict == "missing" and "AMX_INT8" in amx.found and "rebuild without AMX" in amx.fix
    plain = doctor.llama_verdict(doctor.LLAMA_VERSION, info.replace("AMX_INT8 = 1", "AMX_INT8 = 0"))
    assert plain.verdict == "ok"
    assert doctor.llama_verdict("0.2.0", info.replace("AMX_INT8 = 1 | ", "")).verdict == "warn"


def test_a_missing_requirement_exits_1_with_its_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "MIN_FREE_RAM_GIB", 1e6)  # more RAM than any machine has
    result = runner.invoke(app, ["doctor", "--quiet", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "free RAM" in result.output and "missing: free RAM" in result.output
    assert "stop other Ray instances" in result.output
    assert "│ python" not in result.output  # --quiet: the checks that pass are left out
