"""Where a store's registry lives, and how its writes are serialized.

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
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from feast_federation.errors import FederationError
from feast_federation.files import file_lock

T = TypeVar("T")

OBJECT_STORE_OPT_IN = "FEAST_FEDERATION_SERIALIZED_BY_CI"
LOCKED_RETRIES = 8
# How long a plan or apply waits for another one's lock before it gives up (--lock-timeout).
DEFAULT_LOCK_TIMEOUT = 300.0


@dataclass(frozen=True)
class RegistryLocation:
    """A store's registry: Feast's ``registry_type`` and its path, local paths resolved as
    Feast resolves them (against the repo)."""

    registry_type: str
    path: str

    @classmethod
    def of(cls, store) -> RegistryLocation:
        config = store.config.registry
        kind, path = config.registry_type, str(config.path)
        if kind == "file" and "://" not in path and not Path(path).is_absolute():
            path = str(Path(store.repo_path) / path)
        return cls(kind, path)

    @property
    def is_sql(self) -> bool:
        return self.registry_type == "sql"

    @property
    def is_sqlite(self) -> bool:
        return self.is_sql and self.path.startswith("sqlite:///")

    @property
    def is_local_file(self) -> bool:
        return self.registry_type == "file" and "://" not in self.path

    @property
    def is_s3(self) -> bool:
        return self.registry_type == "file" and self.path.startswith("s3://")

    @property
    def is_gcs(self) -> bool:
        return self.registry_type == "file" and self.path.startswith("gs://")

    @property
    def is_remote(self) -> bool:
        """Reached through a registry server."""
        return self.registry_type == "remote"

    def beside(self, suffix: str) -> Path:
        """A local file next to a local file or SQLite registry (its lock, its apply log)."""
        if self.is_local_file:
            base = Path(self.path)
        elif self.is_sqlite:
            base = Path(self.path.removeprefix("sqlite:///"))
        else:
            raise ValueError(f"registry {self.path} has no local directory")
        return base.with_name(base.name + suffix)

    def unset_variable(self) -> str | None:
        """The ``${VAR}`` the path still holds: Feast leaves unset variables unexpanded."""
        found = re.search(r"\$\{(\w+)\}", self.path)
        return found[1] if found else None

    @contextlib.contextmanager
    def exclusive(
        self, timeout: float | None = DEFAULT_LOCK_TIMEOUT, repo: str = ""
    ) -> Iterator[None]:
        """Hold this registry's write lock, where it has one, for the duration."""
        unset = self.unset_variable()
        if unset:
            raise FederationError(
                f"registry {self.path}: the environment variable {unset} is not set"
            )
        if self.is_s3:
            from feast_federation.registry.s3_lock import s3_lease

            with s3_lease(self.path):
                yield
            return
        lock_path = self._lock_file()
        if lock_path is None:
            yield
            return
        if not lock_path.parent.is_dir():
            raise FederationError(
                f"registry {self.path}: the registry is unreachable "
                f"({lock_path.parent} does not exist)"
            )
        with file_lock(lock_path, timeout=timeout, repo=repo):
            yield

    def _lock_file(self) -> Path | None:
        if self.is_local_file or self.is_sqlite:
            return self.beside(".lock")
        if self.registry_type == "file" and not os.environ.get(OBJECT_STORE_OPT_IN):
            store_name = "a GCS" if self.is_gcs else "an object-store"
            raise FederationError(
                f"registry {self.path}: {store_name} file registry loses concurrent writes and "
                "cannot be locked from here; use the SQL registry (recommended) or S3, or "
                f"serialize every apply of the org in one CI queue and set {OBJECT_STORE_OPT_IN}=1"
            )
        return None  # a server-side database (postgres, ...) or a registry server


def exclusive(store, timeout: float | None = DEFAULT_LOCK_TIMEOUT):
    """Hold the store's registry write lock, where it has one, for the duration."""
    return RegistryLocation.of(store).exclusive(timeout, repo=str(store.repo_path))


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
