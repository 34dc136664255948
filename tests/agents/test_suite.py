"""Suites: the packaged ones load; every kind of bad suite is one error naming file:line."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agents.suite import load_suite, resolve_suite_path
from harness.constraints import JsonConstraint, RegexConstraint
from harness.errors import InputError
from suites import SUITES_DIR

VALID = """\
name: mini
items:
  - id: first
    prompt: Say hi.
    constraints:
      - type: contains
        values: [hi]
  - id: second
    prompt: Reply with JSON.
    max_tokens: 64
    constraints:
      - type: json
        schema: {type: object}
"""


def _suite(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my_suite.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path | str) -> InputError:
    with pytest.raises(InputError) as info:
        load_suite(path)
    assert "my_suite.yaml" in str(info.value) or "nope" in str(info.value)
    return info.value


def _line(err: InputError) -> int:
    return int(err.where.rsplit(":", 1)[1])


def test_baseline_loads() -> None:
    loaded = load_suite("baseline")
    assert loaded.path == (SUITES_DIR / "baseline.yaml").resolve()
    assert loaded.sha256 == hashlib.sha256(loaded.path.read_bytes()).hexdigest()
    items = loaded.suite.items
    assert 10 <= len(items) <= 16
    assert all(item.constraints for item in items), "every baseline item is machine-checked"
    assert len({item.category for item in items}) >= 6
    assert any(isinstance(c, JsonConstraint) and c.json_schema for item in items for c in item.constraints)


def test_smoke_loads() -> None:
    loaded = load_suite("smoke")
    assert [i.id for i in loaded.suite.items] == ["say-ok", "tiny-json", "add-numbers"]
    assert loaded.suite.defaults.max_tokens == 32


def test_valid_file_loads_by_path(tmp_path: Path) -> None:
    loaded = load_suite(str(_suite(tmp_path, VALID)))
    assert loaded.name == "mini"
    assert loaded.suite.items[1].max_tokens == 64
    assert loaded.suite.defaults.stream is True


def test_syntax_error_reports_line(tmp_path: Path) -> None:
    err = _error(_suite(tmp_path, VALID.replace("    prompt: Say hi.", "    prompt: [Say hi.")))
    assert "YAML syntax error" in err.message
    assert 4 <= _line(err) <= 6


def test_unknown_field_reports_its_line(tmp_path: Path) -> None:
    err = _error(_suite(tmp_path, VALID.replace("    max_tokens: 64", "    max_token: 64")))
    assert _line(err) == 10
    assert err.message.startswith("items.1.max_token: Extra inputs are not permitted")


def test_wrong_type_reports_line_and_field(tmp_path: Path) -> None:
    err = _error(_suite(tmp_path, VALID.replace("    max_tokens: 64", "    max_tokens: lots")))
    assert _line(err) == 10
    assert err.message.startswith("items.1.max_tokens: ")


def test_duplicate_id_reports_both_lines(tmp_path: Path) -> None:
    err = _error(_suite(tmp_path, VALID.replace("id: second", "id: first")))
    assert _line(err) == 8
    assert err.message == "items.1.id: duplicate item id 'first' (first at line 3)"


def test_bad_regex_names_field(tmp_path: Path) -> None:
    text = VALID.replace("      - type: contains\n        values: [hi]", "      - type: regex\n        pattern: '(a'")
    err = _error(_suite(tmp_path, text))
    assert _line(err) == 7
    assert err.message.startswith("items.0.constraints.0.pattern: ")
    assert "invalid regular expression" in err.message


def test_unknown_constraint_type_points_at_type(tmp_path: Path) -> None:
    err = _error(_suite(tmp_path, VALID.replace("type: contains", "type: containz")))
    assert _line(err) == 6
    assert err.message.startswith("items.0.constraints.0.type: ")


def test_missing_constraint_field(tmp_path: Path) -> None:
    err = _error(_suite(tmp_path, VALID.replace("        values: [hi]\n", "")))
    assert _line(err) == 6  # the constraint's mapping, where `values` must be added
    assert err.message.startswith("items.0.constraints.0.values: Field required")


def test_constraint_model_error_points_at_constraint(tmp_path: Path) -> None:
    err = _error(_suite(tmp_path, VALID.replace("type: contains\n        values: [hi]", "type: length")))
    assert _line(err) == 6
    assert err.message.startswith("items.0.constraints.0: Value error, give at least one of")


def test_bad_item_id(tmp_path: Path) -> None:
    err = _error(_suite(tmp_path, VALID.replace("id: first", "id: First Item")))
    assert _line(err) == 3
    assert err.message.startswith("items.0.id: ")


def test_no_items(tmp_path: Path) -> None:
    err = _error(_suite(tmp_path, "name: empty\nitems: []\n"))
    assert _line(err) == 2 and err.message.startswith("items: ")


def test_missing_file(tmp_path: Path) -> None:
    err = _error(str(tmp_path / "nope.yaml"))
    assert err.message == "file not found"


def test_unknown_bare_name() -> None:
    with pytest.raises(InputError) as info:
        resolve_suite_path("no_such_suite")
    assert "baseline" in info.value.message and "smoke" in info.value.message


def test_regex_constraint_is_typed(tmp_path: Path) -> None:
    text = VALID.replace("      - type: contains\n        values: [hi]",
                         "      - type: regex\n        pattern: '^hi$'\n        fullmatch: true")
    item = load_suite(str(_suite(tmp_path, text))).suite.items[0]
    assert isinstance(item.constraints[0], RegexConstraint) and item.constraints[0].fullmatch


def test_suite_built_in_code_refuses_duplicate_ids() -> None:
    from pydantic import ValidationError

    from agents.suite import Suite, SuiteItem

    Suite(name="s", items=[SuiteItem(id="a", prompt="p"), SuiteItem(id="b", prompt="p")])
    with pytest.raises(ValidationError, match="duplicate item id 'b'"):
        Suite(name="s", items=[SuiteItem(id="b", prompt="p"), SuiteItem(id="a", prompt="p"),
                               SuiteItem(id="b", prompt="q")])
