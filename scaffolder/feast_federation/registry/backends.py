"""What each kind of registry can do for a write: lock, keep a log, delete, rewind.

One class per kind (SQL, local file, S3 file, GCS file, registry server), chosen once from
the store's settings (``backend_of``), instead of if-chains over the registry type:

- A local file registry is rewritten whole on every apply, with no lock: two concurrent
  applies lose each other's objects. Every plan and apply holds an exclusive lock on a
  file beside it; the apply log is a JSON-lines file beside it too.
- A SQL registry writes one row per object and keeps concurrent applies, but the checks
  (ownership, delete protection) read before they write: on SQLite the same local lock
  makes them exact; a server database (PostgreSQL) is not locked from here. The apply log
  is a table in the same database.
- An S3 file registry is locked by a lease object beside it, taken with a conditional
  write (``s3_lock``); the apply log is an object beside it.
- A GCS file registry is not locked from here: writes are refused unless the org
  serializes them itself and says so. It keeps no apply log.
- A registry server (``registry_type: remote``) writes for its clients: it locks nothing,
  keeps no log here, and a team's token may not delete (teams mark objects for removal).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from feast_federation.errors import FederationError
from feast_federation.files import append_line, file_lock, read_lines
from feast_federation.registry.location import DEFAULT_LOCK_TIMEOUT, RegistryLocation

OBJECT_STORE_OPT_IN = "FEAST_FEDERATION_SERIALIZED_BY_CI"
LOG_SUFFIX = ".apply-log.jsonl"
LOG_TABLE = "feast_federation_apply_log"


class LogStore:
    """Where the apply log's entries live: appended one at a time, read whole, oldest first.

    ``append`` takes an entry as JSON text; ``read`` returns ``(id, text)`` pairs.
    """

    def append(self, entry: dict) -> None:
        raise NotImplementedError

    def read(self) -> list[tuple[int, str]]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Make what ``append`` writes into exist, before a transaction it joins begins."""


@dataclass
class Backend:
    """A registry kind: its location and what a write may count on."""

    store: object
    location: RegistryLocation
    # Whether the registry takes deletions from any writer (a registry server's team
    # tokens hold no DELETE) and whether the apply log sees every write (restore --to).
    can_delete: bool = True
    can_rewind: bool = True
    # A file-backed registry is rewritten whole from a cached copy: a write is read back.
    reads_back: bool = False
    # A registry server explains its own refusals (server_errors); elsewhere a write that
    # fails after writing some objects says so and how to converge.
    reports_part_way: bool = True

    @property
    def name(self) -> str:
        return type(self).__name__.removesuffix("Backend").lower()

    @contextlib.contextmanager
    def lock(self, timeout: float | None = DEFAULT_LOCK_TIMEOUT, repo: str = "") -> Iterator[None]:
        """Hold this registry's write lock, where it has one, for the duration."""
        self._refuse_unset_variable()
        yield

    def log(self) -> LogStore | None:
        """The apply log's store, or None where this registry keeps none."""
        return None

    def _refuse_unset_variable(self) -> None:
        unset = self.location.unset_variable()
        if unset:
            raise FederationError(
                f"registry {self.location.path}: the environment variable {unset} is not set"
            )


class _BesideLock(Backend):
    """A registry with a local directory: its lock is a file beside it."""

    @contextlib.contextmanager
    def lock(self, timeout: float | None = DEFAULT_LOCK_TIMEOUT, repo: str = "") -> Iterator[None]:
        self._refuse_unset_variable()
        lock_path = self.location.beside(".lock")
        if not lock_path.parent.is_dir():
            raise FederationError(
                f"registry {self.location.path}: the registry is unreachable "
                f"({lock_path.parent} does not exist)"
            )
        with file_lock(lock_path, timeout=timeout, repo=repo):
            yield


class SqlBackend(Backend):
    """A SQL registry on a server database: written eagerly, one row per object."""

    def log(self) -> LogStore:
        return _TableLog(self.store)


class SqliteBackend(_BesideLock, SqlBackend):
    """A SQL registry in a SQLite file: locked by a file beside it."""


class LocalFileBackend(_BesideLock):
    def log(self) -> LogStore:
        return _FileLog(self.location.beside(LOG_SUFFIX))


class S3FileBackend(Backend):
    @contextlib.contextmanager
    def lock(self, timeout: float | None = DEFAULT_LOCK_TIMEOUT, repo: str = "") -> Iterator[None]:
        self._refuse_unset_variable()
        from feast_federation.registry.s3_lock import s3_lease

        with s3_lease(self.location.path):
            yield

    def log(self) -> LogStore:
        return _S3Log(self.location.path)


