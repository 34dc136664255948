"""Each phase end to end on scripted simulator models (tests/fixtures/phases_sim.yaml): the
driver, a phase subagent, the limiter, real HTTP to the simulator, the collector and the
archive, then assertions on the run's own artifacts (summary.md, results.jsonl, plots).

Why scripted failures: a phase exists to expose one kind of failure (JSON that drifts as the
context grows, invented tool names, refusals, a slow first token, rate limits). Real models
fail at random; scripted ones fail in exactly the planned way, so a phase that stops
reporting that failure, or blames the wrong model, fails here.

Baseline, claude-runs and stages already run end to end on the simulator in
test_run_local.py and test_providers_e2e.py; this module adds the other phases.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agents.retry_plan import failed_keys
from agents.run_setup import RunSpec
from archive.store import RunStore
from cluster.driver import run
from cluster.run_watch import RunResult
from harness.records import CallRecord
from simulator.brains_scripted import BROKEN_PREFIX, FENCE_PREFIX
from simulator.config import REFUSAL_TEXT, BrainConfig, FaultRule, OutputSpec, SimConfig
from simulator.server import SimThread
from tests.cluster.helpers import run_records, write_yaml

pytestmark = [pytest.mark.ray, pytest.mark.slow]

SIM_CONFIG = Path(__file__).resolve().parents[1] / "fixtures" / "phases_sim.yaml"


def _fleet(tmp_path: Path, **extra: Any) -> Path:
    return write_yaml(tmp_path / "fleet.yaml", {
        "simulator": str(SIM_CONFIG), "concurrency": 4,
        "retry": {"base_delay_s": 0.05, "max_delay_s": 0.2}, **extra})


def _run(tmp_path: Path, spec: RunSpec) -> tuple[RunResult, list[CallRecord], str]:
    runs = tmp_path / "runs"
    result = run(spec, runs_dir=runs)
    assert result.status == "completed"
    return result, run_records(runs, result.run_id), (result.run_dir / "summary.md").read_text()


def _row(summary: str, *cells: str) -> list[str]:
    """The one markdown table row whose leading cells are `cells`, split into cells."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in summary.splitlines() if line.startswith("|")]
    found = [r for r in rows if r[: len(cells)] == list(cells)]
    assert len(found) == 1, f"expected one row starting {cells}, got {found}"
    return found[0]


def _section(summary: str, title: str) -> str:
    """The text of a bold-titled block (`**title**`) up to the next blank-line-separated title."""
    start = summary.index(f"**{title}")
    nxt = summary.find("\n**", start + 2)
    return summary[start: nxt if nxt != -1 else len(summary)]


def _constraint(record: CallRecord, kind: str) -> dict[str, Any]:
    results = record.extra["constraints"]
    assert isinstance(results, list)
    return next(c for c in results if c["type"] == kind)


LC_MODELS = ["sim/lc-drift", "sim/lc-clean", "sim/lc-small"]
TTFT_MODELS = ["sim/ttft-slow-start", "sim/ttft-slow-throughout", "sim/ttft-fast"]


@pytest.fixture(scope="module")
def lc_ttft_run(ray_local: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, list[CallRecord], str]:
    """One run of two phases in parallel (each run costs seconds of actor start-up): the
    long-context phase on router-json only, and streaming-ttft on the first three baseline
    items. Both phases see all six models; each test reads only its own models' rows."""
    tmp_path = tmp_path_factory.mktemp("lc_ttft")
    spec = RunSpec(suites=["baseline"], phases=["long-context", "streaming-ttft"], config_path=_fleet(tmp_path),
                   models=LC_MODELS + TTFT_MODELS, limit=3,
                   options={"long_context_items": ["router-json"], "context_lengths": "2k,8k,32k"})
    return _run(tmp_path, spec)


