"""The archive's JSON line stays flat and readable both ways across the shared timing struct.

Why a literal line: `OLD_LINE` was written by the record code before the timing fields
moved into `CallTiming`; archives full of such lines exist, and old code must read the
lines new code writes, so both directions are checked against that literal.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from harness.call import CallOutcome
from harness.records import CallRecord, decode_line, encode_line
from harness.timing import TIMING_FIELDS, CallClock, CallTiming, copy_timing

OLD_LINE = (
    '{"run_id":"2026-12-01T10-00-00-ab12","phase":"baseline","item_id":"json-01","model":"sim/a",'
    '"variant":"","repeat":1,"category":"json","status":"ok","error_class":null,"error_message":null,'
    '"attempts":2,"ttfb_ms":3.5,"ttft_ms":51.25,"e2e_ms":88.0,"itl_p50_ms":5.0,"itl_p95_ms":6.5,'
    '"client_overhead_ms":0.25,"input_tokens":12,"output_tokens":8,"reasoning_tokens":null,'
    '"cost_usd":0.0001,"output":"{\\"route\\": \\"search\\"}","streamed":true,"answered_by":"sim/a",'
    '"request_id":"sim-7","started_at":1764583200.5,"worker":"baseline-0","attempt_log":[{"attempt":1,'
    '"error_class":"server_error","status":500,"request_id":"sim-6","retry_after_s":null,"waited_s":0.05},'
    '{"attempt":2,"error_class":null,"status":null,"request_id":"sim-7","retry_after_s":null,'
    '"waited_s":0.0}],"extra":{"adherence":true}}'
)
# fields added after OLD_LINE was written: absent there, null or a number in new lines
ADDED_FIELDS: frozenset[str] = frozenset({"first_token_ms", "reasoning_ms", "schedule_lag_ms"})


def test_an_old_line_decodes_with_every_value() -> None:
    record = decode_line(OLD_LINE)
    assert (record.ttft_ms, record.itl_p95_ms, record.client_overhead_ms) == (51.25, 6.5, 0.25)
    assert record.attempt_log[0].status == 500 and record.extra == {"adherence": True}
    assert all(getattr(record, name) is None for name in ADDED_FIELDS)


def test_a_new_line_has_the_old_flat_keys_and_values() -> None:
    old: dict[str, Any] = json.loads(OLD_LINE)
    new: dict[str, Any] = json.loads(encode_line(decode_line(OLD_LINE)))
    assert set(new) - set(old) == ADDED_FIELDS  # nothing renamed, nothing nested
    assert {k: new[k] for k in old} == old
    assert all(new[k] is None or isinstance(new[k], (int, float)) for k in ADDED_FIELDS)


def test_old_code_reads_a_new_line() -> None:
    """Old code's decoder is a Struct with exactly the old keys (msgspec ignores unknown
    keys unless told otherwise, and `CallRecord` never told it)."""
    old: dict[str, Any] = json.loads(OLD_LINE)
    shape = msgspec.defstruct("OldRecord", [(k, Any) for k in old], kw_only=True)
    line = encode_line(decode_line(OLD_LINE))
    assert msgspec.to_builtins(msgspec.json.decode(line, type=shape)) == old
    assert not CallRecord.__struct_config__.forbid_unknown_fields


def test_timing_is_declared_once_and_copied_whole() -> None:
    assert set(TIMING_FIELDS) <= set(CallOutcome.__struct_fields__)
    assert set(TIMING_FIELDS) <= set(CallRecord.__struct_fields__)
    clock = CallClock()
    clock.start()
    clock.mark_sent()
    clock.mark_first_byte()
    clock.mark_content()
    clock.mark_content()
    clock.finish()
    outcome = CallOutcome(status="ok")
    outcome.fill_from(clock)
    assert outcome.ttft_ms is not None and outcome.e2e_ms is not None and outcome.e2e_ms >= outcome.ttft_ms
    record = CallRecord(run_id="r", phase="p", item_id="i", model="m", status="ok")
    copy_timing(outcome, record)
    assert all(getattr(record, f) == getattr(outcome, f) for f in TIMING_FIELDS)
    assert issubclass(CallOutcome, CallTiming) and issubclass(CallRecord, CallTiming)
