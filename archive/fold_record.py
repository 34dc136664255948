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
    extra: dict[str, object] = msgspec.field(default_factory=dict)


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