def test_long_context_adherence_falls_with_length_and_small_window_overflows(
        lc_ttft_run: tuple[RunResult, list[CallRecord], str]) -> None:
    result, all_records, summary = lc_ttft_run
    records = [r for r in all_records if r.phase == "long-context" and r.model in LC_MODELS]
    by = {(r.model, r.variant): r for r in records}
    assert len(by) == len(records) == 9

    # the simulator's estimate puts the three lengths on the three sides of the drift thresholds
    drift = {v: by[("sim/lc-drift", v)] for v in ("2k", "8k", "32k")}
    assert all(r.status == "ok" for r in drift.values())
    short, mid, long = (drift[v].input_tokens or 0 for v in ("2k", "8k", "32k"))  # as the simulator counted
    assert 0 < short < 4096 <= mid <= 16384 < long

    # what the model said, and what the phase made of it (results.jsonl extras)
    assert json.loads(drift["2k"].output) == {"route": "billing", "confidence": 0.9}
    assert drift["2k"].extra["adherence"] == 1.0
    assert drift["8k"].output.startswith(FENCE_PREFIX)
    assert _constraint(drift["8k"], "json")["passed"] is False
    assert _constraint(drift["8k"], "json")["detail"] == "valid JSON wrapped in code fence"
    assert _constraint(drift["8k"], "contains")["passed"] is True  # right answer, wrong format
    assert drift["32k"].output.startswith(BROKEN_PREFIX) and "```" not in drift["32k"].output
    with pytest.raises(json.JSONDecodeError):
        json.loads(drift["32k"].output.removeprefix(BROKEN_PREFIX))
    assert _constraint(drift["32k"], "json")["passed"] is False
    assert _constraint(drift["32k"], "json")["detail"].startswith("not valid JSON")  # broken, not just wrapped

    # summary.md: adherence by length per model
    drift_rows = {v: _row(_section(summary, "sim/lc-drift"), v) for v in ("2k", "8k", "32k")}
    # the provider's own prompt count (the simulator's estimate), beside our cl100k target
    assert [int(drift_rows[v][2]) for v in ("2k", "8k", "32k")] == [short, mid, long]
    drift_adh = {v: row[7] for v, row in drift_rows.items()}
    assert [drift_rows[v][-1] for v in ("2k", "8k", "32k")] == [
        "-", "json: valid JSON wrapped in code fence (1)", "json: not valid JSON (1)"]  # how it drifted
    assert drift_adh == {"2k": "100.0%", "8k": "50.0%", "32k": "50.0%"}
    clean = _section(summary, "sim/lc-clean")
    assert all(_row(clean, v)[7] == "100.0%" for v in ("2k", "8k", "32k"))
    assert all(by[("sim/lc-clean", v)].extra["adherence"] == 1.0 for v in ("2k", "8k", "32k"))

    # a window of 4096 tokens: 2k answers, 8k and 32k are context_overflow outcomes
    small = _section(summary, "sim/lc-small")
    assert _row(small, "2k")[8:10] == ["1", "0"]  # ok, context_overflow
    assert _row(small, "8k")[8:11] == ["0", "1", "0"] and _row(small, "32k")[8:11] == ["0", "1", "0"]
    assert [by[("sim/lc-small", v)].error_class for v in ("2k", "8k", "32k")] == [None, "context_overflow",
                                                                               "context_overflow"]

    plot = result.run_dir / "long_context_latency.png"
    assert plot.read_bytes().startswith(b"\x89PNG") and plot.stat().st_size > 1000
    assert "long_context_latency.png" in json.loads((result.run_dir / "manifest.json").read_text())["artifacts"]


