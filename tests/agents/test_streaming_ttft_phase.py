"""streaming-ttft: every item streamed on every model; labels follow the stated rule."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from agents.config import FleetConfig
from agents.phases.base import PlanContext
from agents.phases.streaming_ttft import PLOT_NAME, StreamingTTFTPhase, labels, pearson, tpot_ms
from agents.suite import load_suite
from harness.model_ref import ModelRef
from harness.records import CallRecord


def _rec(model: str, i: int, ttft: float, e2e: float, itl: float, status: str = "ok",
         tokens: int = 21) -> CallRecord:
    return CallRecord(run_id="r", phase="streaming-ttft", item_id=f"item-{i}", model=model,
                      status="ok" if status == "ok" else "error",
                      error_class=None if status == "ok" else "timeout",
                      ttft_ms=ttft if status == "ok" else None, e2e_ms=e2e if status == "ok" else None,
                      itl_p50_ms=itl if status == "ok" else None, output_tokens=tokens if status == "ok" else None)


def _model(model: str, ttft: float, e2e: float, itl: float, tokens: int = 21) -> list[CallRecord]:
    # five calls around the given medians; TTFT and E2E rise together (r close to 1)
    return [_rec(model, i, ttft + 10 * d, e2e + 12 * d, itl + d, tokens=tokens)
            for i, d in enumerate((-2, -1, 0, 1, 2))]


def test_plan_streams_every_item_on_every_model() -> None:
    suite = load_suite("baseline")
    models = [ModelRef.parse("sim/a"), ModelRef.parse("sim/b")]
    items = StreamingTTFTPhase().plan(PlanContext(suites=[suite], models=models, config=FleetConfig()))
    assert len(items) == len(suite.suite.items) * 2
    assert all(i.request.stream for i in items)


@pytest.mark.parametrize(("ttft", "e2e", "tpot", "expected"), [
    (20.0, 200.0, 5.0, ["fast"]),
    (800.0, 1000.0, 5.0, ["slow to start"]),
    (20.0, 2000.0, 80.0, ["slow throughout"]),
    (900.0, 1000.0, 60.0, ["slow to start", "slow throughout"]),
    (500.0, 1000.0, 50.0, ["fast"]),  # both thresholds are strict
])
def test_label_rule(ttft: float, e2e: float, tpot: float, expected: list[str]) -> None:
    assert labels(ttft, e2e, tpot) == expected


def test_tpot_spreads_decoding_over_the_tokens() -> None:
    assert tpot_ms(_rec("m", 0, 100.0, 1100.0, 0.2, tokens=11)) == pytest.approx(100.0)
    assert tpot_ms(_rec("m", 0, 100.0, 1100.0, 0.2, tokens=1)) is None  # nothing decoded after the first
    assert tpot_ms(_rec("m", 0, 0, 0, 0, status="error")) is None


def test_summary_labels_each_model_and_states_the_rule() -> None:
    # TPOT p50 = (E2E - TTFT) / 20: fast 9 ms, starter 10 ms, trickle 99 ms; "both" has 2 tokens: 100 ms;
    # "bursty" gets its tokens in pairs (ITL p50 0.2 ms) but decodes at 99 ms per token
    records = (_model("sim/fast", 20, 200, 5) + _model("sim/starter", 800, 1000, 5)
               + _model("sim/trickle", 20, 2000, 80) + _model("sim/both", 900, 1000, 60, tokens=2)
               + _model("sim/bursty", 20, 2000, 0.2)
               + [_rec("sim/fast", 9, 0, 0, 0, status="error")])
    text = StreamingTTFTPhase().summary_section(records)
    assert text is not None
    rows = {line.split(" | ")[0][2:]: line for line in text.splitlines() if line.startswith("| sim/")}
    assert rows["sim/fast"].endswith("| fast |") and "| 6 | 5 |" in rows["sim/fast"]
    assert rows["sim/starter"].endswith("| slow to start |")
    assert rows["sim/trickle"].endswith("| slow throughout |")
    assert rows["sim/both"].endswith("| slow to start, slow throughout |")
    assert rows["sim/bursty"].endswith("| slow throughout |") and "| 0.2 | 99.0 |" in rows["sim/bursty"]
    assert "(5, 1.00)" in rows["sim/fast"]
    assert "0.5 x E2E p50" in text and "TPOT p50 > 50 ms" in text


def test_pearson() -> None:
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert pearson([1, 2], [1, 2]) is None
    assert pearson([1, 1, 1], [1, 2, 3]) is None


def test_write_artifacts_draws_the_ttft_plot(tmp_path: Path) -> None:
    records = _model("sim/a", 20, 200, 5) + _model("sim/b", 300, 900, 30)
    assert StreamingTTFTPhase().write_artifacts(tmp_path, records) == [PLOT_NAME]
    png = tmp_path / PLOT_NAME
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"
    assert StreamingTTFTPhase().write_artifacts(tmp_path, []) == []


def test_summary_reports_both_ttfts_for_a_reasoning_model() -> None:
    """A reasoning model's row shows the first token of any kind and the reasoning's
    duration beside the answer's TTFT; a plain model's first token is its TTFT."""
    thinker = [msgspec.structs.replace(r, first_token_ms=r.ttft_ms - 300 if r.ttft_ms else None, reasoning_ms=290.0)
               for r in _model("sim/thinker", 400, 600, 5)]
    plain = [msgspec.structs.replace(r, first_token_ms=r.ttft_ms) for r in _model("sim/plain", 20, 200, 5)]
    text = StreamingTTFTPhase().summary_section(thinker + plain)
    assert text is not None and "| first token p50 | reasoning p50 |" in text
    rows = {line.split(" | ")[0][2:]: line for line in text.splitlines() if line.startswith("| sim/")}
    assert "| 400.0 | 418.0 | 100.0 | 290.0 |" in rows["sim/thinker"]  # TTFT p50, p95, first token, reasoning
    assert "| 20.0 | 38.0 | 20.0 | - |" in rows["sim/plain"]
    assert "first answer token" in text
