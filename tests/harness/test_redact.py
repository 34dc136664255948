"""Redactor: known secrets, secrets from the environment, and common key shapes."""

from __future__ import annotations

import pytest

from harness.redact import Redactor, default_redactor


def test_explicit_secrets_are_masked() -> None:
    r = Redactor(["hunter2hunter2", "abcd"], include_env=False)
    assert r.redact("key=hunter2hunter2 and abcd!") == "key=*** and ***!"


def test_longest_secret_wins() -> None:
    r = Redactor(["secret-one", "secret-one-and-more"], include_env=False)
    assert r.redact("x secret-one-and-more y") == "x *** y"


def test_env_secrets_by_suffix_and_length() -> None:
    env = {"OPENAI_API_KEY": "key-value-1234", "GH_TOKEN": "tok-value-5678", "MY_SECRET": "s3cr3t-v4lue",
           "SHORT_API_KEY": "short", "HOME": "/home/user-directory"}
    r = Redactor(env=env)
    out = r.redact("key-value-1234 tok-value-5678 s3cr3t-v4lue short /home/user-directory")
    assert out == "*** *** *** short /home/user-directory"


def test_process_env_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETBENCH_TEST_API_KEY", "zz-private-value-99")
    assert Redactor().redact("got zz-private-value-99") == "got ***"


@pytest.mark.parametrize("text, expected", [
    ("key sk-abcdefghij123 used", "key *** used"),
    ("key sk-proj-abc_DEF-123456 used", "key *** used"),
    ("key sk-ant-api03-abcdefgh used", "key *** used"),
    ("Authorization: Bearer eyJhbGciOi.abc.def", "Authorization: Bearer ***"),
    ("risk-assessment and task-management", "risk-assessment and task-management"),
    ("sk-short", "sk-short"),
])
def test_key_shapes(text: str, expected: str) -> None:
    assert Redactor(include_env=False).redact(text) == expected


def test_redact_obj_recurses() -> None:
    r = Redactor(["p4ssw0rd-xyz"], include_env=False)
    obj = {"a": ["p4ssw0rd-xyz", 3, ("p4ssw0rd-xyz",)], "p4ssw0rd-xyz": {"k": "ok"}, "n": None}
    assert r.redact_obj(obj) == {"a": ["***", 3, ("***",)], "***": {"k": "ok"}, "n": None}


def test_empty_and_callable() -> None:
    r = Redactor(["", "abc"], include_env=False)  # too short to be a secret
    assert r("") == "" and r("abc") == "abc"


def test_default_redactor_is_shared() -> None:
    assert default_redactor() is default_redactor()
