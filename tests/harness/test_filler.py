"""Filler sizing: within the token budget and close to it, deterministic, and neutral."""

from __future__ import annotations

import re

import pytest

from harness.filler import cl100k_counter, filler_sentences, fit_filler


def _words(text: str) -> int:
    return len(text.split())


@pytest.mark.parametrize("target", [50, 2048, 8192, 32768])
def test_fit_filler_cl100k_is_within_and_close_to_target(target: int) -> None:
    count = cl100k_counter()
    text = fit_filler(target, count)
    n = count(text)
    assert n <= target
    assert n >= target - 20  # at most one sentence (~12 tokens) short


@pytest.mark.parametrize("target", [1, 7, 100, 1000])
def test_fit_filler_with_a_word_counter(target: int) -> None:
    text = fit_filler(target, _words)
    n = _words(text)
    assert n <= target
    longest_sentence = max(_words(s) for s in filler_sentences(40))
    assert n > target - longest_sentence or (n == 0 and target < longest_sentence)


def test_fit_filler_is_deterministic_and_whole_sentences() -> None:
    a = fit_filler(500, _words)
    assert a == fit_filler(500, _words)
    assert a.endswith(".")
    assert fit_filler(0, _words) == ""


def test_filler_has_no_digits_or_payload_words() -> None:
    text = " ".join(filler_sentences(400)).lower()
    assert not any(ch.isdigit() for ch in text) and "@" not in text
    words = set(re.findall(r"[a-z]+", text))
    assert not words & {"billing", "json", "route", "email", "command", "ls", "du", "find", "benefit"}


def test_local_counter_uses_the_model_vocabulary_or_falls_back() -> None:
    from harness.filler import counter_for, local_counter

    assert local_counter("no-such-model") is None
    assert counter_for("sim", "anything") is cl100k_counter()
    own = local_counter("smollm2-135m")
    if own is None:
        pytest.skip("llama-cpp or the embedded model is not installed")
    text = fit_filler(1024, own)
    assert 1000 <= own(text) <= 1024
