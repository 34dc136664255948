"""The model-lab phases: plan shapes and bad options without HTTP, then generation ->
judge-bench and judge-production over real HTTP to the simulator (no Ray)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from agents.config import FleetConfig
from agents.phase_agent import PhaseAgent
from agents.phases.base import Phase, PlanContext
from agents.phases.judges import GenerationPhase, JudgeProductionPhase
from agents.phases.judges_bench import JudgeBenchPhase
from agents.plan import WorkItem
from agents.providers import ResolvedProvider, resolve_provider
from agents.sinks import ListSink
from archive.stats_md import DASH
from calibration.judge_dataset import load_judge_dataset
from calibration.judge_metrics import bench_row, production_row, target_scores
from calibration.judge_prompt import normalise_score
from calibration.settings import CalibrationSettings, JudgeSettings
from harness.errors import InputError
from harness.limit_contract import Limiter, ProviderLimits
from harness.local_limiters import LimiterCore
from harness.model_ref import ModelRef
from harness.records import CallRecord, encode_line
from harness.retry import RetryPolicy
from simulator.config import load_sim_config
from simulator.server import SimThread

SIM_CONFIG = Path(__file__).resolve().parents[1] / "fixtures" / "judge_sim.yaml"
JUDGES = ["sim/judge-strict", "sim/judge-reasoned", "sim/judge-garbage"]


def ctx(models: list[str] | None = None, *, limit: int | None = None, config: FleetConfig | None = None,
        given: dict[str, object] | None = None, **options: object) -> PlanContext:
    return PlanContext(suites=[], models=[ModelRef.parse(m) for m in models or []], config=config or FleetConfig(),
                       limit=limit, options={**(given or {}), **options})


def test_production_plan_is_items_x_judges_x_consistency_runs() -> None:
    items = JudgeProductionPhase().plan(ctx(limit=5, production_judge_models="sim/a, sim/b", consistency_runs=3))
    assert len(items) == 5 * 2 * 3 and len({i.key for i in items}) == len(items)
    assert {i.repeat for i in items} == {0, 1, 2} and {i.model for i in items} == {"sim/a", "sim/b"}
    first = load_judge_dataset().dataset.items[0]
    item = next(i for i in items if i.item_id == first.id)
    assert item.meta["expected"] == first.label and item.meta["judge_mode"] == "direct"
    assert item.request.temperature == 0.0 and item.request.stream is False
    assert first.answer in item.request.messages[-1].content and item.request.messages[0].role == "system"


def test_judge_settings_come_from_config_unless_given() -> None:
    config = FleetConfig(calibration=CalibrationSettings(judge=JudgeSettings(mode="reasoned", consistency_runs=2,
                                                                               max_tokens=99)))
    items = JudgeProductionPhase().plan(ctx(["sim/j"], limit=1, config=config))
    assert len(items) == 2 and items[0].meta["judge_mode"] == "reasoned" and items[0].request.max_tokens == 99
    assert "explain your assessment" in items[0].request.messages[-1].content
    forced = JudgeProductionPhase().plan(ctx(["sim/j"], limit=1, config=config, judge_eval_mode="direct",
                                             consistency_runs=1))
    assert len(forced) == 1 and forced[0].meta["judge_mode"] == "direct"


@pytest.mark.parametrize(("options", "where"), [
    ({"judge_eval_mode": "chain-of-thought"}, "--judge-eval-mode"),
    ({"consistency_runs": 0}, "--consistency-runs"),
    ({"consistency_runs": "3"}, "--consistency-runs"),
    ({"production_judge_models": "not-a-model"}, "--production-judge-models"),
    ({"production_judge_models": " , "}, "--production-judge-models"),
])
def test_bad_options_name_the_flag(options: dict[str, object], where: str) -> None:
    with pytest.raises(InputError) as info:
        JudgeProductionPhase().plan(ctx(["sim/j"], given=options))
    assert info.value.where == where


def _source(path: Path, records: list[CallRecord], tail: bytes = b"") -> Path:
    path.write_bytes(b"".join(encode_line(r) for r in records) + tail)
    return path


def _gen(item: str, model: str, status: str = "ok", output: str = "Paris.", repeat: int = 0) -> CallRecord:
    return CallRecord(run_id="gen-run", phase="generation", item_id=item, model=model, status=status,  # type: ignore[arg-type]
                      output=output, repeat=repeat, extra={"question": f"question {item}?"})


def test_bench_plan_judges_each_ok_output(tmp_path: Path) -> None:
    source = _source(tmp_path / "results.jsonl", [
        _gen("a", "sim/g1"), _gen("a", "sim/g2"), _gen("b", "sim/g1", status="error", output=""),
        _gen("b", "sim/g2"), _gen("b", "sim/g2", repeat=1, output="Lyon.")], tail=b'{"run_id": "torn')
    items = JudgeBenchPhase().plan(ctx(source_run_results=str(source), judge_models="sim/j1,sim/j2",
                                       consistency_runs=2))
    assert len(items) == 4 * 2 * 2 and len({i.key for i in items}) == len(items)
    variants = {i.variant for i in items}
    assert variants == {"sim/g1", "sim/g2", "sim/g2#r1"}
    lyon = next(i for i in items if i.variant == "sim/g2#r1")
    assert "Lyon." in lyon.request.messages[-1].content and "question b?" in lyon.request.messages[-1].content
    assert lyon.meta["target_model"] == "sim/g2" and lyon.meta["target_repeat"] == 1
    limited = JudgeBenchPhase().plan(ctx(["sim/j"], limit=1, source_run_results=str(source), consistency_runs=1))
    assert {i.item_id for i in limited} == {"a"} and len(limited) == 2


def test_bench_source_problems_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        JudgeBenchPhase().plan(ctx(["sim/j"]))
    assert info.value.where == "source_run_results"
    (tmp_path / "broken").mkdir()
    broken = tmp_path / "broken" / "results.jsonl"
    broken.write_bytes(encode_line(_gen("a", "sim/g")) + b"not json\n" + encode_line(_gen("b", "sim/g")))
    with pytest.raises(InputError) as info:
        JudgeBenchPhase().plan(ctx(["sim/j"], source_run_results=str(broken.parent)))  # the run dir works too
    assert info.value.where == f"{broken}:2"
    failed = _source(tmp_path / "results.jsonl", [_gen("a", "sim/g", status="error")])
    with pytest.raises(InputError, match="no successful generation outputs"):
        JudgeBenchPhase().plan(ctx(["sim/j"], source_run_results=str(failed)))
    other = _source(tmp_path / "other.jsonl", [_gen("a", "sim/g")])
    with pytest.raises(InputError, match="expected a run directory"):
        JudgeBenchPhase().plan(ctx(["sim/j"], source_run_results=str(other)))
    with pytest.raises(InputError, match="source run not found"):
        JudgeBenchPhase().plan(ctx(["sim/j"], source_run_results=str(tmp_path / "nowhere")))


def test_the_lab_phases_are_registered_but_not_in_the_default_plan() -> None:
    from agents import phases

    assert {"generation", "judge-bench", "judge-production"} <= set(phases.PHASES)
    assert not {"generation", "judge-bench", "judge-production"} & set(phases.DEFAULT_ORDER)
    assert isinstance(phases.make_phase("judge-production"), JudgeProductionPhase)


# -- over real HTTP to the simulator -------------------------------------------------------

async def _run(phase: Phase, items: list[WorkItem], url: str) -> list[CallRecord]:
    provider = resolve_provider("sim", FleetConfig(), sim_url=url)
    core = LimiterCore(ProviderLimits(max_concurrent=8))

    def limiter_for(_: ResolvedProvider) -> Limiter:
        return core

    sink = ListSink()
    agent = PhaseAgent(phase, "run-j", items, {"sim": provider}, limiter_for,
                       RetryPolicy(base_delay_s=0.01, max_delay_s=0.05), sink, concurrency=8, worker="t", holder="h")
    await agent.run()
    assert len(sink.records) == len(items)
    return list(sink.records)


async def test_generation_then_judges_over_http(tmp_path: Path) -> None:
    limit, runs = 5, 2
    labels = [i.label for i in load_judge_dataset().chosen(limit)]
    bad, good = labels.count("bad"), labels.count("good")
    assert (bad, good) == (2, 3)
    with SimThread(load_sim_config(SIM_CONFIG)) as sim:
        gen_phase = GenerationPhase()
        gen_items = gen_phase.plan(ctx(["sim/gen-echo", "sim/gen-fixed"], limit=limit))
        generation = await _run(gen_phase, gen_items, sim.url)
        assert all(r.status == "ok" and r.extra["question"] for r in generation)
        echo = next(r for r in generation if r.model == "sim/gen-echo")
        assert echo.output == echo.extra["question"]  # the echo model repeats the question
        source = _source(tmp_path / "results.jsonl", generation)

        options: dict[str, object] = {"judge_models": JUDGES, "production_judge_models": JUDGES, "consistency_runs": runs,
                   "judge_eval_mode": "reasoned", "source_run_results": str(source)}
        bench_phase, prod_phase = JudgeBenchPhase(), JudgeProductionPhase()
        bench = await _run(bench_phase, bench_phase.plan(ctx(limit=limit, given=options)), sim.url)
        prod = await _run(prod_phase, prod_phase.plan(ctx(limit=limit, given=options)), sim.url)

    assert len(bench) == len(generation) * len(JUDGES) * runs and len(prod) == limit * len(JUDGES) * runs
    garbage = [r for r in bench + prod if r.model == "sim/judge-garbage"]
    assert garbage and all(r.status == "ok" and r.extra["judge_parsed"] is False for r in garbage)
    assert all(r.extra["judge_verdict"] is None and r.extra["parse_error"] == "no JSON object in the reply"
               for r in garbage)
    reasoned = [r for r in prod if r.model == "sim/judge-reasoned"]
    assert all(r.extra["judge_parsed"] is True and r.extra["judge_verdict"] == "good" for r in reasoned)

    def prod_of(judge: str) -> list[CallRecord]:
        return [r for r in prod if r.model == judge]

    strict = production_row("sim/judge-strict", prod_of("sim/judge-strict"))  # always "bad"
    assert (strict.tp, strict.fp, strict.tn, strict.fn) == (bad * runs, good * runs, 0, 0)
    assert strict.accuracy == pytest.approx(0.4) and strict.precision == pytest.approx(0.4)
    assert strict.recall == 1.0 and strict.f1 == pytest.approx(4 / 7) and strict.errors == 0
    lenient = production_row("sim/judge-reasoned", prod_of("sim/judge-reasoned"))  # always "good"
    assert (lenient.tp, lenient.fp, lenient.tn, lenient.fn) == (0, 0, good * runs, bad * runs)
    assert lenient.accuracy == pytest.approx(0.6) and lenient.precision is None and lenient.recall == 0.0
    broken = production_row("sim/judge-garbage", prod_of("sim/judge-garbage"))
    assert broken.errors == broken.n == limit * runs and broken.tp + broken.fp + broken.tn + broken.fn == 0
    assert strict.avg_latency_ms is not None and strict.avg_latency_ms >= 10  # the sim's ttft for this judge

    rows = {j: bench_row(j, [r for r in bench if r.model == j]) for j in JUDGES}
    assert rows["sim/judge-garbage"].error_rate == 1.0 and rows["sim/judge-garbage"].consistency is None
    assert rows["sim/judge-strict"].error_rate == 0.0 and rows["sim/judge-strict"].consistency == 1.0
    assert rows["sim/judge-strict"].n_items == len(generation)
    scores = target_scores(bench)
    assert scores[("sim/judge-strict", "sim/gen-echo")]["mean_judge_score"] == pytest.approx(normalise_score(2))
    assert scores[("sim/judge-reasoned", "sim/gen-fixed")]["good_rate"] == 1.0
    assert ("sim/judge-garbage", "sim/gen-echo") not in scores  # no verdict, no score

    prod_text = prod_phase.summary_section(prod)
    bench_text = bench_phase.summary_section(bench)
    assert prod_text is not None and bench_text is not None
    assert f"| sim/judge-strict | {limit * runs} | 0 | 40.0 | 40.0 | 100.0 | 57.1 |" in prod_text
    assert f"| sim/judge-garbage | no JSON object in the reply | {limit * runs} |" in prod_text
    assert f"| sim/judge-garbage | 10 | {DASH} | 100.0 |" in bench_text
    assert msgspec.json.encode(prod[0])  # records stay encodable with the judge extras


def test_generation_asks_the_chosen_datasets_questions(tmp_path: Path) -> None:
    data = tmp_path / "d.yaml"
    data.write_text("name: d\nitems:\n  - {id: x, question: 'Why?', answer: 'Because.', label: good}\n"
                    "  - {id: y, question: 'How?', answer: 'So.', label: bad}\n")
    items = GenerationPhase().plan(PlanContext(suites=[], models=[ModelRef.parse("sim/g")], config=FleetConfig(),
                                               repeat=2, options={"judge_dataset": str(data)}))
    assert [(i.item_id, i.repeat) for i in items] == [("x", 0), ("x", 1), ("y", 0), ("y", 1)]
    assert items[0].request.messages[-1].content == "Why?" and items[0].meta["question"] == "Why?"
    with pytest.raises(InputError) as info:
        GenerationPhase().plan(ctx(["sim/g"], judge_dataset=str(tmp_path / "missing.yaml")))
    assert "missing.yaml" in info.value.where


def test_judge_requests_carry_the_reply_schema_of_their_mode() -> None:
    from harness.seam import strict_schema_ok

    direct = JudgeProductionPhase().plan(ctx(limit=1, production_judge_models="sim/a", consistency_runs=1))
    reasoned = JudgeProductionPhase().plan(ctx(limit=1, production_judge_models="sim/a", consistency_runs=1,
                                               judge_eval_mode="reasoned"))
    d, r = direct[0].request.response_schema, reasoned[0].request.response_schema
    assert d is not None and r is not None
    assert d["required"] == ["score", "verdict"] and r["required"] == ["reasoning", "score", "verdict"]
    assert strict_schema_ok(d) and strict_schema_ok(r)
