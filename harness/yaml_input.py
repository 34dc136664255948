"""Load a YAML file into a pydantic model, reporting bad input as `file:line: field: problem`.

Why walk the composed node tree: pydantic knows *which* field is wrong (its `loc`) but not
*where* it is in the file; PyYAML's node tree knows every key's line. Walking the tree
along the error's `loc` turns a validation error into one line a user can jump to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from harness.errors import InputError

T = TypeVar("T", bound=BaseModel)
Loc = Sequence[int | str]


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A parsed file: the plain data for pydantic and the node tree for line numbers."""

    path: Path
    data: Any
    root: yaml.Node
    sha256: str  # of the exact bytes parsed, for manifests


def read_yaml(path: Path) -> YamlDocument:
    """Parse `path` once, keeping both data and nodes. Every failure is an `InputError`."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(str(path), "file not found") from None
    except IsADirectoryError:
        raise InputError(str(path), "is a directory, expected a YAML file") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not valid UTF-8 (byte {exc.start})") from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise InputError(f"{path}:1", "file is empty; expected a YAML mapping")
        _check_duplicate_keys(path, root)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            problem = f"{exc.problem} ({exc.context})"
        raise InputError(f"{path}:{line}", f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(str(path), f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(root, yaml.MappingNode):
        kind = type(data).__name__
        raise InputError(f"{path}:{root.start_mark.line + 1}", f"expected a YAML mapping at top level, got {kind}")
    return YamlDocument(path, data, root, hashlib.sha256(raw).hexdigest())


def _check_duplicate_keys(path: Path, node: yaml.Node) -> None:
    """PyYAML silently keeps the last of two equal keys; a typo'd copy would go unnoticed."""
    stack: list[yaml.Node] = [node]
    seen_nodes: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen_nodes:
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                    line = key.start_mark.line + 1
                    if key.value in first:
                        raise InputError(f"{path}:{line}",
                                         f"duplicate key {key.value!r} (first at line {first[key.value]})")
                    first[key.value] = line
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def locate(root: yaml.Node, loc: Loc) -> tuple[int | None, list[int | str]]:
    """Walk `loc` down the node tree: the 1-based line reached and the loc parts found there.

    A loc part with no counterpart in the file is skipped: pydantic inserts union tags
    (`'json'` in `items.0.constraints.0.json.schema`) that the YAML never spells. A missing
    last part leaves us on the parent mapping, which is where the user must add the field.
    """
    node: yaml.Node = root
    line: int | None = root.start_mark.line + 1
    found: list[int | str] = []
    for part in loc:
        nxt: yaml.Node | None = None
        key_line: int | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    nxt, key_line = value, key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            nxt = node.value[part]
            key_line = nxt.start_mark.line + 1
        if nxt is None:
            continue
        node, line = nxt, key_line
        found.append(part)
    return line, found


def locate_line(root: yaml.Node, loc: Loc) -> int | None:
    """The 1-based line of the key/value at `loc` (or of its nearest existing ancestor)."""
    return locate(root, loc)[0]


def dotted(parts: Loc) -> str:
    return ".".join(str(p) for p in parts)


def _describe(root: yaml.Node, error: ErrorDetails) -> tuple[int | None, str, str]:
    loc: list[int | str] = list(error["loc"])
    if error["type"] == "union_tag_invalid":
        loc.append("type")  # point at the bad `type:` value, not the whole mapping
    line, found = locate(root, loc)
    shown = list(found)
    if error["type"] == "missing" and loc:
        shown.append(loc[-1])  # name the field to add, though the file lacks it
    return line, dotted(shown), error["msg"]


def validation_input_error(doc: YamlDocument, exc: ValidationError) -> InputError:
    """One clear message for the first error, with a count of the rest."""
    errors = exc.errors(include_url=False)
    line, field, msg = _describe(doc.root, errors[0])
    where = f"{doc.path}:{line}" if line is not None else str(doc.path)
    text = f"{field}: {msg}" if field else msg
    if len(errors) > 1:
        more = len(errors) - 1
        text += f" (and {more} more error{'s' if more > 1 else ''})"
    return InputError(where, text)


def validate_document(doc: YamlDocument, model: type[T]) -> T:
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise validation_input_error(doc, exc) from None


def load_yaml_model(path: Path, model: type[T]) -> T:
    """Read and validate `path` as `model`; any problem is an `InputError` naming file:line."""
    return validate_document(read_yaml(path), model)


def check_unique_ids(doc: YamlDocument, list_key: str, noun: str = "item") -> None:
    """Refuse a repeated `id` under `doc.data[list_key]`, naming both lines.

    Run before validation so even an otherwise invalid file reports the duplicate where it is;
    ids key records and resume state, so two entries sharing one would silently merge.
    """
    entries = doc.data.get(list_key) if isinstance(doc.data, dict) else None
    if not isinstance(entries, list):
        return
    first: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        entry_id: str = entry["id"]
        line = locate_line(doc.root, (list_key, index, "id")) or 0
        if entry_id in first:
            raise InputError(f"{doc.path}:{line}",
                             f"{list_key}.{index}.id: duplicate {noun} id {entry_id!r} "
                             f"(first at line {first[entry_id]})")
        first[entry_id] = line


def first_duplicate(ids: Iterable[str]) -> str | None:
    """The first id seen twice, else None: the backstop for models built in code, which
    have no file lines to name (`check_unique_ids` reports YAML duplicates with them)."""
    seen: set[str] = set()
    for entry_id in ids:
        if entry_id in seen:
            return entry_id
        seen.add(entry_id)
    return None
