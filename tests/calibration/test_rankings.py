"""Rankings from per-item evidence: paired ranks, equal-weight overall, per-source tables,
sizing, suspect items and failure rates, on hand-made inputs."""

from __future__ import annotations

import pytest

from calibration.evidence import CallCell, CallKey, UnitKey
from calibration.rankings import build_rankings
from calibration.schema import RankRow

Units = dict[UnitKey, list[float]]


def units(model: str, scores: list[float], *, category: str = "code", source: str = "adherence",
          phase: str = "baseline", repeats: int = 1, prefix: str = "i") -> Units:
    return {(model, source, phase, f"{prefix}{i}", category): [score * repeats, float(repeats)]
            for i, score in enumerate(scores)}


def rows(result: list[RankRow]) -> dict[str, RankRow]:
    return {r.model: r for r in result}


def test_two_samples_each_do_not_decide_a_rank() -> None:
    """The measured defect: gemma3 rank 1 at 50.0 [50.0, 50.0], smollm2 rank 2 at 0.0 [0.0, 0.0],
    n = 2 each, "not tied"."""
    data = {**units("gemma3", [50.0, 50.0], category="classification"),
            **units("smollm2", [0.0, 0.0], category="classification")}
    table = rows(build_rankings(data, {}, now="t").by_category["classification"])
    assert table["gemma3"].rank == table["smollm2"].rank == 1
    assert table["gemma3"].tied_with == ["smollm2"] and table["gemma3"].outranks == []
    assert table["gemma3"].ci_high - table["gemma3"].ci_low > 40 and table["smollm2"].ci_high > 40
    assert (table["gemma3"].n, table["smollm2"].n) == (2, 2)


def test_a_consistent_lead_on_shared_items_outranks() -> None:
    data = {**units("strong", [100.0] * 12), **units("weak", [0.0] * 12), **units("close", [100.0] * 11 + [0.0])}
    table = rows(build_rankings(data, {}, now="t").by_category["code"])
    assert (table["strong"].rank, table["close"].rank, table["weak"].rank) == (1, 1, 3)
    assert table["strong"].outranks == ["weak"] and table["strong"].tied_with == ["close"]
    assert table["weak"].tied_with == [] and table["close"].outranks == ["weak"]


def test_models_sharing_no_item_are_tied() -> None:
    data = {**units("a", [100.0] * 10, prefix="x"), **units("b", [0.0] * 10, prefix="y")}
    table = rows(build_rankings(data, {}, now="t").by_category["code"])
    assert table["a"].rank == table["b"].rank == 1 and table["a"].tied_with == ["b"]


def test_repeats_of_an_item_are_one_unit() -> None:
    once = {**units("a", [100.0, 0.0, 100.0, 100.0]), **units("b", [0.0, 0.0, 100.0, 0.0])}
    five = {**units("a", [100.0, 0.0, 100.0, 100.0], repeats=5), **units("b", [0.0, 0.0, 100.0, 0.0], repeats=5)}
    strip = [(r.model, r.rank, r.mean, r.ci_low, r.ci_high, r.n) for r in build_rankings(once, {}, now="t").overall]
    assert strip == [(r.model, r.rank, r.mean, r.ci_low, r.ci_high, r.n)
                     for r in build_rankings(five, {}, now="t").overall]
    assert [r.answers for r in build_rankings(five, {}, now="t").overall] == [20, 20]


def test_an_item_asked_by_several_phases_is_one_unit() -> None:
    """The default plan's streaming-ttft phase re-asks the baseline items: the same outputs in
    both phases must not count each item twice (n stays the number of items)."""
    scores_a, scores_b = [100.0, 0.0, 100.0, 100.0], [0.0, 0.0, 100.0, 0.0]
    once = {**units("a", scores_a), **units("b", scores_b)}
    twice = {**once, **units("a", scores_a, phase="streaming-ttft"), **units("b", scores_b, phase="streaming-ttft")}
    strip = [(r.model, r.rank, r.mean, r.ci_low, r.ci_high, r.n) for r in build_rankings(once, {}, now="t").overall]
    assert strip == [(r.model, r.rank, r.mean, r.ci_low, r.ci_high, r.n)
                     for r in build_rankings(twice, {}, now="t").overall]
    assert [r.n for r in build_rankings(twice, {}, now="t").overall] == [4, 4]


def test_overall_is_an_equal_weight_mean_over_categories() -> None:
    """The measured defect: "overall" pooled 10 tool calls with 2 rubric scores."""
    data = {**units("m", [100.0] * 10, category="simple", source="tool"),
            **units("m", [0.0, 0.0], category="backend", source="rubric")}
    result = build_rankings(data, {}, now="t")
    (row,) = result.overall
    assert row.mean == pytest.approx(50.0) and row.categories == 2 and row.n == 12
    assert "weigh categories equally" in result.method
    assert {s: [r.mean for r in rs] for s, rs in result.by_source.items()} == {"rubric": [0.0], "tool": [100.0]}


