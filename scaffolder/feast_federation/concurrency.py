"""Serializing writes to the shared registry, whatever its kind.

- A local file registry is rewritten whole on every apply, with no lock: two concurrent
  applies lose each other's objects. Every plan and apply here holds an exclusive lock on
  a file beside it, around refresh + validate + apply.
- A SQL registry on SQLite writes one row per object and keeps concurrent applies, but the
  checks (ownership, delete protection) read before they write: the same local lock makes
  them exact, and "database is locked" from other writers is retried a bounded number of
  times.
- An S3 file registry is locked by a lease object beside it, taken with a conditional write
  (``s3_lock``).
- A GCS file registry is not locked from here: applies are refused unless the org
  serializes them itself and says so.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from .errors import FederationError

T = TypeVar("T")

OBJECT_STORE_OPT_IN = "FEAST_FEDERATION_SERIALIZED_BY_CI"
LOCKED_RETRIES = 8


def registry_location(store) -> tuple[str, str]:
    """(``registry_type``, effective path): local paths resolved as Feast resolves them."""
    config = store.config.registry
    kind, path = config.registry_type, str(config.path)
    if kind == "file" and "://" not in path and not Path(path).is_absolute():
        path = str(Path(store.repo_path) / path)
    return kind, path


def is_remote(store) -> bool:
    """Whether the registry is reached through a registry server."""
    return store.config.registry.registry_type == "remote"


def _lock_file(store) -> Path | None:
    kind, path = registry_location(store)
    if kind == "file" and "://" not in path:
        return Path(path).with_name(Path(path).name + ".lock")
    if kind == "sql" and path.startswith("sqlite:///"):
        database = Path(path.removeprefix("sqlite:///"))
        return database.with_name(database.name + ".lock")
    if kind == "file" and not os.environ.get(OBJECT_STORE_OPT_IN):
        store_name = "a GCS" if path.startswith("gs://") else "an object-store"
        raise FederationError(
            f"registry {path}: {store_name} file registry loses concurrent writes and cannot be "
            "locked from here; use the SQL registry (recommended) or S3, or serialize every "
            f"apply of the org in one CI queue and set {OBJECT_STORE_OPT_IN}=1"
        )
    return None  # a server-side database (postgres, ...) or a registry server


@contextlib.contextmanager
def exclusive(store) -> Iterator[None]:
    """Hold the registry's write lock, where it has one, for the duration."""
    kind, path = registry_location(store)
    unset = re.search(r"\$\{(\w+)\}", path)
    if unset:
        raise FederationError(f"registry {path}: the environment variable {unset[1]} is not set")
    if kind == "file" and path.startswith("s3://"):
        from .s3_lock import s3_lease

        with s3_lease(path):
            yield
        return
    lock_path = _lock_file(store)
    if lock_path is None:
        yield
        return
    if not lock_path.parent.is_dir():
        raise FederationError(
            f"registry {registry_location(store)[1]}: the registry is unreachable "
            f"({lock_path.parent} does not exist)"
        )
    with file_lock(lock_path):
        yield


@contextlib.contextmanager
def file_lock(lock_path: Path) -> Iterator[None]:
    """An exclusive lock held on ``lock_path`` (created if missing), across processes."""
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def retry_when_locked(action: Callable[[], T], attempts: int = LOCKED_RETRIES) -> T:
    """Run ``action``; retry with jittered backoff while SQLite says the database is locked."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Exception as exc:
            if not _database_locked(exc):
                raise
            if attempt == attempts:
                raise FederationError(
                    f"the registry database stayed locked through {attempts} attempts: another "
                    "writer holds it; nothing more was written, run the apply again"
                ) from None
            time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")


def _database_locked(exc: BaseException) -> bool:
    while exc is not None:
        if "database is locked" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
