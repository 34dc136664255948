"""What a retry run re-does: the keys its parent left failed (the Codex rate-limit retry).

Why keys and not a new plan: the retry must redo exactly the parent's failures under the
backoff policy, as a new run linked to its parent, so aggregation can let each key's
latest terminal result win across the lineage.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.model_ref import ModelRef
from harness.records import CallRecord, RecordKey


def failed_keys(records: Sequence[CallRecord], *, include_skipped: bool = False,
                models: Sequence[str] = ()) -> list[RecordKey]:
    """Keys whose terminal record is `error`, optionally only for some models
    (`provider/model[@variant]`, aliases not resolved). Keys skipped for want of access are
    left alone unless `include_skipped`: without a key they would only be skipped again."""
    wanted = {str(ModelRef.parse(m)) for text in models for m in text.split(",") if m.strip()}
    statuses = {"error", "skipped"} if include_skipped else {"error"}
    return [r.key for r in records if r.status in statuses and (not wanted or r.model in wanted)]
