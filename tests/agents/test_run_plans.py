"""The two plans: `quick` (the no-argument main job's default: a few calls per phase, long-context lengths
fitted to the models' windows) and `full` (every phase's complete defaults)."""

from __future__ import annotations

import pytest

from agents.phases import DEFAULT_ORDER
from agents.run_setup import CATALOGUE_PATH, QUICK_MAX_TOKENS, RunSpec, prepare_run
from harness.catalogue import load_catalogue
from harness.errors import InputError


def test_quick_plan_on_the_embedded_models_covers_every_phase_with_few_calls() -> None:
    prepared = prepare_run(RunSpec(plan="quick"))
    assert list(prepared.plans) == DEFAULT_ORDER
    sizes = {phase: len(plan) for phase, plan in prepared.plans.items()}
    assert all(n >= 1 for n in sizes.values()), sizes
    models = {str(m) for m in prepared.models}
    assert models == {"local/smollm2-135m", "local/gemma3-270m"}
    # the local models' calls (the hosted phases' models have no key here and cost nothing)
    local = sum(1 for plan in prepared.plans.values() for i in plan if i.model in models)
    # 36, and 16 more where bfcl-eval is installed: its sample beside our tool-use suite
    assert local <= 52, sizes
    full = prepare_run(RunSpec(plan="full", phases=["baseline", "tool-use"]))
    assert len(prepared.plans["baseline"]) < len(full.plans["baseline"])
    assert len(prepared.plans["tool-use"]) < len(full.plans["tool-use"])
    assert {i.variant for i in prepared.plans["tool-use"]} == {"baseline", "few-shot"}


def test_quick_long_context_lengths_fit_every_window_and_make_a_curve() -> None:
    prepared = prepare_run(RunSpec(plan="quick", phases=["long-context"]))
    catalogue = load_catalogue(CATALOGUE_PATH)
    plan = prepared.plans["long-context"]
    lengths = sorted({int(i.meta["context_tokens"]) for i in plan})
    assert len(lengths) == 3
    for item in plan:
        entry = catalogue.resolve(*item.model.split("/", 1))
        assert entry is not None and entry.context_window is not None
        # the whole prompt plus the answer's budget fits the window: no overflow by design
        assert int(item.meta["context_tokens"]) + item.request.max_tokens <= entry.context_window
    assert {i.item_id for i in plan} == {"router-json"}


def test_quick_replies_are_capped_and_full_ones_keep_the_suites_budget() -> None:
    quick = prepare_run(RunSpec(plan="quick", phases=["baseline", "tool-use"]))
    full = prepare_run(RunSpec(plan="full", phases=["baseline", "tool-use"]))
    budgets = {i.item_id: i.request.max_tokens for plan in full.plans.values() for i in plan}
    assert max(budgets.values()) > QUICK_MAX_TOKENS  # the cap has something to cap
    for plan in quick.plans.values():
        for item in plan:
            assert item.request.max_tokens == min(budgets.get(item.item_id, item.request.max_tokens), QUICK_MAX_TOKENS)


def test_full_plan_is_the_python_default_and_flags_win_over_quick_defaults() -> None:
    assert RunSpec().plan == "full"
    full = prepare_run(RunSpec(phases=["tool-use"]))
    assert {i.variant for i in full.plans["tool-use"]} == {"baseline", "few-shot", "xml-tools", "step-by-step"}
    given = prepare_run(RunSpec(plan="quick", phases=["tool-use", "long-context"], limit=1,
                                options={"variants": "xml-tools", "context_lengths": "600"}))
    assert {i.variant for i in given.plans["tool-use"]} == {"xml-tools"}
    ours = [i for i in given.plans["tool-use"] if not i.category.startswith("bfcl:")]  # beside BFCL's sample
    assert {i.item_id for i in ours} == {ours[0].item_id}
    assert {i.variant for i in given.plans["long-context"]} == {"600"}


def test_plan_survives_the_manifest_and_a_bad_name_is_refused() -> None:
    spec = RunSpec(plan="quick")
    assert RunSpec.from_manifest(spec.to_manifest()).plan == "quick"
    assert RunSpec.from_manifest({}).plan == "full"  # archives written before plans existed
    with pytest.raises(InputError, match="--plan"):
        prepare_run(RunSpec(plan="tiny"))
