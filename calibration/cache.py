"""Each lineage's evidence cached beside its root run, so calibrate reads only new records.

Why keyed by the files themselves: a cache is valid exactly while every member run's
`results.jsonl` and `manual_scores.jsonl` are the bytes it was built from. The fast check
is size and mtime_ns (a stat per file); when the size matches but the mtime moved (a copy,
a restore, a `touch`), the content hash decides, and a match refreshes the stored mtime.
Anything else (a new retry run joining the lineage, more records, new manual scores, other
rubric weights, another version of the scoring rule) rebuilds that lineage alone.

Why a run that cannot be read is cached too: its signature is kept with the reason, so a
damaged old run costs one stat per calibrate, not a re-read.

Why a failed write is ignored: the cache only saves time; a read-only archive still
calibrates, reading everything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec

from archive.store import atomic_write_bytes
from calibration.evidence import FileSig, LineageEvidence, Member, file_sig, read_lineage, sha256_of
from calibration.manual_store import MANUAL_SCORES_JSONL
from calibration.scores import SCORE_SOURCE_TEXT

CACHE_FILE = ".calibration-cells.msgpack"
CACHE_VERSION = 1  # bump whenever scores.py or evidence.py change what a cell holds


class MemberSig(msgspec.Struct, array_like=True, frozen=True):
    run_id: str
    created_at: str
    results: FileSig | None
    manual: FileSig | None
    unreadable: str | None = None  # why the run could not be read, if it could not


class LineageCache(msgspec.Struct, kw_only=True):
    version: int
    settings: str  # digest of what the scores depend on besides the files
    members: list[MemberSig]
    evidence: LineageEvidence


def settings_digest(rubric_weights: Mapping[str, int]) -> str:
    text = json.dumps({"version": CACHE_VERSION, "rule": SCORE_SOURCE_TEXT, "rubric": dict(sorted(rubric_weights.items()))})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _same(path: Path, sig: FileSig | None) -> tuple[bool, FileSig | None]:
    """(still the same bytes?, the signature to store from now on)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return sig is None, None
    if sig is None or stat.st_size != sig.size:
        return False, sig
    if stat.st_mtime_ns == sig.mtime_ns:
        return True, sig
    if sha256_of(path) == sig.sha256:
        return True, FileSig(size=sig.size, mtime_ns=stat.st_mtime_ns, sha256=sig.sha256)
    return False, sig


def _manual_path(member: Member) -> Path:
    return member.run.path / MANUAL_SCORES_JSONL


def _check(cached: LineageCache, members: Sequence[Member], digest: str) -> tuple[bool, list[MemberSig]]:
    """Whether the cache still holds, and its member signatures refreshed where only mtimes moved."""
    if cached.version != CACHE_VERSION or cached.settings != digest:
        return False, []
    by_id = {m.run_id: m for m in cached.members}
    if sorted(by_id) != sorted(m.run.run_id for m in members):
        return False, []
    refreshed: list[MemberSig] = []
    for member in members:
        sig = by_id[member.run.run_id]
        if sig.created_at != member.created_at:
            return False, []
        results_ok, results = _same(member.run.results_path, sig.results)
        manual_ok, manual = _same(_manual_path(member), sig.manual)
        if not (results_ok and manual_ok):
            return False, []
        refreshed.append(MemberSig(run_id=sig.run_id, created_at=sig.created_at, results=results, manual=manual,
                                   unreadable=sig.unreadable))
    return True, refreshed


def _load(path: Path) -> LineageCache | None:
    try:
        return msgspec.msgpack.decode(path.read_bytes(), type=LineageCache)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def _save(path: Path, cache: LineageCache) -> None:
    try:
        atomic_write_bytes(path, msgspec.msgpack.encode(cache))
    except OSError:
        pass


def lineage_evidence(root: Member, members: Sequence[Member], rubric_weights: Mapping[str, int]
                     ) -> tuple[LineageEvidence, dict[str, str], bool]:
    """(the lineage's evidence, its unreadable runs and why, whether the cache served it)."""
    path = root.run.path / CACHE_FILE
    digest = settings_digest(rubric_weights)
    cached = _load(path)
    if cached is not None:
        valid, refreshed = _check(cached, members, digest)
        if valid:
            if refreshed != cached.members:
                _save(path, msgspec.structs.replace(cached, members=refreshed))
            return cached.evidence, {m.run_id: m.unreadable for m in refreshed if m.unreadable}, True
    manual = {m.run.run_id: file_sig(_manual_path(m)) for m in members}  # before reading: a later append rebuilds
    evidence, sigs, unreadable = read_lineage(members, rubric_weights)
    member_sigs = [MemberSig(run_id=m.run.run_id, created_at=m.created_at,
                             results=sigs.get(m.run.run_id) or file_sig(m.run.results_path),
                             manual=manual[m.run.run_id], unreadable=unreadable.get(m.run.run_id))
                   for m in members]
    _save(path, LineageCache(version=CACHE_VERSION, settings=digest, members=member_sigs, evidence=evidence))
    return evidence, unreadable, False
