"""The request log's local spool: an append-only file per relay process.

Every answered request is appended here, masked, before its answer is sent;
the log writer then copies the records to the store and cuts the file once
they are in. A process killed at any moment leaves its records on disk, and
so does a store that is locked or down: the next writer that finds them
copies them over, skipping request ids the store already has.

Each process writes in its own directory under ``<data dir>/spool`` and holds
an exclusive ``flock`` on it while it runs. A directory whose lock can be
taken belongs to a process that ended, and is adopted and emptied.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import structlog

logger = structlog.get_logger(__name__)

LOCK_NAME = "lock"
SEGMENT_SUFFIX = ".jsonl"
ROTATE_BYTES = 4 * 1024 * 1024


class Spool:
    """This process's spool directory and the segment file being appended to."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.root = root
        self.directory = root / f"{os.getpid()}-{secrets.token_hex(4)}"
        self.directory.mkdir(mode=0o700)
        lock_fd = _lock(self.directory)
        assert lock_fd is not None, "a new spool directory is locked by nobody"
        self._lock_fd = lock_fd
        self._mutex = threading.Lock()
        self._number = 0
        self._fd = self._open_segment(self._number)
        self._dirty = False
        self._new: list[tuple[dict[str, Any], int]] = []
        self.offset = 0

    @property
    def segment(self) -> Path:
        return _segment_path(self.directory, self._number)

    def append(self, line: bytes, record: dict[str, Any]) -> None:
        """Append one record line; called on the request path, never blocks long.

        The record is also kept in memory, with the line's size, until
        ``take_new`` hands it to the writer: the writer never reads the file
        back, which it only does for the spools of ended processes.
        """
        with self._mutex:
            written = os.write(self._fd, line)
            if written != len(line):
                view = memoryview(line)[written:]
                while view:
                    view = view[os.write(self._fd, view) :]
            self._dirty = True
            self._new.append((record, len(line)))

    def take_new(self) -> list[tuple[dict[str, Any], int]]:
        """Return the records appended since the last call, with their sizes."""
        with self._mutex:
            new, self._new = self._new, []
        return new

    def peek_oldest_new(self) -> dict[str, Any] | None:
        """Return the oldest record not yet taken by ``take_new``, if any."""
        with self._mutex:
            return self._new[0][0] if self._new else None

    def sync(self) -> None:
        """Flush appended records to disk (called by the writer, in batches)."""
        if self._dirty:
            self._dirty = False
            os.fsync(self._fd)

    def commit(self, size: int) -> None:
        """Mark the next ``size`` bytes of appended records as stored."""
        self.offset += size

    def rotate_if_done(self) -> None:
        """Start a new segment once the current one is large and fully stored."""
        if self.offset < ROTATE_BYTES:
            return
        with self._mutex:
            if os.fstat(self._fd).st_size != self.offset:
                return
            old_fd, old_path = self._fd, self.segment
            self._number += 1
            self._fd = self._open_segment(self._number)
            self.offset = 0
        os.close(old_fd)
        old_path.unlink()

    def close(self) -> bool:
        """Close the spool; remove it if every record was stored, else keep it."""
        self.sync()
        os.close(self._fd)
        done = os.path.getsize(self.segment) == self.offset
        if done:
            shutil.rmtree(self.directory, ignore_errors=True)
        os.close(self._lock_fd)
        return done

    def _open_segment(self, number: int) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        fd = os.open(_segment_path(self.directory, number), flags, 0o600)
        _sync_directory(self.directory)
        return fd


def orphans(root: Path, own: Path) -> Iterator[tuple[Path, int]]:
    """Yield spool directories of ended processes, locked for the caller."""
    for directory in sorted(root.iterdir()):
        if directory == own or not directory.is_dir():
            continue
        fd = _lock(directory)
        if fd is not None:
            yield directory, fd


def read_directory(directory: Path) -> list[dict[str, Any]]:
    """Return every complete record of an ended process's spool, in order."""
    records: list[dict[str, Any]] = []
    for path in sorted(directory.glob(f"*{SEGMENT_SUFFIX}")):
        records.extend(_read_from(path, 0, -1)[0])
    return records


def remove_directory(directory: Path, lock_fd: int) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    os.close(lock_fd)


def _read_from(path: Path, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Parse whole lines after ``offset``; return them and the bytes consumed."""
    with path.open("rb") as handle:
        handle.seek(offset)
        data = handle.read(limit)
    end = data.rfind(b"\n") + 1
    records = []
    for line in data[:end].splitlines():
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            logger.warning("unreadable request log spool line skipped", path=str(path))
    return records, end


def _segment_path(directory: Path, number: int) -> Path:
    return directory / f"{number:010d}{SEGMENT_SUFFIX}"


def _lock(directory: Path) -> int | None:
    """Take the directory's exclusive lock, or return None if a process has it."""
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
