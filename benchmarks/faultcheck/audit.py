"""A fault run's records audited against the simulator's own ground truth.

Why ground truth and not the records alone: a record says what the client believed (its
attempt log, its status); only the simulator knows what it really sent (a 429, a cut
stream) and when each request really arrived. Records and truths meet on the request id
the simulator stamps on every response (`x-request-id`), which each attempt logs.

Early retry: a retry that reached the simulator before the moment its 429 allowed. That
moment is counted from the simulator's own stamp of the 429 (`headers_sent_ns`, taken
before aiohttp writes the buffered headers, so no client can have read the answer
earlier): plus the header's seconds or milliseconds; for an HTTP-date, the date itself,
mapped to the monotonic clock with the wall-minus-monotonic offset of this machine.
The date is whole seconds, taken when the server built the header, somewhere between the
request's arrival and that stamp; when those two ends give different dates (a second
boundary fell in between), the earlier date is used and the 429 counted as ambiguous.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from faultcheck.mix import RetryAfterForm
from harness.records import CallRecord, RecordKey
from simulator.truth import RequestTruth

CUT_OR_MALFORMED = frozenset({"stream_cut", "malformed"})
LIMITER_ERROR = "limiter_error"  # an attempt interrupted by our own limiter: never sent as logged


@dataclass(frozen=True)
class Allowed:
    """The earliest monotonic ns a retry may reach the server, and whether it is ambiguous."""

    ns: int
    ambiguous: bool = False


def allowed_retry_ns(truth: RequestTruth, form: RetryAfterForm, wall_minus_mono_s: float) -> Allowed:
    """When the 429 in `truth`, sent with `form`, allows the next request."""
    sent_ns = truth.headers_sent_ns if truth.headers_sent_ns is not None else truth.arrival_ns
    if form.fmt in ("seconds", "ms"):
        return Allowed(sent_ns + round(form.header_wait_s() * 1e9))
    earliest = math.floor(truth.arrival_ns / 1e9 + wall_minus_mono_s + form.seconds)
    latest = math.floor(sent_ns / 1e9 + wall_minus_mono_s + form.seconds)
    return Allowed(round((earliest - wall_minus_mono_s) * 1e9), ambiguous=earliest != latest)


@dataclass(frozen=True)
class EarlyRetry:
    key: RecordKey
    rate_limited: str  # request id of the 429
    retry: str  # request id of the retry that came too soon
    early_ms: float


@dataclass
class RetryAudit:
    """Every retry that followed a 429, checked against the moment that 429 allowed."""

    checked: int = 0
    early: list[EarlyRetry] = field(default_factory=list)
    unchecked: int = 0  # a retry followed, but the 429 or the retry is unknown to the simulator
    ambiguous_dates: int = 0
    margins_ms: dict[str, list[float]] = field(default_factory=dict)  # per form: retry arrival - allowed


def _sent_attempts(record: CallRecord) -> list[str | None]:
    """Request ids of the attempts that were the provider's (our own limiter's excluded)."""
    return [a.request_id for a in record.attempt_log if a.error_class != LIMITER_ERROR]


def audit_retries(records: Iterable[CallRecord], truths: Mapping[str, RequestTruth],
                  forms: Mapping[str, RetryAfterForm], wall_minus_mono_s: float) -> RetryAudit:
    """`forms` maps a simulator model id to the Retry-After form its 429s carry."""
    audit = RetryAudit()
    for record in records:
        ids = _sent_attempts(record)
        for before, after in itertools.pairwise(ids):
            first = truths.get(before) if before else None
            if first is None:
                if any(a.request_id == before and a.error_class == "rate_limit" for a in record.attempt_log):
                    audit.unchecked += 1
                continue
            if first.fault != "rate_limit" or first.status != 429:
                continue
            second = truths.get(after) if after else None
            form = forms.get(first.model)
            if second is None or form is None:
                audit.unchecked += 1
                continue
            allowed = allowed_retry_ns(first, form, wall_minus_mono_s)
            audit.checked += 1
            audit.ambiguous_dates += allowed.ambiguous
            margin_ms = (second.arrival_ns - allowed.ns) / 1e6
            audit.margins_ms.setdefault(form.fmt, []).append(margin_ms)
            if margin_ms < 0:
                audit.early.append(EarlyRetry(record.key, first.request_id, second.request_id, -margin_ms))
    return audit


@dataclass
class OkAudit:
    """Ok records checked against what the simulator really sent for their answer."""

    faulted_ok: Counter[str] = field(default_factory=Counter)  # fault kind -> ok records answered by it
    unknown_ok: int = 0  # ok records whose answer the simulator has no request for

    @property
    def cut_or_malformed_ok(self) -> int:
        return sum(n for kind, n in self.faulted_ok.items() if kind in CUT_OR_MALFORMED)


def audit_ok(records: Iterable[CallRecord], truths: Mapping[str, RequestTruth]) -> OkAudit:
    audit = OkAudit()
    for record in records:
        if record.status != "ok":
            continue
        truth = truths.get(record.request_id) if record.request_id else None
        if truth is None:
            audit.unknown_ok += 1
        elif truth.fault is not None and truth.fault != "hang":
            audit.faulted_ok[truth.fault] += 1
    return audit


@dataclass(frozen=True)
class KeyAudit:
    planned: int
    recorded: int  # distinct keys with a record
    lost: list[RecordKey]  # planned, no record
    duplicated: dict[RecordKey, int]  # key -> records (more than one)
    unplanned: int  # records of keys nobody planned


def audit_keys(planned: Iterable[RecordKey], records: Sequence[CallRecord]) -> KeyAudit:
    wanted = set(planned)
    counts = Counter(record.key for record in records)
    return KeyAudit(planned=len(wanted), recorded=len(counts),
                    lost=sorted(wanted - counts.keys()),
                    duplicated={key: n for key, n in counts.items() if n > 1},
                    unplanned=sum(1 for key in counts if key not in wanted))


def attempts_histogram(records: Iterable[CallRecord]) -> dict[int, int]:
    """Records per number of attempts (the provider's own; limiter interruptions are not attempts)."""
    return dict(sorted(Counter(record.attempts for record in records).items()))


def unaccounted_requests(records: Iterable[CallRecord], truths: Mapping[str, RequestTruth]) -> int:
    """Requests the simulator served that no record's attempt log names (an attempt whose
    permit our limiter took back mid-flight is logged without an id, for one)."""
    named = {a.request_id for record in records for a in record.attempt_log if a.request_id}
    return sum(1 for request_id in truths if request_id not in named)
