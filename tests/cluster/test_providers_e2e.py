"""Provider behaviour through the whole driver: quota fallback recorded, keys never leak,
models without a key left out (and said so), and the default run on the real local models."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.run_setup import RunSpec
from cluster.driver import RunSession, run
from tests.cluster.helpers import run_records, write_yaml

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _fleet(tmp_path: Path, sim: dict[str, object]) -> Path:
    sim_path = write_yaml(tmp_path / "sim.yaml", sim)
    return write_yaml(tmp_path / "fleet.yaml", {"simulator": str(sim_path), "concurrency": 4,
                                                "retry": {"base_delay_s": 0.05, "max_delay_s": 0.2}})


def test_quota_exhausted_falls_back_and_records_who_answered(ray_local: None, tmp_path: Path) -> None:
    # the catalogue says sim/smollm2-135m-sim falls back to sim/gemma3-270m-sim
    config = _fleet(tmp_path, {"default_brain": {"ttft_ms": 5, "itl_ms": 1, "output_tokens": 3},
                               "faults": [{"kind": "quota", "model": "smollm2-135m-sim", "rate": 1.0}]})
    runs = tmp_path / "runs"
    result = run(RunSpec(suites=["smoke"], phases=["baseline"], models=["sim/smollm2-135m-sim"], config_path=config),
                 runs_dir=runs)
    records = run_records(runs, result.run_id)
    assert len(records) == 3
    for record in records:
        assert record.status == "ok" and record.model == "sim/smollm2-135m-sim"
        assert record.answered_by == "sim/gemma3-270m-sim"
        assert [a.error_class for a in record.attempt_log] == ["quota_exhausted", None]


def test_keys_never_reach_archive_or_logs(ray_local: None, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "sk-LEAKCHECK-wrong-0123456789abcdef"
    monkeypatch.setenv("FLEETBENCH_SIM_API_KEY", wrong)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-LEAKCHECK-openai-0123456789abcdef")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-LEAKCHECK-0123456789abcdef")
    config = _fleet(tmp_path, {"api_keys": ["the-right-key-000000"],
                               "default_brain": {"ttft_ms": 5, "itl_ms": 1, "output_tokens": 3}})
    runs = tmp_path / "runs"
    result = run(RunSpec(suites=["smoke"], phases=["baseline"], models=["sim/a"], config_path=config), runs_dir=runs)
    records = run_records(runs, result.run_id)
    assert records and all(r.status == "error" and r.error_class == "auth" and r.attempts == 1 for r in records)
    assert all("FLEETBENCH_SIM_API_KEY" in (r.error_message or "") for r in records)
    for path in runs.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert "LEAKCHECK" not in text, f"a key leaked into {path}"


def test_models_without_a_key_are_left_out_and_said_so(ray_local: None, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    runs = tmp_path / "runs"
    config = _fleet(tmp_path, {"default_brain": {"ttft_ms": 5, "itl_ms": 1, "output_tokens": 3}})
    result = run(RunSpec(suites=["smoke"], phases=["baseline"], models=["sim/a", "anthropic/claude-haiku"], config_path=config),
                 runs_dir=runs)
    assert result.status == "completed"
    records = run_records(runs, result.run_id)
    skipped = [r for r in records if r.model == "anthropic/claude-haiku-4-5"]  # alias resolved
    assert len(skipped) == 3 and all(r.status == "skipped" and r.error_class == "no_access" for r in skipped)
    assert "ANTHROPIC_API_KEY" in (skipped[0].error_message or "")
    assert all(r.status == "ok" for r in records if r.model == "sim/a")


def test_default_run_uses_the_real_local_models(ray_local: None, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    session = RunSession(RunSpec(suites=["smoke"], phases=["baseline"]), runs_dir=runs)
    try:
        assert session.local is not None and session.sim is None
        session.spawn("baseline")
        result = session.wait()
    finally:
        session.close()
    records = run_records(runs, result.run_id)
    assert {r.model for r in records} == {"local/smollm2-135m", "local/gemma3-270m"}
    assert all(r.status == "ok" for r in records), [r.error_message for r in records]
    assert all(r.output.strip() and r.output_tokens and r.input_tokens for r in records)
    assert all(r.ttft_ms is not None and r.e2e_ms is not None and r.ttft_ms <= r.e2e_ms for r in records)
    assert all(r.cost_usd == 0.0 for r in records)


def test_claude_runs_without_access_reports_no_access(ray_local: None, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    runs = tmp_path / "runs"
    result = run(RunSpec(suites=["smoke"], phases=["claude-runs"]), runs_dir=runs)
    assert result.status == "completed"
    records = run_records(runs, result.run_id)
    assert len(records) == 3 * 4 and all(r.status == "skipped" for r in records)
    summary = (result.run_dir / "summary.md").read_text()
    assert summary.count("no access") >= 4


def test_claude_runs_through_messages_api_and_agent_sdk(ray_local: None, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from simulator.config import BrainConfig, OutputSpec, SimConfig
    from simulator.server import SimThread

    with SimThread(SimConfig(default_brain=BrainConfig(ttft_ms=20, itl_ms=2, output_tokens=4,
                                                       output=OutputSpec(kind="text", text="ok.")))) as sim:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", sim.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-fake-claude-runs-000000")
        runs = tmp_path / "runs"
        result = run(RunSpec(suites=["smoke"], phases=["claude-runs"], limit=1), runs_dir=runs)
        apis = {t.api for t in sim.truths()}
    records = run_records(runs, result.run_id)
    assert {r.model for r in records} == {"anthropic/claude-haiku-4-5", "anthropic/claude-opus-4-1",
                                          "claude-sdk/claude-haiku-4-5", "claude-sdk/claude-opus-4-1"}
    assert all(r.status == "ok" and r.ttft_ms is not None and r.e2e_ms is not None for r in records), \
        [(r.model, r.error_message) for r in records]
    assert apis == {"anthropic"}
    sdk = [r for r in records if r.model.startswith("claude-sdk/")]
    assert all(r.cost_usd is not None for r in sdk)
    summary = (result.run_dir / "summary.md").read_text()
    assert summary.count("| pass |") == 4


def test_stages_phase_candidates_per_stage_and_recommendation(ray_local: None, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETRIEVAL_MODEL", "sim/retriever")
    config = _fleet(tmp_path, {"default_brain": {"ttft_ms": 5, "itl_ms": 1, "output_tokens": 3},
                               "models": {"slowplanner": {"ttft_ms": 80, "itl_ms": 1, "output_tokens": 3}}})
    runs = tmp_path / "runs"
    spec = RunSpec(phases=["stages"], models=["sim/a"], config_path=config,
                   stage_models={"execution-plan": ["sim/fastplanner", "sim/slowplanner"]})
    result = run(spec, runs_dir=runs)
    records = run_records(runs, result.run_id)
    assert sorted((r.variant, r.model) for r in records) == [
        ("context-summary", "sim/a"), ("execution-plan", "sim/fastplanner"),
        ("execution-plan", "sim/slowplanner"), ("retrieval-brief", "sim/retriever")]
    summary = (result.run_dir / "summary.md").read_text()
    assert "Recommended defaults" in summary
    assert "| execution-plan | `EXECUTION_MODEL` | sim/fastplanner |" in summary


def test_default_plan_runs_every_seed_phase(ray_local: None, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    config = _fleet(tmp_path, {"default_brain": {"ttft_ms": 2, "itl_ms": 1, "output_tokens": 3}})
    runs = tmp_path / "runs"
    result = run(RunSpec(suites=["smoke"], models=["sim/a"], config_path=config, limit=1), runs_dir=runs)
    records = run_records(runs, result.run_id)
    by_phase = {p: [r for r in records if r.phase == p] for p in {r.phase for r in records}}
    assert set(by_phase) == {"baseline", "codex-retry", "claude-runs", "long-context", "tool-use",
                             "streaming-ttft"}
    assert all(r.status == "skipped" for p in ("codex-retry", "claude-runs") for r in by_phase[p])
    assert {r.variant for r in by_phase["long-context"]} == {"2k", "8k", "32k"}
    assert {r.variant for r in by_phase["tool-use"]} == {"baseline", "few-shot", "xml-tools", "step-by-step"}
    summary = (result.run_dir / "summary.md").read_text()
    for phase in by_phase:
        assert f"`{phase}`" in summary or phase in summary
    assert (result.run_dir / "long_context_latency.png").stat().st_size > 1000
    assert (result.run_dir / "ttft_distribution.png").stat().st_size > 1000
