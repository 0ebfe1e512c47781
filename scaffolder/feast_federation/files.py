"""Local files shared between processes: an exclusive lock and atomic replacement; and
parsing a large file or registry without the cyclic garbage collector in the way.

Standard library only: the policy file is written with these while registering a team,
which never imports Feast.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import json
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from feast_federation.errors import FederationError, LockTimeout

_POLL_SECONDS = 0.1


@contextlib.contextmanager
def file_lock(lock_path: Path, timeout: float | None = None, repo: str = "") -> Iterator[None]:
    """An exclusive lock held on ``lock_path`` (created if missing), across processes.

    The holder writes who it is into the file, so that a waiter can say whom it waits for:
    the lock dies with its process, so only a live (possibly hung) process can hold it.
    A waiter says so once on stderr and gives up after ``timeout`` seconds (None: never).
    """
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise FederationError(
            f"lock {lock_path}: cannot open it as a file ({exc.strerror}); remove what is there"
        ) from None
    with os.fdopen(fd, "r+", encoding="utf-8") as lock:
        _acquire(lock, Path(lock_path), timeout)
        try:
            _write_holder(lock, repo)
            yield
        finally:
            lock.truncate(0)
            fcntl.flock(lock, fcntl.LOCK_UN)


def _acquire(lock, lock_path: Path, timeout: float | None) -> None:
    if _try_lock(lock):
        return
    limit = "waiting without a time limit" if timeout is None else f"giving up after {timeout:g} s"
    holder = _holder(lock_path)
    print(f"waiting for lock {lock_path}: held by {holder}; {limit}", file=sys.stderr, flush=True)
    deadline = None if timeout is None else time.monotonic() + timeout
    while not _try_lock(lock):
        if deadline is not None and time.monotonic() >= deadline:
            raise LockTimeout(
                f"lock {lock_path}: still held by {_holder(lock_path)} after {timeout:g} s; "
                "stop that process if it hung, or wait longer with --lock-timeout"
            )
        time.sleep(_POLL_SECONDS)


def _try_lock(lock) -> bool:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _write_holder(lock, repo: str) -> None:
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "repo": repo,
        "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    lock.seek(0)
    lock.truncate()
    lock.write(json.dumps(holder))
    lock.flush()


def _holder(lock_path: Path) -> str:
    """Who holds the lock, as its holder wrote it (it may be mid-write: then unknown)."""
    try:
        holder = json.loads(lock_path.read_text(encoding="utf-8"))
        where = f" (repo {holder['repo']})" if holder.get("repo") else ""
        return f"pid {holder['pid']} on {holder['host']}{where} since {holder['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not said who it is"


def atomic_write(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` whole: readers and crashes see the old or the new file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
        _fsync_directory(path.parent)  # the rename itself survives a power loss
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append_line(path: Path, line: str) -> None:
    """Append one line whole, fsynced. A last line left without its newline (a process
    killed while appending) is closed first, so the torn line stays a line of its own and
    never swallows the one appended now."""
    with open(path, "a+b") as handle:
        torn = handle.seek(0, os.SEEK_END) > 0 and _last_byte(handle) != b"\n"
        handle.write((b"\n" if torn else b"") + line.encode("utf-8") + b"\n")
        handle.flush()
        os.fsync(handle.fileno())


def _last_byte(handle) -> bytes:
    handle.seek(-1, os.SEEK_END)
    return handle.read(1)


def read_lines(path: Path) -> list[tuple[int, str]]:
    """Each line of ``path`` with its number (1-based); none when it does not exist."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return list(enumerate(text.splitlines(), start=1))


# --- bulk parses ------------------------------------------------------------------------------

_pauses = 0  # gc_paused blocks under way, in every thread
_resume = False  # whether the collector was on when the first of them began
_pauses_lock = threading.Lock()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a large text or registry is parsed
    into objects (the policy file, the SQL registry's rows).

    Every 700 new objects start a collection, and every so often one that scans every
    older object too: a parse that makes a few hundred thousand objects in a process
    holding Feast's imports scans them again and again, and costs more per object the
    larger it is. Paused, the parse is linear in its input; what it made is scanned once
    after. The collector resumes when the last pause (of any thread) ends, and only if it
    was on when the first began.
    """
    global _pauses, _resume
    with _pauses_lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()
