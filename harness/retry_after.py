"""The server's own minimum wait, read from response headers.

Why a module of its own: providers spell "wait this long" in at least five ways
(delta-seconds, HTTP-dates, milliseconds, Go-style durations, RFC 3339 reset stamps),
and the retry loop's one promise is to never come back earlier than the server asked.
Every spelling is parsed here, once, and anything unparsable is ignored rather than
guessed at, because a wrong wait is worse than falling back to our own backoff.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from multidict import CIMultiDict, CIMultiDictProxy

RESET_DURATION_HEADERS = ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")
RESET_TIMESTAMP_HEADERS = (
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-reset",
    "anthropic-ratelimit-input-tokens-reset",
    "anthropic-ratelimit-output-tokens-reset",
)

_NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(ms|us|µs|ns|h|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def parse_number(text: str) -> float | None:
    """A plain decimal number, or None. Rejects nan/inf, which float() would accept."""
    text = text.strip()
    if not _NUMBER_RE.match(text):
        return None
    return _finite(float(text))


def parse_duration(text: str) -> float | None:
    """OpenAI's Go-style duration ("1m30s", "6ms", "2h0m0s", "0.5s") in seconds.

    A bare number is taken as seconds. Anything not wholly made of duration parts is None.
    """
    text = text.strip()
    if not text:
        return None
    bare = parse_number(text)
    if bare is not None:
        return bare
    total = 0.0
    pos = 0
    for match in _DURATION_PART_RE.finditer(text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNIT_S[match.group(2)]
        pos = match.end()
    if pos != len(text):
        return None
    return _finite(total)


def _http_date_epoch(text: str) -> float | None:
    try:
        parsed = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # RFC 7231 dates are GMT even when the zone is missing
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _rfc3339_epoch(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def parse_retry_after(value: str, now: float) -> float | None:
    """`Retry-After` as delta-seconds (int or float) or an HTTP-date relative to `now`."""
    seconds = parse_number(value)
    if seconds is not None:
        return seconds
    epoch = _http_date_epoch(value)
    return None if epoch is None else epoch - now


def server_wait_s(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, or None if it said nothing usable.

    Precedence: the longer of `retry-after-ms` and `Retry-After` when either is given
    (a server that sends both means the later moment), else the largest of the reset
    headers (any of which being unexhausted would still refuse us, so the latest counts).
    `now` is wall-clock epoch seconds (injectable for tests); negatives become 0.
    """
    wall_now = time.time() if now is None else now
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}

    asked: list[float] = []
    if "retry-after-ms" in lowered:
        ms = parse_number(lowered["retry-after-ms"])
        if ms is not None:
            asked.append(ms / 1000.0)
    if "retry-after" in lowered:
        seconds = parse_retry_after(lowered["retry-after"], wall_now)
        if seconds is not None:
            asked.append(seconds)
    wait: float | None = max(asked) if asked else None
    if wait is None:
        resets: list[float] = []
        for name in RESET_DURATION_HEADERS:
            if name in lowered:
                duration = parse_duration(lowered[name])
                if duration is not None:
                    resets.append(duration)
        for name in RESET_TIMESTAMP_HEADERS:
            if name in lowered:
                epoch = _rfc3339_epoch(lowered[name])
                if epoch is not None:
                    resets.append(epoch - wall_now)
        wait = max(resets) if resets else None
    return None if wait is None else max(0.0, wait)


REMAINING_PAIRS = (
    ("x-ratelimit-remaining-requests", "x-ratelimit-limit-requests"),
    ("x-ratelimit-remaining-tokens", "x-ratelimit-limit-tokens"),
    ("anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-limit"),
    ("anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-limit"),
    ("anthropic-ratelimit-input-tokens-remaining", "anthropic-ratelimit-input-tokens-limit"),
    ("anthropic-ratelimit-output-tokens-remaining", "anthropic-ratelimit-output-tokens-limit"),
)


def remaining_share(headers: Mapping[str, str]) -> float | None:
    """The smallest share left of any rate window the server reports (OpenAI's
    x-ratelimit-remaining-*/limit-*, Anthropic's anthropic-ratelimit-*), or None."""
    # aiohttp's headers look up case-insensitively already: no copy on every answer
    lookup: Mapping[str, str] = headers if isinstance(headers, CIMultiDictProxy | CIMultiDict) else {
        str(k).lower(): str(v) for k, v in headers.items()}
    shares: list[float] = []
    for remaining, limit in REMAINING_PAIRS:
        left_text = lookup.get(remaining)
        if left_text is None:
            continue
        left = parse_number(left_text)
        size = parse_number(lookup.get(limit, ""))
        if left is not None and size is not None and size > 0:
            shares.append(max(0.0, left) / size)
    return min(shares) if shares else None
