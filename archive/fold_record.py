"""What the aggregate reads of a results file: the record fields it folds, and the file's hash.

Why a narrower record: the aggregate decodes every line of the archive, and msgspec skips the
fields a struct does not name (output text, error message, attempt log) faster than it builds
them (0.099 s against 0.12 s per 100k lines here); `FoldRecord` is
`archive.section_state.RecordView` as a struct.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import xxhash

_HASH_CHUNK = 1 << 22


class FoldExtra(msgspec.Struct, gc=False):
    """The `extra` fields phase sections read, and only those: the rest of `extra` (a tool
    call's arguments and detail, say) is the largest part of a record, and skipping it makes
    the decode 22% faster (0.116 s against 0.148 s per 100k records here). Read like the
    dict it stands for; a key that is not a field here raises AttributeError, so a section
    that starts reading a new key fails its tests until the key is added, instead of
    reading None."""

    adherence: object = msgspec.UNSET
    constraints: object = msgspec.UNSET
    context_tokens: object = msgspec.UNSET
    payload_depth: object = msgspec.UNSET
    tool_passed: object = msgspec.UNSET
    tool_failure: object = msgspec.UNSET
    rubric: object = msgspec.UNSET
    question: object = msgspec.UNSET
    judge_parsed: object = msgspec.UNSET
    judge_verdict: object = msgspec.UNSET
    judge_score: object = msgspec.UNSET
    judge_raw_score: object = msgspec.UNSET
    parse_error: object = msgspec.UNSET
    expected: object = msgspec.UNSET
    target_model: object = msgspec.UNSET

    def get(self, key: str, default: object = None, /) -> object:  # as dict.get
        value = getattr(self, key)  # a key that is not a field: AttributeError
        return default if value is msgspec.UNSET else value

    def __getitem__(self, key: str, /) -> object:
        value = getattr(self, key)
        if value is msgspec.UNSET:
            raise KeyError(key)
        return value

    def __contains__(self, key: object, /) -> bool:
        return isinstance(key, str) and getattr(self, key) is not msgspec.UNSET


class FoldRecord(msgspec.Struct, kw_only=True, gc=False):
    """The record fields statistics and phase sections read (see RecordView)."""

    phase: str
    item_id: str
    model: str
    variant: str = ""
    repeat: int = 0
    category: str = "general"
    status: str
    error_class: str | None = None
    ttft_ms: float | None = None
    e2e_ms: float | None = None
    itl_p50_ms: float | None = None
    first_token_ms: float | None = None
    reasoning_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost_usd: float | None = None
    extra: FoldExtra = msgspec.field(default_factory=lambda: FoldExtra())


decode_fold_record = msgspec.json.Decoder(FoldRecord).decode


def hash_file(path: Path, size: int) -> str:
    """xxh3-128 of the first `size` bytes of `path` (of nothing when `size` is 0): the cache's
    content key. xxh3 hashes ~10 GB/s here against sha256's 1.2 GB/s; it runs on every file
    whose size or mtime changed, so a fast hash keeps those checks nearly free."""
    digest = xxhash.xxh3_128()
    remaining = size
    if remaining > 0:
        with open(path, "rb") as fh:
            while remaining > 0:
                block = fh.read(min(_HASH_CHUNK, remaining))
                if not block:
                    break
                remaining -= len(block)
                digest.update(block)
    return digest.hexdigest()
