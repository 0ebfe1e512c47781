"""The apply log: who changed the shared registry, when, from which repo, and what.

It lives with the registry: a table in the same database for a SQL registry, a JSON-lines
file beside a local or S3 file registry (written under the registry's lock).
"""

from __future__ import annotations

import functools
import getpass
import json
import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

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


def record(store, repo_path: Path, owner: str, action: str, changes: list[dict], **extra) -> dict:
    entry = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "actor": actor(repo_path),
        "repo": str(repo_path),
        "owner": owner,
        "action": action,
        "changes": [change for change in changes if change["action"] != "unchanged"],
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


def with_digests(changes: list[dict], written: list) -> list[dict]:
    """``changes`` with the digest of each object written, so an audit can tell what its
    owner last applied from what someone changed since (``last_applied``)."""
    from feast_federation.registry.kinds import kind_of
    from feast_federation.registry.protos import digest

    digests = {table_key(kind_of(obj), obj.name): digest(obj.to_proto()) for obj in written}
    return [
        {**change, "digest": digests[key]} if key in digests else change
        for change in changes
        for key in [table_key(change["kind"], change["name"])]
    ]


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


def _append_line(path: Path, line: str) -> None:
    """One entry per line, in one write and fsynced: the log outlives the process."""
    with open(path, "a", encoding="utf-8") as log:
        log.write(line + "\n")
        log.flush()
        os.fsync(log.fileno())


def _json_lines(text: str) -> list[dict]:
    entries = []
    for line in text.splitlines():
        try:
            entries.append(json.loads(line))
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
        rows = connection.execute(select(table.c.entry).order_by(table.c.id)).all()
    return [json.loads(row.entry) for row in rows]
