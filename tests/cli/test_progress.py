"""The CLI's progress display: off a terminal at most one line per 10 s (a heartbeat after a
minute without change) plus a final one; on a terminal a bar per phase with ok/error counts
and an ETA. A fake clock drives it: the assertions are on its own stamps, not wall time."""

from __future__ import annotations

import io

from cli.progress import HEARTBEAT_S, INTERVAL_S, RunProgress, duration

TOTALS = {"baseline": 8, "codex-retry": 4, "long-context": 7}  # one call never returns


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _counts(done: int) -> dict[str, dict[str, int]]:
    return {"baseline": {"ok": min(done, 7), "error": max(0, min(done, 8) - 7)},
            "codex-retry": {"skipped": 4}, "long-context": {"ok": min(6, max(0, done - 8))}}


def test_off_a_terminal_one_line_per_interval_a_heartbeat_and_a_final_line() -> None:
    stream, clock = io.StringIO(), Clock()
    progress = RunProgress(stream, live=False, clock=clock)
    progress.start(TOTALS)
    printed_at = []
    for step in range(100):  # an update every 0.5 s for 50 s, a record every 2 s
        clock.now = 1000.0 + step * 0.5
        before = stream.getvalue().count("\n")
        progress.update(_counts(step // 4))
        if stream.getvalue().count("\n") > before:
            printed_at.append(clock.now - 1000.0)
    assert printed_at == [10.0, 20.0, 30.0]  # the counts stop moving at 28 s
    clock.now = 1000.0 + 30 + HEARTBEAT_S - 1
    progress.update(_counts(14))
    assert stream.getvalue().count("\n") == 3
    clock.now = 1000.0 + 30 + HEARTBEAT_S
    progress.update(_counts(14))  # a minute without change: one heartbeat
    progress.note("phase x: a note prints at once")
    clock.now += 1
    progress.close(_counts(14))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 6
    assert lines[0] == ("progress [10s] 9/19 (ok 5, error 0, skipped 4), eta 20s: "
                        "baseline 5/8, codex-retry no access, long-context 0/7")
    assert lines[3].startswith("progress [1m30s] 18/19") and lines[4] == "phase x: a note prints at once"
    assert lines[5] == ("done [1m31s] 18/19 (ok 13, error 1, skipped 4): "
                        "baseline 8/8 (1 error), codex-retry no access, long-context 6/7")


def test_on_a_terminal_a_bar_per_phase_with_counts_and_eta() -> None:
    stream, clock = io.StringIO(), Clock()
    progress = RunProgress(stream, live=True, clock=clock)
    progress.start(TOTALS)
    progress.update(_counts(9))
    progress.note("warning: shown above the bars")
    progress.close(_counts(9))
    text = stream.getvalue()
    for phase in TOTALS:
        assert phase in text
    assert "ok 7 err 1" in text and "skipped 4" in text and "eta" in text and "9/8" not in text
    assert "warning: shown above the bars" in text


def test_duration_reads_as_minutes_and_seconds() -> None:
    assert (duration(9.4), duration(75.2), duration(-1), duration(INTERVAL_S)) == ("9s", "1m15s", "0s", "10s")


def test_no_progress_line_once_everything_is_done_only_the_final_one() -> None:
    stream, clock = io.StringIO(), Clock()
    progress = RunProgress(stream, live=False, clock=clock)
    progress.start({"baseline": 2})
    clock.now += 30
    progress.update({"baseline": {"ok": 2}})
    progress.close({"baseline": {"ok": 2}})
    assert stream.getvalue().splitlines() == ["done [30s] 2/2 (ok 2, error 0): baseline 2/2"]


def test_lines_thin_out_as_a_run_grows() -> None:
    stream, clock = io.StringIO(), Clock()
    progress = RunProgress(stream, live=False, clock=clock)
    progress.start({"baseline": 100000})
    for second in range(1, 1801):  # half an hour, a record every second
        clock.now = 1000.0 + second
        progress.update({"baseline": {"ok": second}})
    stamps = [line.split("]")[0] for line in stream.getvalue().splitlines()]
    # every 10 s for a minute, then each gap a sixth of the time elapsed (x1.2 per line)
    assert stamps[:8] == [f"progress [{t}s" for t in (10, 20, 30, 40, 50)] + [
        "progress [1m00s", "progress [1m12s", "progress [1m27s"]
    assert len(stamps) == 24 and stamps[-1] == "progress [27m26s"  # not 180
