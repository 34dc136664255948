"""Leave out what a run has no access to, and say so, instead of failing.

Why records and not silence: every planned key still gets exactly one terminal record, so
the summary shows "skipped: no access" next to the models that did run, and a later run
with the key set can be compared against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agents.plan import WorkItem
from agents.providers import ResolvedProvider
from harness.errors import ErrorClass
from harness.records import CallRecord


def split_by_access(items: Sequence[WorkItem], providers: Mapping[str, ResolvedProvider]
                    ) -> tuple[list[WorkItem], list[WorkItem]]:
    """(items we can call, items whose provider has no key configured)."""
    allowed: list[WorkItem] = []
    denied: list[WorkItem] = []
    for item in items:
        (allowed if providers[item.model_ref.provider].has_access() else denied).append(item)
    return allowed, denied


def no_access_records(items: Sequence[WorkItem], providers: Mapping[str, ResolvedProvider],
                      run_id: str) -> list[CallRecord]:
    records = []
    for item in items:
        provider = providers[item.model_ref.provider]
        records.append(CallRecord(
            run_id=run_id, phase=item.phase, item_id=item.item_id, model=item.model, variant=item.variant,
            repeat=item.repeat, category=item.category, status="skipped",
            error_class=str(ErrorClass.NO_ACCESS),
            error_message=f"no access: ${provider.api_key_env} is not set"))
    return records


def access_notes(items: Sequence[WorkItem], providers: Mapping[str, ResolvedProvider]) -> list[str]:
    """One line per missing key variable, naming every model it leaves out (a terminal
    line per model would bury the progress)."""
    by_env: dict[str, list[str]] = {}
    for model in sorted({item.model for item in items}):
        by_env.setdefault(str(providers[model.split("/", 1)[0]].api_key_env), []).append(model)
    return [f"left out {', '.join(models)}: no key (${env} is not set)" for env, models in by_env.items()]
