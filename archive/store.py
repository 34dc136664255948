"""The run archive on disk: `<runs_dir>/<YYYY-MM-DD>/<run_id>/{manifest.json,results.jsonl,...}`.

Why these guarantees: a run may be killed at any instant (Ctrl-C, OOM, a lost node), and
`--resume` must then trust what is on disk. So the manifest is replaced atomically, records
are appended in one fsync'd write, and a torn last line (a writer killed mid-write) is
detected and dropped rather than poisoning the file. Run IDs come from users, so every
path is resolved and must stay inside the store.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from archive.run_id import run_date, validate_run_id
from harness.errors import InputError
from harness.records import CallRecord, RecordKey, decode_line, encode_line

_DATE_DIR_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
MANIFEST = "manifest.json"
RESULTS = "results.jsonl"
EVENTS = "events.jsonl"
SUMMARY = "summary.md"


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file's directory entry durable (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of either."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


class RunDir:
    """One run's directory. Only the collector writes records; anyone may read."""

    def __init__(self, path: Path, run_id: str) -> None:
        self.path = path
        self.run_id = run_id

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r}, {self.run_id!r})"

    @property
    def date(self) -> str:
        return self.path.parent.name

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    @property
    def results_path(self) -> Path:
        return self.path / RESULTS

    @property
    def events_path(self) -> Path:
        return self.path / EVENTS

    @property
    def summary_path(self) -> Path:
        return self.path / SUMMARY

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        text = json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n"
        atomic_write_text(self.manifest_path, text)

    def read_manifest(self) -> dict[str, Any]:
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(str(self.manifest_path), "file not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(str(self.manifest_path), f"not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InputError(str(self.manifest_path), "expected a JSON object")
        return data

    def update_manifest(self, **fields: Any) -> dict[str, Any]:
        manifest = self.read_manifest()
        manifest.update(fields)
        self.write_manifest(manifest)
        return manifest

    def repair_results(self) -> int:
        """Drop a torn final line; returns the bytes dropped (0 if the file was whole).

        A final line that lacks only its newline but decodes as a record is kept (the
        newline is added): it was written in full.
        """
        path = self.results_path
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return 0
        if size == 0:
            return 0
        with open(path, "r+b") as fh:
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return 0
            start = self._last_line_start(fh, size)
            fh.seek(start)
            tail = fh.read(size - start)
            try:
                decode_line(tail)
            except msgspec.DecodeError:
                fh.truncate(start)
                dropped = size - start
            else:
                fh.seek(size)
                fh.write(b"\n")
                dropped = 0
            fh.flush()
            os.fsync(fh.fileno())
        return dropped

    @staticmethod
    def _last_line_start(fh: Any, size: int, chunk: int = 65536) -> int:
        """Offset just after the last newline, scanning backwards (files may be large)."""
        end = size
        while end > 0:
            begin = max(0, end - chunk)
            fh.seek(begin)
            block: bytes = fh.read(end - begin)
            index = block.rfind(b"\n")
            if index >= 0:
                return begin + index + 1
            end = begin
        return 0

    def append_records(self, records: Sequence[CallRecord]) -> None:
        """One write, flushed and fsync'd before returning: acknowledged means durable."""
        if not records:
            return
        new_file = not self.results_path.exists()
        payload = b"".join(encode_line(r) for r in records)
        with open(self.results_path, "ab") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        if new_file:
            fsync_dir(self.path)

    def load_records(self) -> list[CallRecord]:
        """Every record, in file order. A torn final line is skipped; corruption anywhere
        else is an error naming file:line (silently skipping it would lose results)."""
        try:
            raw = self.results_path.read_bytes()
        except FileNotFoundError:
            return []
        lines = raw.split(b"\n")
        torn_tail = not raw.endswith(b"\n")
        records: list[CallRecord] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                records.append(decode_line(line))
            except msgspec.DecodeError as exc:
                if torn_tail and number == len(lines):
                    break
                raise InputError(f"{self.results_path}:{number}", f"corrupt record: {exc}") from None
        return records

    def done_keys(self) -> set[RecordKey]:
        return {r.key for r in self.load_records()}


class RunStore:
    """All runs under one root. Run IDs are unique across the whole store, not per date."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = Path(runs_dir).expanduser().resolve()

    def _inside(self, path: Path, what: str) -> Path:
        resolved = path.resolve()
        if resolved != self.runs_dir and not resolved.is_relative_to(self.runs_dir):
            raise InputError(what, f"path {path} leaves the run store {self.runs_dir}")
        return resolved

    def _date_dirs(self) -> list[Path]:
        if not self.runs_dir.is_dir():
            return []
        return sorted(p for p in self.runs_dir.iterdir() if _DATE_DIR_RE.fullmatch(p.name) and p.is_dir())

    def _existing(self, run_id: str) -> list[Path]:
        return [d / run_id for d in self._date_dirs() if os.path.lexists(d / run_id)]

    def check_new(self, run_id: str) -> None:
        """Refuse an ID already used anywhere in the store: a new run never mixes with an old."""
        validate_run_id(run_id)
        if self._existing(run_id):
            raise InputError("--run-id", f"run {run_id} already exists; use --resume {run_id}")

    def create(self, run_id: str, manifest: dict[str, Any]) -> RunDir:
        self.check_new(run_id)
        date_dir = self.runs_dir / run_date(run_id, manifest.get("created_at"))
        path = self._inside(date_dir / run_id, "--run-id")
        try:
            path.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            raise InputError("--run-id", f"run {run_id} already exists; use --resume {run_id}") from None
        fsync_dir(path.parent)
        run = RunDir(path, run_id)
        run.write_manifest(manifest)
        return run

    def find(self, run_id: str, where: str = "--run-id") -> RunDir:
        validate_run_id(run_id, where)
        found = self._existing(run_id)
        if not found:
            raise InputError(where, f"no run {run_id!r} in {self.runs_dir}")
        if len(found) > 1:
            dates = ", ".join(p.parent.name for p in found)
            raise InputError(where, f"run {run_id!r} exists under several dates ({dates})")
        path = self._inside(found[0], where)
        if not path.is_dir():
            raise InputError(where, f"{path} is not a run directory")
        return RunDir(path, run_id)

    def list_runs(self) -> list[RunDir]:
        """Every run directory with a manifest, sorted by run ID (= creation time for
        generated IDs)."""
        runs: list[RunDir] = []
        for date_dir in self._date_dirs():
            for child in date_dir.iterdir():
                if child.name.startswith(".") or not (child / MANIFEST).is_file():
                    continue
                runs.append(RunDir(self._inside(child, str(child)), child.name))
        return sorted(runs, key=lambda r: r.run_id)
