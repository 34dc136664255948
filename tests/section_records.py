"""Records for every phase with a section, varied the way real ones are (statuses, extras,
variants, repeated keys), for the section-merge and aggregate tests."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from agents.phases.stages import STAGES
from agents.phases.tool_use import VARIANTS
from harness.records import CallRecord
from harness.tool_scoring import FAILURE_CLASSES

Maker = Callable[[random.Random, int], dict[str, Any]]


def _constraints(rng: random.Random) -> dict[str, Any]:
    results = [{"type": t, "passed": rng.random() < 0.6, "detail": rng.choice(["not valid JSON: line 1", "fenced", None])}
               for t in rng.sample(["json", "regex", "max_words"], 2)]
    return {"constraints": results, "adherence": sum(c["passed"] for c in results) / len(results)}


def _baseline(rng: random.Random, i: int) -> dict[str, Any]:
    return {"extra": _constraints(rng) if rng.random() < 0.8 else {}}


def _long_context(rng: random.Random, i: int) -> dict[str, Any]:
    tokens, depth = rng.choice([2048, 8192, 32768]), rng.choice([0, 50, 100])
    variant = {2048: "2k", 8192: "8k", 32768: "32k"}[tokens] + ("" if depth == 100 else f"@{depth}%")
    extra = {"context_tokens": tokens, "payload_depth": depth, **_constraints(rng)}
    return {"variant": variant, "extra": extra, "input_tokens": tokens - rng.randint(0, 90),
            "error_class": rng.choice(["context_overflow", "timeout"])}


def _streaming(rng: random.Random, i: int) -> dict[str, Any]:
    return {"itl_p50_ms": rng.uniform(0.1, 30), "output_tokens": rng.choice([1, 2, 12, 40]), "extra": _constraints(rng)}


def _stages(rng: random.Random, i: int) -> dict[str, Any]:
    return {"variant": rng.choice([*STAGES, "not-a-stage"]), "output_tokens": rng.choice([None, 5, 33]),
            **_baseline(rng, i)}


def _calibration(rng: random.Random, i: int) -> dict[str, Any]:
    total = rng.choice([None, 12.5, 40.0, 100.0])
    return {"category": rng.choice(["code", "data"]), "extra": {"rubric": {"total": total}} if total else {}}


def _judge(rng: random.Random, i: int) -> dict[str, Any]:
    parsed = rng.random() < 0.7
    raw = rng.randint(1, 10) if parsed else None
    extra = {"judge_parsed": parsed, "judge_verdict": rng.choice(["good", "bad"]) if parsed else None,
             "judge_score": None if raw is None else raw * 10.0, "judge_raw_score": raw,
             "parse_error": None if parsed else rng.choice(["no JSON object in the reply", "score out of range"]),
             "expected": rng.choice(["good", "bad"]), "target_model": rng.choice(["sim/g1", "sim/g2"])}
    return {"variant": rng.choice(["sim/g1", "sim/g2#r1"]), "repeat": i % 3, "item_id": f"q{i % 7}", "extra": extra}


def _tool_use(rng: random.Random, i: int) -> dict[str, Any]:
    """Every variant on the same (item, repeat) keys (paired), some keys answered twice."""
    passed = rng.random() < 0.5
    return {"variant": VARIANTS[i % 4], "item_id": f"t{(i // 4) % 9}", "repeat": (i // 36) % 3,
            "extra": {"tool_passed": passed, "tool_failure": None if passed else rng.choice(FAILURE_CLASSES)}}


CASES: dict[str, Maker] = {
    "baseline": _baseline, "claude-runs": _baseline, "codex-retry": _baseline, "stages": _stages,
    "calibration": _calibration, "long-context": _long_context, "streaming-ttft": _streaming,
    "judge-production": _judge, "judge-bench": _judge, "tool-use": _tool_use,
}


def records_for(phase: str, n: int = 160, seed: int = 11, run_id: str = "r") -> list[CallRecord]:
    rng = random.Random(f"{phase}-{seed}")
    out: list[CallRecord] = []
    for i in range(n):
        status = rng.choice(["ok", "ok", "ok", "error", "skipped"])
        fields: dict[str, Any] = {"item_id": f"item-{i % 13}", "repeat": i // 13, "variant": "",
                                  "error_class": rng.choice(["timeout", "rate_limited"]), **CASES[phase](rng, i)}
        ok = status == "ok"
        ttft = rng.uniform(5, 900)
        out.append(CallRecord(
            run_id=run_id, phase=phase, model=rng.choice(["sim/a", "sim/b", "local/c"]), status=status,  # type: ignore[arg-type]
            ttft_ms=ttft if ok and rng.random() < 0.9 else None, e2e_ms=ttft + rng.uniform(10, 3000) if ok else None,
            first_token_ms=ttft * rng.uniform(0.2, 1) if ok and rng.random() < 0.5 else None,
            reasoning_ms=rng.uniform(5, 400) if ok and rng.random() < 0.3 else None,
            reasoning_tokens=rng.choice([None, 0, 64]),
            **{**fields, "extra": fields["extra"] if ok else {}, "error_class": None if ok else fields["error_class"]}))
    return out
