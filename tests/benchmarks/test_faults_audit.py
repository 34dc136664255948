"""The fault audit against synthetic ground truth: early retries for each Retry-After form,
faulted streams recorded ok, lost and duplicated keys, and the checks' blind spots."""

from __future__ import annotations

import pytest
from faultcheck.audit import allowed_retry_ns, attempts_histogram, audit_keys, audit_ok, audit_retries
from faultcheck.mix import RetryAfterForm
from faultcheck.report import figures, lines

from harness.records import AttemptInfo, CallRecord, record_key
from simulator.truth import RequestTruth

S = 1_000_000_000
OFFSET = 1_700_000_000.0  # wall minus monotonic, seconds
FORMS = {"m-seconds": RetryAfterForm("seconds", "m-seconds", 1.0),
         "m-date": RetryAfterForm("http_date", "m-date", 1.0),
         "m-ms": RetryAfterForm("ms", "m-ms", 0.25)}


def truth(rid: str, model: str, arrival_ns: int, *, sent_ns: int | None = None, fault: str | None = None,
          status: int = 200) -> RequestTruth:
    return RequestTruth(seq=0, model_seq=0, request_id=rid, api="openai", model=model, stream=True,
                        arrival_ns=arrival_ns, headers_sent_ns=sent_ns if sent_ns is not None else arrival_ns,
                        status=status, fault=fault)


def limited(rid: str, model: str, arrival_ns: int, sent_ns: int | None = None) -> RequestTruth:
    return truth(rid, model, arrival_ns, sent_ns=sent_ns, fault="rate_limit", status=429)


def record(item: str, attempts: list[tuple[str | None, str | None]], status: str = "ok",
           model: str = "sim/m-seconds", request_id: str | None = None) -> CallRecord:
    log = [AttemptInfo(attempt=i + 1, request_id=rid, error_class=err) for i, (rid, err) in enumerate(attempts)]
    final = request_id if request_id is not None else (attempts[-1][0] if status == "ok" else None)
    return CallRecord(run_id="r", phase="baseline", item_id=item, model=model, status=status,  # type: ignore[arg-type]
                      attempts=len([a for a in attempts if a[1] != "limiter_error"]), attempt_log=log,
                      request_id=final)


def by_id(*truths: RequestTruth) -> dict[str, RequestTruth]:
    return {t.request_id: t for t in truths}


