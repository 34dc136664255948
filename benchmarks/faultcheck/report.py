"""The fault benchmark's figures from one run, its printed lines, and its verdict.

Why a verdict in code: the must-be-0 figures are the benchmark's point, so the exit
status comes from them (and from the checks' blind spots: a check that could not see
part of the run has proved nothing about that part), never from reading the output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import msgspec
from scipy import stats
from sidebyside.figures import percentile

from faultcheck.audit import (
    attempts_histogram,
    audit_keys,
    audit_ok,
    audit_retries,
    unaccounted_requests,
)
from faultcheck.mix import RetryAfterForm
from harness.records import CallRecord, RecordKey
from simulator.truth import RequestTruth

CONFIDENCE = 0.95


class Share(msgspec.Struct, frozen=True, kw_only=True):
    """k of n, with the exact (Clopper-Pearson) interval."""

    k: int
    n: int
    lo: float
    hi: float

    @property
    def point(self) -> float:
        return self.k / self.n if self.n else 0.0


def share(k: int, n: int) -> Share:
    if n == 0:
        return Share(k=0, n=0, lo=0.0, hi=1.0)
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=CONFIDENCE, method="exact")
    return Share(k=k, n=n, lo=float(ci.low), hi=float(ci.high))


class FaultFigures(msgspec.Struct, kw_only=True):
    records: int
    statuses: dict[str, int]  # "ok", "error: <class>"
    attempts_total: int
    attempts_per_record: dict[int, int]
    sim_requests: int
    sim_faults: dict[str, Share]  # fault kind (rate_limit by form) -> share of the simulator's requests
    retries_after_429: int
    early_retries: int
    early_examples: list[str]
    early_margin_min_ms: dict[str, float]  # per form: the closest any retry came to its allowed moment
    early_margin_p50_ms: dict[str, float | None]
    ambiguous_dates: int
    retries_unchecked: int
    faulted_ok: dict[str, int]
    cut_or_malformed_ok: int
    ok_unknown_to_sim: int
    planned_keys: int
    lost_keys: int
    lost_examples: list[str]
    duplicated_keys: int
    duplicated_examples: list[str]
    unplanned_keys: int
    unaccounted_requests: int

    def must_be_zero(self) -> dict[str, int]:
        return {"early retries": self.early_retries, "cut or malformed streams recorded ok": self.cut_or_malformed_ok,
                "lost keys": self.lost_keys, "duplicated keys": self.duplicated_keys}

    def blind_spots(self) -> dict[str, int]:
        return {"retries after a 429 the simulator cannot place": self.retries_unchecked,
                "ok records the simulator has no request for": self.ok_unknown_to_sim}

    @property
    def passed(self) -> bool:
        return not any(self.must_be_zero().values()) and not any(self.blind_spots().values())


def _sim_faults(truths: Sequence[RequestTruth], forms: Mapping[str, RetryAfterForm]) -> dict[str, Share]:
    counts: Counter[str] = Counter()
    for truth in truths:
        if truth.fault == "rate_limit":
            form = forms.get(truth.model)
            counts[f"rate_limit ({form.fmt if form else 'unknown form'})"] += 1
            counts["rate_limit"] += 1
        elif truth.fault is not None:
            counts[truth.fault] += 1
    return {kind: share(n, len(truths)) for kind, n in sorted(counts.items())}


def figures(records: Sequence[CallRecord], truths: Sequence[RequestTruth], planned: Sequence[RecordKey],
            forms: Mapping[str, RetryAfterForm], wall_minus_mono_s: float) -> FaultFigures:
    by_id = {truth.request_id: truth for truth in truths}
    retries = audit_retries(records, by_id, forms, wall_minus_mono_s)
    ok = audit_ok(records, by_id)
    keys = audit_keys(planned, records)
    statuses = Counter(r.status if r.status == "ok" else f"{r.status}: {r.error_class}" for r in records)
    return FaultFigures(
        records=len(records), statuses=dict(statuses.most_common()),
        attempts_total=sum(r.attempts for r in records), attempts_per_record=attempts_histogram(records),
        sim_requests=len(truths), sim_faults=_sim_faults(truths, forms),
        retries_after_429=retries.checked + retries.unchecked, early_retries=len(retries.early),
        early_examples=[f"{e.key}: {e.retry} came {e.early_ms:.1f} ms before {e.rate_limited} allowed"
                        for e in retries.early[:5]],
        early_margin_min_ms={fmt: min(m) for fmt, m in sorted(retries.margins_ms.items())},
        early_margin_p50_ms={fmt: percentile(m, 50).point for fmt, m in sorted(retries.margins_ms.items())},
        ambiguous_dates=retries.ambiguous_dates, retries_unchecked=retries.unchecked,
        faulted_ok=dict(ok.faulted_ok), cut_or_malformed_ok=ok.cut_or_malformed_ok, ok_unknown_to_sim=ok.unknown_ok,
        planned_keys=keys.planned, lost_keys=len(keys.lost), lost_examples=[str(k) for k in keys.lost[:5]],
        duplicated_keys=len(keys.duplicated),
        duplicated_examples=[f"{k} x{n}" for k, n in list(keys.duplicated.items())[:5]],
        unplanned_keys=keys.unplanned, unaccounted_requests=unaccounted_requests(records, by_id))


def _pct(s: Share) -> str:
    return f"{100 * s.point:.2f} % [{100 * s.lo:.2f}, {100 * s.hi:.2f}]"


def _zero(label: str, value: int) -> str:
    return f"{label:<26}{value:>8}   must be 0: {'ok' if value == 0 else 'FAILED'}"


def lines(f: FaultFigures, wall_s: float) -> list[str]:
    hist = ", ".join(f"{attempts}: {n}" for attempts, n in f.attempts_per_record.items())
    statuses = ", ".join(f"{status} {n}" for status, n in f.statuses.items())
    faults = "; ".join(f"{kind} {s.k} = {_pct(s)}" for kind, s in f.sim_faults.items())
    margins = ", ".join(f"{fmt} {m:+.1f} ms (p50 {f.early_margin_p50_ms.get(fmt) or 0:+.0f})"
                        for fmt, m in f.early_margin_min_ms.items())
    out = [
        f"{'records':<26}{f.records:>8}   ({statuses})",
        f"{'attempts':<26}{f.attempts_total:>8}   per record: {hist}",
        f"{'simulator requests':<26}{f.sim_requests:>8}   {faults} (95 % exact intervals)",
        _zero("early retries", f.early_retries)
        + f"   ({f.retries_after_429} retries after a 429; closest to the allowed moment: {margins or 'none'};"
          f" {f.ambiguous_dates} HTTP-dates on a second boundary, taken at the earlier second)",
        _zero("cut/malformed recorded ok", f.cut_or_malformed_ok)
        + f"   (ok records answered by a faulted request, any kind: {sum(f.faulted_ok.values())})",
        _zero("lost keys", f.lost_keys) + f"   ({f.planned_keys} planned, {f.unplanned_keys} unplanned records)",
        _zero("duplicated keys", f.duplicated_keys),
        f"{'wall time':<26}{wall_s:>8.1f} s",
    ]
    out += [f"  early: {example}" for example in f.early_examples]
    out += [f"  lost: {example}" for example in f.lost_examples]
    out += [f"  duplicated: {example}" for example in f.duplicated_examples]
    for label, value in f.blind_spots().items():
        if value:
            out.append(f"blind spot: {value} {label} (the checks above could not see them)")
    if f.unaccounted_requests:
        out.append(f"note: {f.unaccounted_requests} simulator requests no record's attempt log names")
    return out