def test_tool_use_native_hallucinated_refusal_and_good(ray_local: None, tmp_path: Path) -> None:
    spec = RunSpec(suites=["tool_use"], phases=["tool-use"], config_path=_fleet(tmp_path), limit=1,
                   models=["sim/tool-good", "sim/tool-hallucinating", "sim/tool-refuser"])
    _, records, summary = _run(tmp_path, spec)
    variants = ["baseline", "few-shot", "xml-tools", "step-by-step"]
    for model in ("sim/tool-good", "sim/tool-hallucinating", "sim/tool-refuser"):
        mine = [r for r in records if r.model == model]
        assert sorted(r.variant for r in mine) == sorted(variants)  # every prompt variant ran
        assert all(r.status == "ok" and r.item_id == "simple-weather" and r.extra["tool_mode"] == "native"
                   for r in mine)
    verdicts = {(r.model, r.variant): (r.extra["tool_passed"], r.extra["tool_failure"]) for r in records}
    assert all(verdicts[("sim/tool-good", v)] == (True, None) for v in variants)
    assert all(verdicts[("sim/tool-hallucinating", v)] == (False, "hallucinated_tool") for v in variants)
    assert all(verdicts[("sim/tool-refuser", v)] == (False, "refusal") for v in variants)
    hallucinated = next(r for r in records if r.model == "sim/tool-hallucinating")
    assert "fetch_weather_data" in str(hallucinated.extra["tool_detail"])
    assert all(r.output == REFUSAL_TEXT and not r.extra["tool_calls"]
               for r in records if r.model == "sim/tool-refuser")

    failures = _section(summary, "Tool-use failure modes by category")
    assert _row(failures, "model") == ["model", "category", "hallucinated_tool", "refusal"]
    assert _row(failures, "sim/tool-hallucinating", "simple")[2:] == ["4", "0"]
    assert _row(failures, "sim/tool-refuser", "simple")[2:] == ["0", "4"]
    assert _row(failures, "sim/tool-good", "simple")[2:] == ["0", "0"]
    accuracy = _section(summary, "Tool-use accuracy by category")
    assert all(_row(accuracy, "sim/tool-good", v, "simple")[3:5] == ["1", "100.0%"] for v in variants)
    # one item cannot place a model in a tier: 1 of 1 is [2.5%, 100%]
    tiers = _section(summary, "Tool-use tier")
    assert _row(tiers, "sim/tool-good")[2:] == ["100.0%", "[2.5, 100.0]", "uncertain: tier 1-3"]
    assert _row(tiers, "sim/tool-hallucinating")[2:] == ["0.0%", "[0.0, 97.5]", "uncertain: tier 1-3"]
    assert _row(tiers, "sim/tool-refuser")[4] == "uncertain: tier 1-3"


def test_tool_use_prompt_mode_variants_differ_and_prose_is_flagged(ray_local: None, tmp_path: Path) -> None:
    """Calls written as text: bare JSON passes until a variant demands XML `<tool_call>`
    blocks (format drift there); the right call inside chatter is `extra_prose`."""
    spec = RunSpec(suites=["tool_use"], phases=["tool-use"], config_path=_fleet(tmp_path), limit=1,
                   models=["sim/tool-json-text", "sim/tool-prose"],
                   options={"tool_mode": "prompt", "variants": ["baseline", "xml-tools"]})
    _, records, summary = _run(tmp_path, spec)
    verdicts = {(r.model, r.variant): r.extra["tool_failure"] for r in records}
    assert verdicts == {("sim/tool-json-text", "baseline"): None,
                        ("sim/tool-json-text", "xml-tools"): "format_drift",
                        ("sim/tool-prose", "baseline"): "extra_prose",
                        ("sim/tool-prose", "xml-tools"): "format_drift"}
    assert all(r.extra["tool_mode"] == "prompt" for r in records)
    improvement = _section(summary, "Improvement over `baseline`")
    assert _row(improvement, "sim/tool-json-text", "xml-tools")[2:4] == ["1", "-100.0 pp"]
    tiers = _section(summary, "Tool-use tier")
    assert _row(tiers, "sim/tool-json-text")[1:3] == ["baseline", "100.0%"]
    assert _row(tiers, "sim/tool-prose")[2] == "0.0%"


def test_streaming_ttft_labels_slow_to_start_and_slow_throughout(
        lc_ttft_run: tuple[RunResult, list[CallRecord], str]) -> None:
    result, all_records, summary = lc_ttft_run
    records = [r for r in all_records if r.phase == "streaming-ttft" and r.model in TTFT_MODELS]
    assert len(records) == 9 and all(r.status == "ok" and r.ttft_ms is not None for r in records)
    # the simulator never sends the first token early: measured TTFT >= the scripted 300 ms
    assert all(r.ttft_ms is not None and r.ttft_ms >= 300 for r in records if r.model == "sim/ttft-slow-start")
    stats = summary[summary.index("| model | calls | ok | TTFT p50 |"):]  # the phase's own table
    assert _row(stats, "model")[-1] == "label"
    labels = {model: _row(stats, model)[-1] for model in TTFT_MODELS}
    assert labels == {"sim/ttft-slow-start": "slow to start", "sim/ttft-slow-throughout": "slow throughout",
                      "sim/ttft-fast": "fast"}
    plot = result.run_dir / "ttft_distribution.png"
    assert plot.read_bytes().startswith(b"\x89PNG") and plot.stat().st_size > 1000


