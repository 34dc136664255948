"""YAML + pydantic errors point at the right file line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field

from harness.errors import InputError
from harness.yaml_input import load_yaml_model, locate_line


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int
    label: str = ""


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    inner: Inner
    entries: list[Inner] = Field(default_factory=list)
    named: dict[str, Inner] = Field(default_factory=dict)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "input.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_yaml_model(path, Outer)
    return info.value


GOOD = """\
name: demo
inner:
  size: 3
entries:
  - size: 1
  - size: 2
    label: two
named:
  a:
    size: 5
"""


def test_valid_file_loads(tmp_path: Path) -> None:
    loaded = load_yaml_model(_write(tmp_path, GOOD), Outer)
    assert loaded.entries[1].label == "two"
    assert loaded.named["a"].size == 5


def test_missing_file(tmp_path: Path) -> None:
    err = _error(tmp_path / "nope.yaml")
    assert err.where == str(tmp_path / "nope.yaml")
    assert err.message == "file not found"


def test_syntax_error_has_line(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "name: demo\ninner:\n  size: [1, 2\nother: x\n"))
    assert err.where.startswith(f"{tmp_path / 'input.yaml'}:")
    assert int(err.where.rsplit(":", 1)[1]) in (3, 4)
    assert "YAML syntax error" in err.message


def test_empty_file(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "# only a comment\n"))
    assert err.where.endswith(":1") and "empty" in err.message


def test_top_level_not_mapping(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "- a\n- b\n"))
    assert "mapping" in err.message


def test_wrong_type_names_line_and_field(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, GOOD.replace("  - size: 2", "  - size: two")))
    assert err.where.endswith("input.yaml:6")
    assert err.message.startswith("entries.1.size: ")
    assert "integer" in err.message


def test_unknown_field_points_at_its_key(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, GOOD.replace("    label: two", "    lable: two")))
    assert err.where.endswith(":7")
    assert err.message.startswith("entries.1.lable: Extra inputs")


def test_missing_field_points_at_parent_mapping(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, GOOD.replace("  a:\n    size: 5", "  a:\n    label: x")))
    assert err.where.endswith(":9")  # the `a:` that opens the mapping lacking `size`
    assert err.message.startswith("named.a.size: Field required")


def test_more_errors_are_counted(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "inner:\n  size: x\nextra: 1\n"))
    assert "(and 2 more errors)" in err.message


def test_duplicate_key_reports_both_lines(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "name: a\ninner:\n  size: 1\nname: b\n"))
    assert err.where.endswith(":4")
    assert "duplicate key 'name' (first at line 1)" in err.message


def test_locate_line_walks_loc() -> None:
    root = yaml.compose(GOOD)
    assert root is not None
    assert locate_line(root, ("entries", 1, "label")) == 7
    assert locate_line(root, ("named", "a", "size")) == 10
    assert locate_line(root, ("entries", 9)) == 4  # nearest existing ancestor
    assert locate_line(root, ()) == 1
