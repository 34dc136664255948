"""Every spelling of "wait this long" that providers use, and what must be ignored."""

from __future__ import annotations

import email.utils

import httpx2
import pytest

from harness.retry_after import parse_duration, server_wait_s

NOW = 1_700_000_000.0


def test_no_headers_means_no_ask() -> None:
    assert server_wait_s({}, now=NOW) is None
    assert server_wait_s({"content-type": "application/json"}, now=NOW) is None


@pytest.mark.parametrize("value, expected", [("1", 1.0), ("20", 20.0), ("0.5", 0.5), (" 3 ", 3.0)])
def test_retry_after_delta_seconds(value: str, expected: float) -> None:
    assert server_wait_s({"Retry-After": value}, now=NOW) == expected


def test_retry_after_http_date() -> None:
    date = email.utils.formatdate(NOW + 30, usegmt=True)
    assert server_wait_s({"Retry-After": date}, now=NOW) == pytest.approx(30.0)


def test_retry_after_is_case_insensitive_on_plain_dicts() -> None:
    assert server_wait_s({"RETRY-AFTER": "7"}, now=NOW) == 7.0
    assert server_wait_s({"retry-after": "7"}, now=NOW) == 7.0


def test_httpx2_headers_work() -> None:
    assert server_wait_s(httpx2.Headers({"Retry-After": "4"}), now=NOW) == 4.0


def test_retry_after_ms() -> None:
    assert server_wait_s({"retry-after-ms": "1500"}, now=NOW) == 1.5


def test_both_retry_after_headers_wait_the_longer() -> None:
    assert server_wait_s({"Retry-After": "2", "retry-after-ms": "1500"}, now=NOW) == 2.0
    assert server_wait_s({"Retry-After": "1", "retry-after-ms": "1500"}, now=NOW) == 1.5
    assert server_wait_s({"Retry-After": "junk", "retry-after-ms": "1500"}, now=NOW) == 1.5


def test_retry_after_beats_reset_headers() -> None:
    headers = {"Retry-After": "2", "x-ratelimit-reset-requests": "1m"}
    assert server_wait_s(headers, now=NOW) == 2.0


@pytest.mark.parametrize("value, expected", [
    ("1m30s", 90.0), ("6ms", 0.006), ("20s", 20.0), ("2h0m0s", 7200.0), ("0.5s", 0.5),
    ("1m", 60.0), ("250ms", 0.25), ("1h2m3.5s", 3723.5), ("12", 12.0),
])
def test_openai_durations(value: str, expected: float) -> None:
    assert parse_duration(value) == pytest.approx(expected)
    assert server_wait_s({"x-ratelimit-reset-requests": value}, now=NOW) == pytest.approx(expected)


def test_max_of_reset_headers() -> None:
    headers = {"x-ratelimit-reset-requests": "6ms", "x-ratelimit-reset-tokens": "1m30s"}
    assert server_wait_s(headers, now=NOW) == pytest.approx(90.0)


def test_anthropic_rfc3339_resets() -> None:
    headers = {
        "anthropic-ratelimit-requests-reset": "2023-11-14T22:13:25Z",  # NOW + 5
        "anthropic-ratelimit-tokens-reset": "2023-11-14T22:13:40+00:00",  # NOW + 20
        "anthropic-ratelimit-input-tokens-reset": "2023-11-14T22:13:21.5Z",
        "anthropic-ratelimit-output-tokens-reset": "garbage",
    }
    assert server_wait_s(headers, now=NOW) == pytest.approx(20.0)


def test_anthropic_and_openai_resets_mix() -> None:
    headers = {"anthropic-ratelimit-requests-reset": "2023-11-14T22:13:25Z",
               "x-ratelimit-reset-tokens": "1s"}
    assert server_wait_s(headers, now=NOW) == pytest.approx(5.0)


def test_negative_becomes_zero() -> None:
    past = email.utils.formatdate(NOW - 100, usegmt=True)
    assert server_wait_s({"Retry-After": past}, now=NOW) == 0.0
    assert server_wait_s({"Retry-After": "-3"}, now=NOW) == 0.0
    assert server_wait_s({"anthropic-ratelimit-requests-reset": "2020-01-01T00:00:00Z"}, now=NOW) == 0.0


@pytest.mark.parametrize("headers", [
    {"Retry-After": "soon"}, {"Retry-After": ""}, {"Retry-After": "nan"}, {"Retry-After": "inf"},
    {"retry-after-ms": "abc"}, {"x-ratelimit-reset-requests": "1x"},
    {"x-ratelimit-reset-requests": "s"}, {"x-ratelimit-reset-tokens": "1m garbage"},
    {"anthropic-ratelimit-tokens-reset": "yesterday"},
])
def test_garbage_is_ignored(headers: dict[str, str]) -> None:
    assert server_wait_s(headers, now=NOW) is None


def test_garbage_in_a_higher_precedence_header_falls_through() -> None:
    assert server_wait_s({"retry-after-ms": "x", "Retry-After": "3"}, now=NOW) == 3.0
    assert server_wait_s({"Retry-After": "x", "x-ratelimit-reset-requests": "4s"}, now=NOW) == 4.0