CODEX_MODELS = ["openai/gpt-5-codex@high", "openai/gpt-5-codex@low"]


def test_codex_retry_rate_limited_then_retry_run_merges(ray_local: None, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The Codex rate-limit retry against the simulator standing in for OpenAI's Responses API: the first four
    requests are 429s, so with two attempts per call exactly two calls fail after honouring
    Retry-After; the retry run redoes just those keys and the aggregate counts the lineage once."""
    brain = BrainConfig(ttft_ms=5, itl_ms=1, output_tokens=4, output=OutputSpec(kind="text", text="ok."),
                        reasoning_tokens={"high": 40, "low": 4}, reasoning_ms_per_token=0.5)
    rate_limited = FaultRule(kind="rate_limit", model="gpt-5-codex", at=[1, 2, 3, 4], retry_after_s=0.2,
                             retry_after_format="ms")
    fleet = write_yaml(tmp_path / "fleet.yaml", {"concurrency": 1, "retry": {
        "max_attempts": 2, "base_delay_s": 0.05, "max_delay_s": 0.2}})
    runs = tmp_path / "runs"
    with SimThread(SimConfig(models={"gpt-5-codex": brain}, faults=[rate_limited])) as sim:
        monkeypatch.setenv("OPENAI_BASE_URL", sim.url + "/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-codex-retry-000000")
        spec = RunSpec(suites=["smoke"], phases=["codex-retry"], models=CODEX_MODELS, config_path=fleet, limit=2)
        parent = run(spec, runs_dir=runs)
        parent_records = run_records(runs, parent.run_id)
        failed = [r for r in parent_records if r.status == "error"]
        assert len(parent_records) == 4 and len(failed) == 2
        assert all(r.error_class == "rate_limited" and r.attempts == 2 for r in failed)
        assert all(a.waited_s >= 0.2 for r in failed for a in r.attempt_log[:-1])  # never earlier than asked
        summary = (parent.run_dir / "summary.md").read_text()
        for model in CODEX_MODELS:
            mine = [r for r in parent_records if r.model == model]
            ok = sum(r.status == "ok" for r in mine)
            row = _row(summary, model, str(ok), str(len(mine) - ok), "0")
            assert row[5] == ("pass" if ok == len(mine) else "fail")
        assert "| fail |" in summary

        # `fleetbench retry RUN_ID --errors-only`, through the same Python calls as the CLI
        keys = failed_keys(parent_records)
        retry_spec = RunSpec.from_manifest(json.loads((parent.run_dir / "manifest.json").read_text())["request"])
        retry_spec.only_keys = keys
        child = run(retry_spec, runs_dir=runs, parent_run=parent.run_id)
        truths = sim.truths()
    child_records = run_records(runs, child.run_id)
    assert sorted(r.key for r in child_records) == sorted(r.key for r in failed)
    assert all(r.status == "ok" for r in child_records)
    assert RunStore(runs).find(child.run_id).read_manifest()["parent_run"] == parent.run_id
    # every call went to the Responses API with the variant's reasoning effort
    assert {t.api for t in truths} == {"responses"}
    assert {t.reasoning_tokens for t in truths if t.status == 200} == {40, 4}

    aggregate = json.loads((runs / "aggregate.json").read_text())
    lineage = next(lin for lin in aggregate["lineages"] if lin["root"] == parent.run_id)
    assert lineage["runs"] == [parent.run_id, child.run_id]
    merged = (runs / "AGGREGATE_SUMMARY.md").read_text()
    for model in CODEX_MODELS:
        assert re.search(rf"^\| {re.escape(model)} \| 2 \| 0 \| 0 \| 100\.0% \| pass \|$", merged, re.MULTILINE), merged
