"""The aggregate's cache: each lineage's folded summary, keyed by its results files' contents.

Why per lineage: a retry run replaces its parent's records per key, so a lineage is the
smallest unit whose summary does not depend on any other run; after a new run only its
lineage is read again, every other lineage's summary is loaded from here and merged.

Keys: a lineage's summary is valid for the ordered list of its runs (id, creation time,
results bytes covered, xxh3-128 of those bytes) and for the code that folded it (a hash of
the sources of `archive/` and of the modules defining the phases' section states), so an
edited section never reuses a stale state. Finding a file's hash: its (size, mtime_ns) in
`files.msgpack` is the fast path; otherwise the file is hashed again (~10 GB/s), and only a
changed hash means folding it again. A file with a corrupt line is remembered by its hash,
so it is not decoded again until it changes.

Why no fsync: everything here can be rebuilt from the archive; a torn or stale file is a
miss (it does not decode, or its key differs), never a wrong aggregate.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import msgspec
import xxhash

from archive.lineage import RunMeta
from archive.lineage_fold import FileRead, LineageSummary
from archive.section_state import SectionFactory
from archive.stats import PhaseModelStats, StatsFold

CACHE_DIR = ".aggregate-cache"
FORMAT = 1
_FILES = "files.msgpack"
_LINEAGES = "lineages"
PREFIXES = ("merged-all.msgpack", "merged-but-last.msgpack")  # see archive/merged.py


class FileEntry(msgspec.Struct, array_like=True):
    size: int
    mtime_ns: int
    digest: str
    unreadable: str | None = None


class _Stored(msgspec.Struct):
    """A lineage's cache file."""

    key: str
    root: str
    runs: list[str]
    n_records: dict[str, int]
    supplied: dict[str, int]
    records: int
    missing_parent: str | None
    stats: msgspec.Raw
    rows: list[PhaseModelStats]
    sections: dict[str, msgspec.Raw]