@pytest.mark.parametrize(("model", "wait_ns"), [("m-seconds", S), ("m-ms", S // 4)])
def test_a_retry_one_ms_before_the_stated_wait_is_early_and_at_it_is_not(model: str, wait_ns: int) -> None:
    sent = 10 * S + 3_000_000
    truths = by_id(limited("sim-1", model, 10 * S, sent), truth("sim-2", model, sent + wait_ns - 1_000_000),
                   limited("sim-3", model, 20 * S, 20 * S), truth("sim-4", model, 20 * S + wait_ns))
    records = [record("a", [("sim-1", "rate_limit"), ("sim-2", None)]),
               record("b", [("sim-3", "rate_limit"), ("sim-4", None)])]
    audit = audit_retries(records, truths, FORMS, OFFSET)
    assert audit.checked == 2
    assert [(e.rate_limited, e.retry) for e in audit.early] == [("sim-1", "sim-2")]
    assert audit.early[0].early_ms == pytest.approx(1.0)
    assert sorted(audit.margins_ms[FORMS[model].fmt]) == pytest.approx([-1.0, 0.0])


def test_the_wait_counts_from_the_429s_own_stamp_not_from_its_arrival() -> None:
    # the server took 400 ms to answer: a retry 1 s after the arrival is still early
    truths = by_id(limited("sim-1", "m-seconds", 10 * S, 10 * S + 400_000_000),
                   truth("sim-2", "m-seconds", 11 * S + 100_000_000))
    audit = audit_retries([record("a", [("sim-1", "rate_limit"), ("sim-2", None)])], truths, FORMS, OFFSET)
    assert len(audit.early) == 1 and audit.early[0].early_ms == pytest.approx(300.0)


def test_an_http_date_allows_the_whole_second_it_names() -> None:
    # arrival at wall 1000.3 s: the date says 1001 (whole seconds), so 1000.99 is early, 1001.0 is not
    arrival = 5 * S + 300_000_000  # monotonic 5.3 s; wall = 5.3 + offset
    offset = 995.0  # wall 1000.3 s at the arrival
    allowed = allowed_retry_ns(limited("sim-1", "m-date", arrival, arrival + 1_000_000), FORMS["m-date"], offset)
    assert not allowed.ambiguous
    assert allowed.ns == 6 * S  # wall 1001.0
    truths = by_id(limited("sim-1", "m-date", arrival, arrival + 1_000_000), truth("sim-2", "m-date", 6 * S - 10_000_000),
                   limited("sim-3", "m-date", arrival, arrival + 1_000_000), truth("sim-4", "m-date", 6 * S))
    audit = audit_retries([record("a", [("sim-1", "rate_limit"), ("sim-2", None)], model="sim/m-date"),
                           record("b", [("sim-3", "rate_limit"), ("sim-4", None)], model="sim/m-date")],
                          truths, FORMS, offset)
    assert [e.retry for e in audit.early] == ["sim-2"]


def test_a_date_on_a_second_boundary_takes_the_earlier_second_and_says_so() -> None:
    offset = 995.0
    arrival, sent = round(4.9995 * S), round(5.0005 * S)  # wall 999.9995 and 1000.0005
    allowed = allowed_retry_ns(limited("sim-1", "m-date", arrival, sent), FORMS["m-date"], offset)
    assert allowed.ambiguous and allowed.ns == 5 * S  # wall 1000, never the later 1001


def test_our_own_limiter_interruptions_do_not_break_the_pairing() -> None:
    truths = by_id(limited("sim-1", "m-seconds", 10 * S), truth("sim-2", "m-seconds", 10 * S + 500_000_000))
    rec = record("a", [("sim-1", "rate_limit"), (None, "limiter_error"), ("sim-2", None)])
    audit = audit_retries([rec], truths, FORMS, OFFSET)
    assert audit.checked == 1 and len(audit.early) == 1 and audit.unchecked == 0


def test_a_retry_the_simulator_cannot_place_is_a_blind_spot_not_a_pass() -> None:
    truths = by_id(limited("sim-1", "m-seconds", 10 * S))
    audit = audit_retries([record("a", [("sim-1", "rate_limit"), (None, "server_error")], status="error"),
                           record("b", [(None, "rate_limit"), ("sim-1", None)])], truths, FORMS, OFFSET)
    assert audit.checked == 0 and audit.unchecked == 2


def test_only_429s_set_a_wait() -> None:
    truths = by_id(truth("sim-1", "m-seconds", 10 * S, fault="server_error", status=500),
                   truth("sim-2", "m-seconds", 10 * S + 1_000_000))
    audit = audit_retries([record("a", [("sim-1", "server_error"), ("sim-2", None)])], truths, FORMS, OFFSET)
    assert audit.checked == 0 and not audit.early


def test_ok_records_answered_by_a_cut_or_malformed_stream_are_counted() -> None:
    truths = by_id(truth("sim-1", "m-ms", S, fault="stream_cut"), truth("sim-2", "m-ms", S, fault="malformed"),
                   truth("sim-3", "m-ms", S), truth("sim-4", "m-ms", S, fault="stream_cut"))
    records = [record("a", [("sim-1", None)]), record("b", [("sim-2", None)]), record("c", [("sim-3", None)]),
               record("d", [("sim-4", "stream_cut")], status="error"), record("e", [("sim-9", None)])]
    audit = audit_ok(records, truths)
    assert audit.cut_or_malformed_ok == 2 and dict(audit.faulted_ok) == {"stream_cut": 1, "malformed": 1}
    assert audit.unknown_ok == 1


def test_lost_duplicated_and_unplanned_keys() -> None:
    planned = [record_key("baseline", item, "sim/m-seconds", "", 0) for item in ("a", "b", "c")]
    records = [record("a", [("sim-1", None)]), record("a", [("sim-2", None)]), record("b", [("sim-3", None)]),
               record("z", [("sim-4", None)])]
    keys = audit_keys(planned, records)
    assert keys.lost == [planned[2]]
    assert keys.duplicated == {planned[0]: 2}
    assert keys.unplanned == 1 and keys.recorded == 3


def test_attempts_histogram_counts_records_per_attempt_count() -> None:
    records = [record("a", [("1", None)]), record("b", [("2", "rate_limit"), ("3", None)]), record("c", [("4", None)])]
    assert attempts_histogram(records) == {1: 2, 2: 1}


def test_the_verdict_fails_on_any_must_be_zero_figure_and_on_a_blind_spot() -> None:
    planned = [record_key("baseline", "a", "sim/m-seconds", "", 0)]
    clean = by_id(limited("sim-1", "m-seconds", 10 * S), truth("sim-2", "m-seconds", 11 * S + 1))
    ok = figures([record("a", [("sim-1", "rate_limit"), ("sim-2", None)])], list(clean.values()), planned, FORMS,
                 OFFSET)
    assert ok.passed and ok.attempts_per_record == {2: 1}
    assert "early retries                    0   must be 0: ok" in "\n".join(lines(ok, 1.0))
    early = by_id(limited("sim-1", "m-seconds", 10 * S), truth("sim-2", "m-seconds", 10 * S + 1))
    failed = figures([record("a", [("sim-1", "rate_limit"), ("sim-2", None)])], list(early.values()), planned, FORMS,
                     OFFSET)
    assert not failed.passed and failed.must_be_zero()["early retries"] == 1
    assert "FAILED" in "\n".join(lines(failed, 1.0))
    blind = figures([record("a", [("sim-7", None)])], list(clean.values()), planned, FORMS, OFFSET)
    assert not any(blind.must_be_zero().values()) and not blind.passed