def test_per_source_tables_rank_only_their_source() -> None:
    data = {**units("a", [100.0] * 8, source="tool", category="simple"),
            **units("b", [0.0] * 8, source="tool", category="simple"),
            **units("a", [10.0] * 8, source="rubric", category="backend"),
            **units("b", [90.0] * 8, source="rubric", category="backend")}
    result = build_rankings(data, {}, now="t")
    assert [r.model for r in result.by_source["tool"]] == ["a", "b"] and result.by_source["tool"][1].rank == 2
    assert [r.model for r in result.by_source["rubric"]] == ["b", "a"] and result.by_source["rubric"][1].rank == 2
    assert list(result.by_source) == ["rubric", "tool"]  # the stated source order
    overall = rows(result.overall)
    assert overall["a"].mean == pytest.approx(55.0) and overall["b"].mean == pytest.approx(45.0)


def test_sizing_states_what_the_table_could_detect() -> None:
    few = {**units("a", [100.0, 0.0] * 2), **units("b", [100.0, 0.0] * 2)}
    some = {**units("a", [100.0, 0.0] * 6), **units("b", [100.0, 0.0] * 6)}
    many = {**units("a", [100.0, 0.0] * 20), **units("b", [100.0, 0.0] * 20)}
    small, middle, large = (build_rankings(d, {}, now="t").category_sizing["code"] for d in (few, some, many))
    assert (small.pairs, small.shared_items, small.effective_items) == (1, 4, 4.0)
    assert small.detectable is None  # four items cannot separate two models at all
    assert middle.detectable is not None and large.detectable is not None
    assert 0 < large.detectable < middle.detectable <= 1 and large.shared_items == 40
    single = build_rankings(units("a", [50.0]), {}, now="t")
    assert single.overall_sizing.pairs == 0 and single.overall_sizing.detectable is None


def test_categories_of_one_item_each_still_rank_a_model_that_wins_them_all() -> None:
    """Equal weights over eight one-item categories are eight items, not eight priors."""
    data: Units = {}
    for c in range(8):
        data |= {**units("a", [90.0], category=f"c{c}", prefix=f"c{c}-"),
                 **units("b", [40.0], category=f"c{c}", prefix=f"c{c}-")}
    result = build_rankings(data, {}, now="t")
    assert [(r.model, r.rank) for r in result.overall] == [("a", 1), ("b", 2)]
    assert result.overall_sizing.effective_items == 8.0
    assert all(rows[0].rank == rows[1].rank == 1 for rows in result.by_category.values())  # one item each


def test_items_every_model_fails_or_passes_are_listed() -> None:
    data: Units = {}
    for model in ("a", "b", "c"):
        data |= {(model, "tool", "tool-use", "broken", "simple"): [0.0, 3.0],
                 (model, "tool", "tool-use", "trivial", "simple"): [500.0, 5.0],
                 (model, "tool", "tool-use", "fine", "simple"): [100.0 if model == "a" else 0.0, 1.0]}
    data |= {(m, "tool", "tool-use", "two-only", "simple"): [0.0, 1.0] for m in ("a", "b")}
    # an item asked in two phases is judged over both: failed everywhere, or not suspect
    data |= {(m, "adherence", phase, "json", "structured"): [0.0, 1.0] for m in "abc" for phase in ("baseline", "lc")}
    data |= {(m, "adherence", "baseline", "mixed", "structured"): [0.0, 1.0] for m in "abc"}
    data |= {(m, "adherence", "lc", "mixed", "structured"): [100.0, 1.0] for m in "abc"}
    suspects = build_rankings(data, {}, now="t").suspect_items
    assert [(s.item_id, s.verdict, s.models, s.phases) for s in suspects] == [
        ("broken", "suspect gold", 3, ["tool-use"]), ("json", "suspect gold", 3, ["baseline", "lc"]),
        ("trivial", "too easy", 3, ["tool-use"])]


def test_failure_rates_are_per_item_and_apart_from_quality() -> None:
    calls: dict[CallKey, CallCell] = {
        ("m", "long-context", "a"): CallCell(run_id="", model="m", phase="long-context", item_id="a", provider=5,
                                             provider_classes={"context_overflow": 5}),
        ("m", "long-context", "b"): CallCell(run_id="", model="m", phase="long-context", item_id="b", ok=5),
        ("m", "baseline", "c"): CallCell(run_id="", model="m", phase="baseline", item_id="c", ok=1, ours=2,
                                         our_classes={"subagent_lost": 2}),
    }
    (row,) = build_rankings({}, calls, now="t").failures
    assert (row.calls, row.ok, row.provider_errors, row.our_errors, row.items) == (13, 6, 5, 2, 3)
    assert row.rate == pytest.approx(1 / 3) and row.ci_low < 1 / 3 < row.ci_high
    assert row.provider_classes == {"context_overflow": 5} and row.our_classes == {"subagent_lost": 2}


def test_the_same_evidence_gives_the_same_rankings() -> None:
    data = {**units("a", [80.0, 20.0, 55.0]), **units("b", [30.0, 40.0, 50.0], category="docs")}
    assert build_rankings(data, {}, now="t") == build_rankings(dict(reversed(list(data.items()))), {}, now="t")
