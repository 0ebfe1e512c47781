"""The apply log: who changed the shared registry, when, from which repo, and what.

It lives with the registry: a table in the same database for a SQL registry, a JSON-lines
file beside a local or S3 file registry (written under the registry's lock). Each changed
object is kept as it was before and after the write (``images``), so the registry can be
put back to the moment after any entry (``ops.rewind``).
"""

from __future__ import annotations

import base64
import functools
import getpass
import json
import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from feast_federation.errors import FederationError
from feast_federation.registry.location import RegistryLocation
from feast_federation.rules.kinds import BY_NAME

TABLE = "feast_federation_apply_log"
LOG_SUFFIX = ".apply-log.jsonl"


def actor(repo_path: Path) -> str:
    """The CI actor if there is one, else the repo's git author, else the OS user."""
    for variable, system in (("GITHUB_ACTOR", "github"), ("GITLAB_USER_LOGIN", "gitlab")):
        if os.environ.get(variable):
            return f"{system}:{os.environ[variable]}"
    if os.environ.get("FEAST_FEDERATION_ACTOR"):
        return os.environ["FEAST_FEDERATION_ACTOR"]
    return _git_author(str(repo_path))


@functools.cache
def _git_author(repo_path: str) -> str:
    try:
        email = subprocess.run(
            ["git", "-C", str(repo_path), "config", "user.email"],
            capture_output=True, text=True, timeout=5,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        email = ""
    return email or getpass.getuser()


def record(
    store, repo_path: Path, owner: str, action: str, changes: list[dict], before, after, **extra
) -> dict:
    """Append an entry for a write that has just happened; ``before`` and ``after`` hold the
    ``images`` of its changed objects as they were before it wrote and as it wrote them."""
    changes = [change for change in changes if change["action"] != "unchanged"]
    entry = {
        "at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "actor": actor(repo_path),
        "repo": str(repo_path),
        "owner": owner,
        "action": action,
        "changes": _with_images(changes, before, after),
        **extra,
    }
    location = RegistryLocation.of(store)
    path = location.path
    if location.is_sql:
        _table_insert(store, entry)
    elif location.is_local_file:
        _append_line(location.beside(LOG_SUFFIX), json.dumps(entry))
    elif location.is_s3:
        from feast_federation.registry.s3_lock import s3_call

        log = client, bucket, key = _s3_log(path)
        text = _s3_text(path, log) + json.dumps(entry) + "\n"
        s3_call(path, client.put_object, Bucket=bucket, Key=key, Body=text.encode("utf-8"))
    return entry


class Image(NamedTuple):
    """One object as a one-object RegistryProto, base64, and the digest of what it defines."""

    text: str
    digest: str


def images(changes: list[dict], protos: dict) -> dict[tuple[str, str], Image | None]:
    """Each changed object of a kind backups keep, by ``table_key``, as ``protos`` holds it
    (stored protos by collection and name; None: not there). Made from what the plan read
    or the write wrote: recording reads nothing from the registry."""
    from feast_federation.registry.protos import digest

    found: dict[tuple[str, str], Image | None] = {}
    for change in changes:
        kind = BY_NAME.get(change["kind"])
        if change["action"] == "unchanged" or kind is None or not kind.backed_up:
            continue
        proto = protos.get((kind.collection, change["name"]))
        found[table_key(kind.name, change["name"])] = (
            None if proto is None else Image(encode_image(kind.collection, proto), digest(proto))
        )
    return found


def encode_image(collection: str, proto) -> str:
    from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto

    holder = RegistryProto()
    getattr(holder, collection).add().CopyFrom(proto)
    return base64.b64encode(holder.SerializeToString(deterministic=True)).decode("ascii")


def decode_image(image: str) -> tuple[str, object]:
    """The collection and proto of an image's one object."""
    from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto

    holder = RegistryProto()
    holder.ParseFromString(base64.b64decode(image))
    [(field, [proto])] = holder.ListFields()
    return field.name, proto


def _with_images(changes: list[dict], before: dict, after: dict) -> list[dict]:
    """``changes`` with each object's images, and the digest of what was written, so an
    audit can tell what its owner last applied from what someone changed since."""
    result = []
    for change in changes:
        key = table_key(change["kind"], change["name"])
        if key in after:
            old, new = before.get(key), after[key]
            change = {**change, "before": old and old.text, "after": new and new.text}
            if new is not None:
                change["digest"] = new.digest
        result.append(change)
    return result


def table_key(kind: str, name: str) -> tuple[str, str]:
    """Names are unique per registry table, and a restore logs a RequestSource as a
    DataSource: the log's objects are told apart by table and name."""
    return (BY_NAME[kind].table if kind in BY_NAME else kind, name)


def last_applied(entries: list[dict]) -> dict[tuple[str, str], tuple[str, str | None]]:
    """What the logged applies and restores left in the registry, replayed oldest first:
    ``table_key`` -> ``(kind, digest)``; the digest is None for entries logged before
    digests were recorded."""
    state: dict[tuple[str, str], tuple[str, str | None]] = {}
    for entry in entries:
        for change in entry.get("changes", []):
            key = table_key(change["kind"], change["name"])
            if change["action"] == "delete":
                state.pop(key, None)
            elif change["action"] in ("add", "update"):
                state[key] = (change["kind"], change.get("digest"))
    return state


def kept(store) -> bool:
    """Whether the registry's location has an apply log (a registry server's has none)."""
    location = RegistryLocation.of(store)
    return location.is_sql or location.is_local_file or location.is_s3


def read(store, owner: str | None = None) -> list[dict]:
    location = RegistryLocation.of(store)
    path = location.path
    if location.is_sql:
        entries = _table_rows(store)
    elif location.is_local_file:
        sidecar = location.beside(LOG_SUFFIX)
        entries = _json_lines(sidecar.read_text(encoding="utf-8") if sidecar.exists() else "")
    elif location.is_s3:
        entries = _json_lines(_s3_text(path, _s3_log(path)))
    else:
        raise FederationError(
            f"registry {path}: the apply log is kept only for SQL, local and S3 file registries"
        )
    return [entry for entry in entries if owner is None or entry["owner"] == owner]


def summary(entry: dict) -> dict:
    """An entry without its object images: what ``log --json`` prints."""
    changes = [
        {k: v for k, v in change.items() if k not in ("before", "after")}
        for change in entry["changes"]
    ]
    return {**entry, "changes": changes}


def _append_line(path: Path, line: str) -> None:
    """One entry per line, in one write and fsynced: the log outlives the process."""
    with open(path, "a", encoding="utf-8") as log:
        log.write(line + "\n")
        log.flush()
        os.fsync(log.fileno())


def _json_lines(text: str) -> list[dict]:
    """The entries, each with its line number as its id: lines are only ever appended."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            entries.append({"id": number, **json.loads(line)})
        except ValueError:
            continue  # a line torn by a crash while it was being appended
    return entries


def _s3_log(registry_url: str):
    from feast_federation.registry.s3_lock import s3_client, split_s3_url

    bucket, key = split_s3_url(registry_url)
    return s3_client(registry_url), bucket, key + LOG_SUFFIX


def _s3_text(registry_url: str, log: tuple) -> str:
    from feast_federation.registry.s3_lock import MissingObject, s3_call

    client, bucket, key = log
    try:
        answer = s3_call(registry_url, client.get_object, Bucket=bucket, Key=key)
    except MissingObject:
        return ""
    return answer["Body"].read().decode("utf-8")


def _table(metadata):
    from sqlalchemy import Column, Integer, String, Table, Text

    return Table(
        TABLE,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("entry", Text, nullable=False),
        Column("owner", String(64), nullable=False, index=True),
        extend_existing=True,
    )


_CREATED: set[str] = set()


def _table_insert(store, entry: dict) -> None:
    from sqlalchemy import MetaData

    engine = store.registry.write_engine
    table = _table(MetaData())
    if str(engine.url) not in _CREATED:  # once per database and process
        table.create(engine, checkfirst=True)
        _CREATED.add(str(engine.url))
    with engine.begin() as connection:
        connection.execute(table.insert().values(entry=json.dumps(entry), owner=entry["owner"]))


def _table_rows(store) -> list[dict]:
    from sqlalchemy import MetaData, inspect, select

    engine = store.registry.read_engine
    if not inspect(engine).has_table(TABLE):
        return []
    table = _table(MetaData())
    with engine.connect() as connection:
        rows = connection.execute(select(table.c.id, table.c.entry).order_by(table.c.id)).all()
    return [{"id": row.id, **json.loads(row.entry)} for row in rows]
