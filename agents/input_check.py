"""Has a run's input changed since it started? Checked before `--resume` and `retry`.

Why refuse: a resumed run mixes records made before and after the change, and a retry
run's records replace its parent's in the aggregate; either way two different suites or
configs would be averaged as one. The user can still insist (`--allow-changed-inputs`).
"""

from __future__ import annotations

from typing import Any

from agents.run_setup import PreparedRun
from harness.redact import default_redactor


def _diff(old: Any, new: Any, path: str) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            out += _diff(old.get(key), new.get(key), f"{path}.{key}")
        return out
    return [] if old == new else [path]


def changed_inputs(manifest: dict[str, Any], prepared: PreparedRun) -> list[str]:
    """Field paths that differ from the manifest: `suites[<name>].sha256` and `config.<field>`."""
    changes: list[str] = []
    recorded = {str(s.get("name")): s.get("sha256") for s in manifest.get("suites") or [] if isinstance(s, dict)}
    for loaded in prepared.suites:
        name = loaded.suite.name
        if name in recorded and recorded[name] != loaded.sha256:
            changes.append(f"suites[{name}].sha256")
    for name in sorted(set(recorded) - {s.suite.name for s in prepared.suites}):
        changes.append(f"suites[{name}]")
    config_now = default_redactor().redact_obj(prepared.config.model_dump(mode="json"))
    changes += _diff(manifest.get("config") or {}, config_now, "config")
    return changes


def refuse_changed_inputs(manifest: dict[str, Any], prepared: PreparedRun, run_id: str) -> None:
    """Raise InputError naming the first changed field (and how many more)."""
    from harness.errors import InputError

    changes = changed_inputs(manifest, prepared)
    if changes:
        more = f" (and {len(changes) - 1} more: {', '.join(changes[1:4])})" if len(changes) > 1 else ""
        raise InputError(changes[0], f"differs from run {run_id}'s manifest{more}; pass "
                                     "--allow-changed-inputs to go on anyway")