def code_fingerprint(factories: Mapping[str, SectionFactory]) -> str:
    """A hash of every source file in `archive/` and in the packages of the section states."""
    folders = {Path(__file__).resolve().parent}
    for make in factories.values():
        state = make(None)
        module = sys.modules.get(type(state).__module__) if state is not None else None
        if module is not None and getattr(module, "__file__", None):
            folders.add(Path(str(module.__file__)).resolve().parent)
    digest = xxhash.xxh3_128()
    for folder in sorted(folders):
        for source in sorted(folder.glob("*.py")):
            digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class AggregateCache:
    """Lineage summaries and file hashes under `<runs_dir>/.aggregate-cache/`."""

    def __init__(self, runs_dir: Path, factories: Mapping[str, SectionFactory]) -> None:
        self.root = runs_dir / CACHE_DIR
        self.lineages_dir = self.root / _LINEAGES
        self.factories = factories
        self.code = code_fingerprint(factories)
        self.runs_dir = runs_dir
        self.files: dict[str, FileEntry] = {}
        try:
            self.files = msgspec.msgpack.decode((self.root / _FILES).read_bytes(), type=dict[str, FileEntry])
        except (OSError, msgspec.DecodeError):
            self.files = {}
        self._seen: dict[str, FileEntry] = {}

    def _name(self, meta: RunMeta) -> str:
        return str(meta.results.relative_to(self.runs_dir))

    def stat(self, meta: RunMeta) -> tuple[int, int]:
        """(size, mtime_ns) of the run's results; (0, 0) when it has none."""
        try:
            st = meta.results.stat()
        except FileNotFoundError:
            return 0, 0
        return st.st_size, st.st_mtime_ns

    def known(self, meta: RunMeta, size: int, mtime_ns: int) -> FileEntry | None:
        """The stored entry when the file's size and mtime still match it."""
        entry = self.files.get(self._name(meta))
        if entry is not None and entry.size == size and entry.mtime_ns == mtime_ns:
            return entry
        return None

    def has(self, root: str) -> bool:
        """Whether a summary of lineage `root` is stored (under whatever key)."""
        return (self.lineages_dir / f"{root}.msgpack").is_file()

    def remember(self, meta: RunMeta, read: FileRead, mtime_ns: int, unreadable: str | None = None) -> None:
        self._seen[self._name(meta)] = FileEntry(read.size, mtime_ns, read.digest, unreadable)

    def key(self, members: Iterable[RunMeta], digests: Mapping[str, tuple[int, str]]) -> str:
        parts = [FORMAT, self.code, [(m.run_id, m.created_at, *digests[m.run_id]) for m in members]]
        return xxhash.xxh3_128(msgspec.msgpack.encode(parts)).hexdigest()

    def load(self, root: str, key: str) -> LineageSummary | None:
        """The stored summary of lineage `root` if stored under `key`; None otherwise."""
        try:
            stored = msgspec.msgpack.decode((self.lineages_dir / f"{root}.msgpack").read_bytes(), type=_Stored)
        except (OSError, msgspec.DecodeError):
            return None
        if stored.key != key or stored.root != root:
            return None
        try:
            stats = StatsFold.from_builtins(msgspec.msgpack.decode(stored.stats))
            sections = {}
            for phase, raw in stored.sections.items():
                make = self.factories.get(phase)
                state = make(msgspec.msgpack.decode(raw)) if make is not None else None
                if state is None:
                    return None
                sections[phase] = state
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError):
            return None
        return LineageSummary(root=root, runs=stored.runs, n_records=stored.n_records, supplied=stored.supplied,
                              records=stored.records, stats=stats, sections=sections,
                              missing_parent=stored.missing_parent, rows=stored.rows)

    def save(self, summary: LineageSummary, key: str) -> None:
        encode = msgspec.msgpack.encode
        stored = _Stored(key=key, root=summary.root, runs=summary.runs, n_records=summary.n_records,
                         supplied=summary.supplied, records=summary.records, missing_parent=summary.missing_parent,
                         stats=msgspec.Raw(encode(summary.stats.to_builtins())), rows=summary.rows,
                         sections={phase: msgspec.Raw(encode(state.to_builtins()))
                                   for phase, state in summary.sections.items()})
        self.lineages_dir.mkdir(parents=True, exist_ok=True)
        _write(self.lineages_dir / f"{summary.root}.msgpack", encode(stored))

    def lineage_key(self, members: list[RunMeta]) -> str | None:
        """The lineage's key from the stored file hashes alone, remembering them; None when a
        file is not known as it is now (changed, new, or unreadable)."""
        entries = []
        for meta in members:
            size, mtime_ns = self.stat(meta)
            entry = self.known(meta, size, mtime_ns)
            if entry is None or entry.unreadable:
                return None
            entries.append((meta, entry))
        for meta, entry in entries:
            self._seen[self._name(meta)] = entry
        return self.key(members, {meta.run_id: (entry.size, entry.digest) for meta, entry in entries})

    def prefixes(self) -> list[bytes]:
        """The stored merged prefixes (all lineages, then all but the last), as stored."""
        out = []
        for name in PREFIXES:
            try:
                out.append((self.root / name).read_bytes())
            except OSError:
                continue
        return out

    def save_prefixes(self, merged_all: bytes, but_last: bytes | None) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _write(self.root / PREFIXES[0], merged_all)
        if but_last is not None:
            _write(self.root / PREFIXES[1], but_last)
        else:
            (self.root / PREFIXES[1]).unlink(missing_ok=True)

    def finish(self, roots: Iterable[str]) -> None:
        """Store the file hashes seen this time and drop summaries of lineages now gone."""
        self.root.mkdir(parents=True, exist_ok=True)
        _write(self.root / _FILES, msgspec.msgpack.encode(self._seen))
        keep = {f"{root}.msgpack" for root in roots}
        if self.lineages_dir.is_dir():
            for stale in self.lineages_dir.iterdir():
                if stale.name not in keep and not stale.name.startswith("."):
                    stale.unlink(missing_ok=True)
