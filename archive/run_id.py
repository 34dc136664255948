"""Run IDs: `20261122T071355123Z-a1b2c3` (UTC to the millisecond, then 6 random hex digits).

Why this shape: lexical order is time order, so `ls`, `sorted()` and lineage ordering
agree without reading manifests; the random suffix keeps IDs unique across machines that
start runs in the same millisecond. Users may also pick readable IDs (`--run-id nightly-3`),
restricted to characters that are safe as one path component.
"""

from __future__ import annotations

import re
import secrets
import threading
from datetime import UTC, datetime

from harness.errors import InputError

GENERATED_RE = re.compile(r"^(?P<stamp>[0-9]{8}T[0-9]{9})Z-[0-9a-f]{6}$")
USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

_lock = threading.Lock()
_issued_stamp = ""
_issued: set[str] = set()


def _stamp(now: datetime) -> str:
    now = now.astimezone(UTC) if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}"


def new_run_id(now: datetime | None = None) -> str:
    """A fresh ID. Never repeats within a process, even for many IDs in one millisecond."""
    global _issued_stamp
    stamp = _stamp(now or datetime.now(UTC))
    with _lock:
        if stamp != _issued_stamp:
            _issued_stamp = stamp
            _issued.clear()
        while True:
            run_id = f"{stamp}Z-{secrets.token_hex(3)}"
            if run_id not in _issued:
                _issued.add(run_id)
                return run_id


def validate_run_id(text: str, where: str = "--run-id") -> str:
    """Accept a generated ID or a safe user-chosen one; it becomes a directory name."""
    if GENERATED_RE.fullmatch(text) or (USER_RE.fullmatch(text) and ".." not in text):
        return text
    raise InputError(where, f"invalid run id {text!r}: use 1-100 letters, digits, '_', '.', '-', "
                            "starting with a letter or digit, without '..'")


def run_date(run_id: str, created_at: str | datetime | None = None) -> str:
    """The UTC date (`YYYY-MM-DD`) a run belongs under: its creation time if known, else the
    time in a generated ID, else today."""
    when: datetime | None = None
    if isinstance(created_at, datetime):
        when = created_at
    elif isinstance(created_at, str) and created_at:
        try:
            when = datetime.fromisoformat(created_at)
        except ValueError:
            when = None
    if when is None:
        match = GENERATED_RE.fullmatch(run_id)
        if match:
            when = datetime.strptime(match["stamp"][:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    if when is None:
        when = datetime.now(UTC)
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return f"{when:%Y-%m-%d}"
