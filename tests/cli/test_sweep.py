"""`fleetbench sweep` and `fleetbench judges compare`: bad input and refusals without Ray,
then a whole sweep on simulated models over real HTTP through the Ray driver."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from calibration.judge_dataset import load_judge_dataset
from calibration.judge_prompt import normalise_score
from calibration.schema import JUDGE_COMPARISON_JSON, BenchJudgeRow, JudgeComparison, ProductionJudgeRow
from cli.app import app
from tests.cluster.helpers import run_records, write_yaml

runner = CliRunner()
SIM_CONFIG = Path(__file__).resolve().parents[1] / "fixtures" / "judge_sim.yaml"
MODELS = ["--generation-models", "sim/gen-echo", "--judge-models", "sim/j", "--production-judge-models", "sim/p"]


def _sweep(tmp_path: Path, *args: str) -> tuple[int, str]:
    runs = tmp_path / "runs"
    result = runner.invoke(app, ["sweep", *args, "--runs-dir", str(runs)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize(("args", "words"), [
    (MODELS[2:], "--generation-models: names no model"),
    (["--generation-models", "sim/a", "--judge-models", "sim/j"], "--production-judge-models: names no model"),
    (["--generation-models", "warp/x", *MODELS[2:]], "--generation-models: unknown provider 'warp'"),
    (["--generation-models", "sim/a", "--judge-models", "not a model", *MODELS[4:]], "--judge-models: model"),
    ([*MODELS, "--judge-eval-mode", "cot"], "--judge-eval-mode: expected direct or reasoned"),
    ([*MODELS, "--consistency-runs", "0"], "--consistency-runs: must be at least 1"),
    ([*MODELS, "--limit", "0"], "--limit: must be at least 1"),
])
def test_bad_sweep_input_exits_2_and_writes_nothing(tmp_path: Path, args: list[str], words: str) -> None:
    code, output = _sweep(tmp_path, *args)
    assert code == 2 and words in output and "Traceback" not in output
    assert not (tmp_path / "runs").exists()


def test_bad_dataset_names_file_and_line(tmp_path: Path) -> None:
    dataset = tmp_path / "data.yaml"
    dataset.write_text("name: d\nitems:\n  - id: a\n    question: q\n    answer: a\n    label: maybe\n")
    code, output = _sweep(tmp_path, *MODELS, "--dataset", str(dataset))
    assert code == 2 and "data.yaml:6" in output and "label" in output
    assert not (tmp_path / "runs").exists()


def _comparison(run_id: str, **flags: object) -> JudgeComparison:
    base: dict[str, str | int | float | bool | None] = {"judge_eval_mode": "direct", "consistency_runs": 3,
                                                        "limit": 5}
    return JudgeComparison(
        run_id=run_id, dataset="d.yaml", dataset_hash=str(flags.pop("dataset_hash", "a" * 64)),
        flags={**base, **flags},  # type: ignore[dict-item]
        bench_judges=[BenchJudgeRow(judge="sim/j", n_items=5, consistency=0.8, error_rate=0.1,
                                    mean_latency_ms=12.0)],
        production_judges=[ProductionJudgeRow(judge="sim/p", n=15, errors=0, accuracy=0.6, precision=0.5,
                                              recall=1.0, f1=0.667, avg_latency_ms=9.0)])


def _write(path: Path, comparison: JudgeComparison) -> Path:
    path.write_bytes(msgspec.json.encode(comparison))
    return path


def test_compare_refuses_naming_the_flag_or_the_dataset(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.json", _comparison("run-a"))
    b = _write(tmp_path / "b.json", _comparison("run-b", judge_eval_mode="reasoned"))
    result = runner.invoke(app, ["judges", "compare", str(a), str(b)])
    assert result.exit_code == 2
    assert "not comparable" in result.output and "judge_eval_mode differs: 'direct' vs 'reasoned'" in result.output
    c = _write(tmp_path / "c.json", _comparison("run-c", dataset_hash="b" * 64))
    result = runner.invoke(app, ["judges", "compare", str(a), str(c)])
    assert result.exit_code == 2 and "dataset hash differs" in result.output


def test_compare_prints_side_by_side_when_comparable(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.json", _comparison("run-a"))
    b = _write(tmp_path / "b.json", _comparison("run-b"))
    result = runner.invoke(app, ["judges", "compare", str(a), str(b)])
    assert result.exit_code == 0, result.output
    assert "run-a vs run-b" in result.output and "sim/j" in result.output and "80.0%" in result.output


def test_compare_of_a_run_without_a_comparison(tmp_path: Path) -> None:
    result = runner.invoke(app, ["judges", "compare", str(tmp_path), str(tmp_path), "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and JUDGE_COMPARISON_JSON in result.output
    result = runner.invoke(app, ["judges", "compare", "no-such-run", "x", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "RUN_A" in result.output


# -- a whole sweep on the simulator, through Ray ---------------------------------------------

@pytest.mark.slow
@pytest.mark.ray
def test_sweep_on_simulated_models(ray_local: None, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    config = write_yaml(tmp_path / "fleet.yaml", {"simulator": str(SIM_CONFIG), "concurrency": 8,
                                                  "retry": {"base_delay_s": 0.05, "max_delay_s": 0.2}})
    runs = tmp_path / "runs"
    limit, repeats = 5, 2
    judges = "sim/judge-strict,sim/judge-reasoned,sim/judge-garbage"
    result = runner.invoke(app, [
        "sweep", "--generation-models", "sim/gen-echo,sim/gen-fixed", "--judge-models", judges,
        "--production-judge-models", judges + ",anthropic/claude-haiku", "--limit", str(limit),
        "--consistency-runs", str(repeats), "--judge-eval-mode", "direct", "--config", str(config),
        "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    files = list(runs.rglob(JUDGE_COMPARISON_JSON))
    assert len(files) == 1
    raw = json.loads(files[0].read_text())
    comparison = msgspec.json.decode(files[0].read_bytes(), type=JudgeComparison)
    assert comparison.dataset_hash == load_judge_dataset().dataset_hash
    assert comparison.flags["judge_eval_mode"] == "direct" and comparison.flags["consistency_runs"] == repeats
    assert comparison.flags["limit"] == limit

    # the judge run's records: garbage is an error every time, never a verdict
    judged = run_records(runs, comparison.run_id)
    garbage = [r for r in judged if r.model == "sim/judge-garbage"]
    assert len(garbage) == 2 * limit * repeats * 2 - limit * repeats  # bench (2 gen models) + production
    assert all(r.status == "ok" and r.extra["judge_parsed"] is False and r.extra["judge_verdict"] is None
               for r in garbage)
    bench = {b.judge: b for b in comparison.bench_judges}
    assert bench["sim/judge-garbage"].error_rate == 1.0 and bench["sim/judge-garbage"].consistency is None
    assert bench["sim/judge-strict"].error_rate == 0.0 and bench["sim/judge-strict"].consistency == 1.0
    assert bench["sim/judge-strict"].n_items == 2 * limit

    # production judges against the labels, by hand: strict always says bad, reasoned always good
    labels = [i.label for i in load_judge_dataset().chosen(limit)]
    bad, good = labels.count("bad") * repeats, labels.count("good") * repeats
    prod = {p.judge: p for p in comparison.production_judges}
    assert "anthropic/claude-haiku-4-5" not in prod  # no key: left out
    strict, lenient, broken = prod["sim/judge-strict"], prod["sim/judge-reasoned"], prod["sim/judge-garbage"]
    assert (strict.tp, strict.fp, strict.tn, strict.fn) == (bad, good, 0, 0)
    assert strict.accuracy == pytest.approx(bad / (bad + good)) and strict.precision == pytest.approx(bad / (bad + good))
    assert strict.recall == 1.0 and strict.f1 == pytest.approx(2 * bad / (2 * bad + good))
    assert (lenient.tp, lenient.fp, lenient.tn, lenient.fn) == (0, 0, good, bad)
    assert lenient.accuracy == pytest.approx(good / (bad + good)) and lenient.precision is None
    assert lenient.recall == 0.0 and lenient.f1 == 0.0
    assert broken.errors == broken.n == limit * repeats and broken.tp + broken.fp + broken.tn + broken.fn == 0
    assert broken.accuracy is None and broken.f1 is None

    # every combination of models with access: 2 generation x 3 judges x 3 production judges
    assert len(comparison.model_runs) == 18
    assert not any("anthropic" in m.production_judge_model for m in comparison.model_runs)
    assert any("left out production judge anthropic/claude-haiku-4-5" in n for n in raw["notes"])
    run = next(m for m in comparison.model_runs if (m.generation_model, m.judge_model, m.production_judge_model)
               == ("sim/gen-fixed", "sim/judge-strict", "sim/judge-reasoned"))
    assert run.judge_eval_mode == "direct"
    assert run.metrics["generation_mean_judge_score"] == pytest.approx(normalise_score(2))
    assert run.metrics["production_accuracy"] == pytest.approx(good / (bad + good))
    assert run.metrics["judge_error_rate"] == 0.0
    assert "benchmark judges" in result.output and "model runs" in result.output

    # compare: itself is fine; the same file with one flag changed is refused, naming it
    same = runner.invoke(app, ["judges", "compare", comparison.run_id, comparison.run_id, "--runs-dir", str(runs)])
    assert same.exit_code == 0, same.output
    raw["flags"]["consistency_runs"] = 5
    other = tmp_path / "other.json"
    other.write_text(json.dumps(raw))
    refused = runner.invoke(app, ["judges", "compare", comparison.run_id, str(other), "--runs-dir", str(runs)])
    assert refused.exit_code == 2 and "flag consistency_runs differs: 2 vs 5" in refused.output
