"""The fault mix: which share of requests each fault takes, and the rule rates that give it.

Why arithmetic: the simulator tries its rules in order and the first that fires wins
(simulator/faults.py), and a rule draws only when no rule before it fired. Rule i with
rate r_i therefore fires on r_i * (1 - r_1) * ... * (1 - r_{i-1}) of requests, so for a
wanted share s_i the rate is r_i = s_i / (1 - s_1 - ... - s_{i-1}).

Why one model per Retry-After form: the simulator's ground truth names a fault's kind
(`rate_limit`) and the model, not the header it sent. Giving each form its own model (a
`model:` on the rule) tells the audit, from the truth alone, which form a 429 carried and
so the moment it allowed a retry. A rule for another model is skipped without a draw, so
every model sees the same chain: its own 429 rule, then 5xx, stream cut, malformed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Only the simulator's `retry_after_format`s a Retry-After (or retry-after-ms) header carries.
RETRY_AFTER_FORMATS = ("seconds", "http_date", "ms")


@dataclass(frozen=True)
class RetryAfterForm:
    """One way a 429 says how long to wait, served by its own simulator model."""

    fmt: str  # a RETRY_AFTER_FORMATS value
    model: str  # the simulator's model id (a run names it `sim/<model>`)
    seconds: float  # the simulator's `retry_after_s`

    def __post_init__(self) -> None:
        if self.fmt not in RETRY_AFTER_FORMATS:
            raise ValueError(f"unknown Retry-After form {self.fmt!r} (known: {', '.join(RETRY_AFTER_FORMATS)})")
        if self.seconds <= 0:
            raise ValueError("a Retry-After of 0 allows any retry at once: nothing to check")

    def header_wait_s(self) -> float:
        """The wait the header itself states: seconds are sent rounded up to a whole number,
        milliseconds rounded (simulator/faults.py retry_after_headers); an HTTP-date is
        whole seconds too, so it allows a retry somewhere in (seconds - 1, seconds]."""
        if self.fmt == "seconds":
            return float(math.ceil(self.seconds))
        if self.fmt == "ms":
            return round(self.seconds * 1000) / 1000.0
        return self.seconds


@dataclass(frozen=True)
class FaultShare:
    """A fault kind and the share of every model's requests it should take."""

    kind: str  # a simulator FaultKind
    share: float


DEFAULT_FORMS = (
    RetryAfterForm("seconds", "faults-retry-seconds", 1.0),
    RetryAfterForm("http_date", "faults-retry-http-date", 1.0),
    RetryAfterForm("ms", "faults-retry-ms", 0.25),
)
# the 429 first: its rule is per model, the rest are shared by every model in this order
DEFAULT_SHARES = (
    FaultShare("rate_limit", 0.10),
    FaultShare("server_error", 0.05),
    FaultShare("stream_cut", 0.02),
    FaultShare("malformed", 0.01),
)


def chained_rates(shares: Sequence[float]) -> list[float]:
    """Rule rates giving these effective shares when tried in order, first firing wins."""
    rates: list[float] = []
    left = 1.0
    for share in shares:
        if share < 0:
            raise ValueError(f"a share cannot be negative: {share}")
        if share > left + 1e-12:
            raise ValueError(f"the shares add up to more than 1 (at {share}, {left:.6g} left)")
        rates.append(min(1.0, share / left) if left > 0 else 0.0)
        left -= share
    return rates


def effective_shares(rates: Sequence[float]) -> list[float]:
    """The share of requests each rule takes, rules tried in order and the first firing winning."""
    shares: list[float] = []
    untouched = 1.0
    for rate in rates:
        if not 0 <= rate <= 1:
            raise ValueError(f"a rate must be within [0, 1]: {rate}")
        shares.append(untouched * rate)
        untouched *= 1 - rate
    return shares


def fault_rules(forms: Sequence[RetryAfterForm], shares: Sequence[FaultShare],
                cut_after_tokens: int) -> list[dict[str, Any]]:
    """The simulator's `faults:` list. The first share must be the 429's (one rule per form
    and its model); the others apply to every model."""
    if not shares or shares[0].kind != "rate_limit":
        raise ValueError("the first share must be rate_limit (its rules carry the Retry-After forms)")
    if len({form.model for form in forms}) != len(forms):
        raise ValueError("each Retry-After form needs a model of its own")
    rates = chained_rates([s.share for s in shares])
    rules: list[dict[str, Any]] = [
        {"kind": "rate_limit", "rate": rates[0], "model": form.model, "retry_after_s": form.seconds,
         "retry_after_format": form.fmt} for form in forms]
    for share, rate in zip(shares[1:], rates[1:], strict=True):
        rule: dict[str, Any] = {"kind": share.kind, "rate": rate}
        if share.kind == "stream_cut":
            rule["cut_after_tokens"] = cut_after_tokens
        rules.append(rule)
    return rules


def arithmetic_lines(shares: Sequence[FaultShare]) -> list[str]:
    """The rate arithmetic, one line per rule, for the benchmark's output and its README."""
    rates = chained_rates([s.share for s in shares])
    lines = []
    before = 0.0
    for share, rate, effective in zip(shares, rates, effective_shares(rates), strict=True):
        lines.append(f"{share.kind:<12} share {100 * share.share:5.2f} %: rate = {share.share:g} / (1 - {before:g})"
                     f" = {rate:.6f} -> effective {100 * effective:5.2f} %")
        before = round(before + share.share, 12)
    lines.append(f"{'no fault':<12} share {100 * (1 - before):5.2f} %")
    return lines