class GcsFileBackend(Backend):
    """A file registry on GCS (or another object store): nothing here can lock it."""

    store_name = "a GCS"

    @contextlib.contextmanager
    def lock(self, timeout: float | None = DEFAULT_LOCK_TIMEOUT, repo: str = "") -> Iterator[None]:
        self._refuse_unset_variable()
        if not os.environ.get(OBJECT_STORE_OPT_IN):
            raise FederationError(
                f"registry {self.location.path}: {self.store_name} file registry loses "
                "concurrent writes and cannot be locked from here; use the SQL registry "
                "(recommended) or S3, or serialize every apply of the org in one CI queue and "
                f"set {OBJECT_STORE_OPT_IN}=1"
            )
        yield


class _OtherObjectStoreBackend(GcsFileBackend):
    store_name = "an object-store"


class RemoteBackend(Backend):
    """A registry server writes for its clients; team tokens hold no DELETE."""


def backend_of(store) -> Backend:
    location = RegistryLocation.of(store)
    if location.is_remote:
        return RemoteBackend(
            store, location, can_delete=False, can_rewind=False, reports_part_way=False
        )
    if location.is_sqlite:
        return SqliteBackend(store, location)
    if location.is_sql:
        return SqlBackend(store, location)
    if location.is_local_file:
        return LocalFileBackend(store, location, reads_back=True)
    if location.is_s3:
        return S3FileBackend(store, location, reads_back=True)
    if location.is_gcs:
        return GcsFileBackend(store, location, can_rewind=False, reads_back=True)
    return _OtherObjectStoreBackend(store, location, can_rewind=False, reads_back=True)


# --- where the apply log lives -----------------------------------------------------------


class _FileLog(LogStore):
    """One entry per line, each appended whole and fsynced; ids are line numbers."""

    def __init__(self, path: Path):
        self.path = path

    def append(self, entry: dict) -> None:
        append_line(self.path, json.dumps(entry))

    def read(self) -> list[tuple[int, str]]:
        return read_lines(self.path)


class _S3Log(LogStore):
    """An object beside the registry, rewritten whole (under the registry's lease)."""

    def __init__(self, registry_url: str):
        from feast_federation.registry.s3_lock import s3_client, split_s3_url

        self.url = registry_url
        bucket, key = split_s3_url(registry_url)
        self.client, self.bucket, self.key = s3_client(registry_url), bucket, key + LOG_SUFFIX

    def append(self, entry: dict) -> None:
        from feast_federation.registry.s3_lock import s3_call

        text = self._text()
        if text and not text.endswith("\n"):
            text += "\n"
        body = (text + json.dumps(entry) + "\n").encode("utf-8")
        s3_call(self.url, self.client.put_object, Bucket=self.bucket, Key=self.key, Body=body)

    def read(self) -> list[tuple[int, str]]:
        return list(enumerate(self._text().splitlines(), start=1))

    def _text(self) -> str:
        from feast_federation.registry.s3_lock import MissingObject, s3_call

        try:
            answer = s3_call(self.url, self.client.get_object, Bucket=self.bucket, Key=self.key)
        except MissingObject:
            return ""
        return answer["Body"].read().decode("utf-8")


_CREATED: set[str] = set()


class _TableLog(LogStore):
    """A table in the SQL registry's own database."""

    def __init__(self, store):
        from feast_federation.registry.feast067 import sql_engines

        self.writing, self.reading = sql_engines(store)

    def prepare(self) -> None:
        from sqlalchemy import MetaData

        if str(self.writing.url) not in _CREATED:  # once per database and process
            _table(MetaData()).create(self.writing, checkfirst=True)
            _CREATED.add(str(self.writing.url))

    def append(self, entry: dict) -> None:
        from sqlalchemy import MetaData

        self.prepare()
        table = _table(MetaData())
        with self.writing.begin() as connection:
            connection.execute(table.insert().values(entry=json.dumps(entry), owner=entry["owner"]))

    def read(self) -> list[tuple[int, str]]:
        from sqlalchemy import MetaData, inspect, select

        if not inspect(self.reading).has_table(LOG_TABLE):
            return []
        table = _table(MetaData())
        with self.reading.connect() as connection:
            rows = connection.execute(select(table.c.id, table.c.entry).order_by(table.c.id))
            return [(row.id, row.entry) for row in rows.all()]


def _table(metadata):
    from sqlalchemy import Column, Integer, String, Table, Text

    return Table(
        LOG_TABLE,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("entry", Text, nullable=False),
        Column("owner", String(64), nullable=False, index=True),
        extend_existing=True,
    )
