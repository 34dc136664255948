"""The fault mix: the rate arithmetic, checked against the simulator's own fault engine and
its own Retry-After headers as the harness parses them (no server needed)."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from faultcheck.mix import (
    DEFAULT_FORMS,
    DEFAULT_SHARES,
    FaultShare,
    RetryAfterForm,
    arithmetic_lines,
    chained_rates,
    effective_shares,
    fault_rules,
)

from harness.retry_after import server_wait_s
from simulator.config import SimConfig
from simulator.faults import FaultEngine, retry_after_headers


def test_chained_rates_divide_each_share_by_what_the_rules_before_leave() -> None:
    rates = chained_rates([0.10, 0.05, 0.02, 0.01])
    assert rates == pytest.approx([0.10, 0.05 / 0.90, 0.02 / 0.85, 0.01 / 0.83])
    assert effective_shares(rates) == pytest.approx([0.10, 0.05, 0.02, 0.01])


def test_naive_rates_would_undershoot_every_rule_after_the_first() -> None:
    naive = effective_shares([0.10, 0.05, 0.02, 0.01])
    assert naive[1] == pytest.approx(0.045) and naive[3] < 0.01


def test_shares_beyond_one_or_negative_are_refused() -> None:
    with pytest.raises(ValueError, match="more than 1"):
        chained_rates([0.7, 0.4])
    with pytest.raises(ValueError, match="negative"):
        chained_rates([-0.1])
    assert chained_rates([0.5, 0.5]) == pytest.approx([0.5, 1.0])


def test_rules_are_a_valid_simulator_config_with_one_429_rule_per_form() -> None:
    rules = fault_rules(DEFAULT_FORMS, DEFAULT_SHARES, cut_after_tokens=2)
    config = SimConfig.model_validate({"faults": rules})
    limits = [r for r in config.faults if r.kind == "rate_limit"]
    assert {(r.model, r.retry_after_format) for r in limits} == {(f.model, f.fmt) for f in DEFAULT_FORMS}
    assert [r.kind for r in config.faults[len(limits):]] == ["server_error", "stream_cut", "malformed"]
    assert all(r.model is None for r in config.faults[len(limits):])


def test_the_simulators_engine_gives_every_model_the_wanted_shares() -> None:
    """40,000 seeded draws per model through simulator/faults.py (the same on every run):
    each share within 4.5 standard errors of its target."""
    rules = SimConfig.model_validate({"faults": fault_rules(DEFAULT_FORMS, DEFAULT_SHARES, 2)}).faults
    engine = FaultEngine(rules, seed=7)
    n = 40_000
    for form in DEFAULT_FORMS:
        fired: Counter[str | None] = Counter()
        for seq in range(1, n + 1):
            rule = engine.pick("openai", form.model, seq)
            fired[rule.kind if rule is not None else None] += 1
            if rule is not None and rule.kind == "rate_limit":
                assert rule.retry_after_format == form.fmt
        for share in DEFAULT_SHARES:
            bound = 4.5 * math.sqrt(share.share * (1 - share.share) / n)
            assert fired[share.kind] / n == pytest.approx(share.share, abs=bound), (form.model, share.kind)


def test_the_429_share_must_come_first() -> None:
    with pytest.raises(ValueError, match="first share"):
        fault_rules(DEFAULT_FORMS, [FaultShare("server_error", 0.05)], 2)
    with pytest.raises(ValueError, match="model of its own"):
        fault_rules([RetryAfterForm("seconds", "m", 1), RetryAfterForm("ms", "m", 0.2)], DEFAULT_SHARES, 2)


@pytest.mark.parametrize("form", [RetryAfterForm("seconds", "m", 1.0), RetryAfterForm("seconds", "m", 1.2),
                                  RetryAfterForm("ms", "m", 0.25), RetryAfterForm("ms", "m", 1.2345)])
def test_the_wait_the_audit_assumes_is_the_wait_the_simulator_states(form: RetryAfterForm) -> None:
    headers = retry_after_headers(form.seconds, form.fmt)
    assert server_wait_s(headers) == pytest.approx(form.header_wait_s())


def test_a_zero_wait_or_an_unknown_form_is_refused() -> None:
    with pytest.raises(ValueError, match="Retry-After of 0"):
        RetryAfterForm("seconds", "m", 0.0)
    with pytest.raises(ValueError, match="unknown Retry-After form"):
        RetryAfterForm("openai_reset", "m", 1.0)


def test_the_arithmetic_lines_state_each_rate_and_what_is_left() -> None:
    text = "\n".join(arithmetic_lines(DEFAULT_SHARES))
    assert "0.05 / (1 - 0.1) = 0.055556" in text
    assert "0.01 / (1 - 0.17) = 0.012048" in text
    assert "no fault     share 82.00 %" in text
