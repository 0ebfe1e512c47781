"""Putting the registry back: to a snapshot (``restore --input``), or to the moment after
an apply-log entry (``restore --to``), from the log alone.

Both are writes like any other, through the transaction: planned under the lock, refused
when they would break team services or ODFVs (``--allow-breaking-teams`` overrides),
deletions confirmed, a snapshot taken first, and logged (so a restore can be undone too).
Views a restore re-creates or changes lost their online rows and need re-materializing.

Every apply-log entry keeps each object it changed as it was before and after the write.
The registry as it was after entry N is today's registry with each object a later entry
changed put back as it was before the first of those entries (or removed, where it did
not exist). That holds only while the registry is what the log says it is: an object
written around feast-federation since is refused, not silently kept or overwritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from feast_federation import registry, transaction
from feast_federation.errors import FederationError
from feast_federation.onboarding.team_config import REGISTRY_SERVER_FILE
from feast_federation.registry.backends import backend_of
from feast_federation.registry.kinds import from_proto
from feast_federation.registry.location import DEFAULT_LOCK_TIMEOUT
from feast_federation.registry.protos import (
    changed_fields,
    digest,
    fingerprint,
    parse_snapshot,
    project_objects,
    snapshot_of,
)
from feast_federation.registry.versions import keep_active_versions
from feast_federation.rules.environments import environment
from feast_federation.rules.kinds import (
    BY_NAME,
    COLLECTIONS,
    FEATURE_VIEW,
    KINDS,
    PERMISSION,
    STREAM_FEATURE_VIEW,
)
from feast_federation.rules.ownership import PLATFORM
from feast_federation.rules.policy import load_policy, policy_section
from feast_federation.rules.repo import Repo
from feast_federation.rules.values import shown
from feast_federation.transaction import Safeguards, Writer, applylog
from feast_federation.transaction.backups import is_empty, per_environment
from feast_federation.transaction.plans import ADD, DELETE, UNCHANGED, UPDATE, Change, Plan

# The registry collections a backup holds, each with the kind its objects are read back as
# (a RequestSource reads back through DataSource.from_proto as a RequestSource).
_KIND_OF_COLLECTION = {
    collection: next(kind.name for kind in reversed(KINDS) if kind.collection == collection)
    for collection in COLLECTIONS
}
_VIEWS = {BY_NAME[FEATURE_VIEW].collection, BY_NAME[STREAM_FEATURE_VIEW].collection}


@dataclass
class Restore(Plan):
    """A plan back to a snapshot; the views it re-creates or changes lost their online rows."""

    rematerialize: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {**super().to_json(), "rematerialize": self.rematerialize}


@dataclass(frozen=True)
class RestoreOptions:
    confirm: bool = False  # carry it out; else only plan it
    allow_breaking: bool = False
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT


def restore_snapshot(
    repo: Repo, backup: bytes, options: RestoreOptions, *, allow_empty: bool = False
) -> Restore:
    """Plan the restore of ``backup`` into the platform's registry; carry it out if confirmed."""
    store = platform_store(repo)
    if not allow_empty and is_empty(backup, store.project):
        raise FederationError(
            f"the backup holds no object of project {store.project}: restoring it would delete "
            "every object; pass --allow-empty if that is what you want"
        )
    return _restore(repo, store, lambda s: backup, options)


def restore_to_point(repo: Repo, point: str, options: RestoreOptions) -> Restore:
    """Plan putting the registry back as it was after the entry ``point`` names (an entry
    id, or a time: the last entry at or before it); carry it out if confirmed."""
    store = platform_store(repo)
    refuse_registry_server(repo.path, store, point)
    wanted = lambda s: state_at(s, point, repo.path)  # noqa: E731 - read under the lock
    return _restore(repo, store, wanted, options, to=point)


def platform_store(repo: Repo):
    if not repo.is_platform:
        raise FederationError(f"{repo.path}: restore runs from the platform repo")
    return registry.open_store(repo.path)


def _restore(repo: Repo, store, wanted, options: RestoreOptions, **logged) -> Restore:
    """The restore of the snapshot ``wanted(store)`` gives under the registry's lock,
    through the transaction."""
    policy = load_policy(repo.path)
    planner = lambda s: plan_restore(s, wanted(s), policy)  # noqa: E731
    writer = Writer(PLATFORM, repo.path)
    if not options.confirm:
        return transaction.plan(
            store, writer, planner, lock_timeout=options.lock_timeout,
            allow_breaking=options.allow_breaking,
        )  # fmt: skip
    safeguards = Safeguards(
        lock_timeout=options.lock_timeout, allow_breaking=options.allow_breaking,
        backup=per_environment(policy_section(repo.path, "backups"), environment(repo.path)),
        log=logged,
    )  # fmt: skip
    return transaction.write(store, writer, planner, safeguards)


def plan_restore(store, backup: bytes, policy=None) -> Restore:
    """From the registry as it is to ``backup``'s objects, for the transaction to check."""
    wanted = project_objects(parse_snapshot(backup), store.project)
    current = project_objects(registry.registry_proto(store), store.project)
    restore = Restore(
        owner=PLATFORM, held=current, protects=policy, action="restore", noun="restore"
    )
    for key in sorted(wanted.keys() | current.keys()):
        collection, name = key
        if key not in current:
            action, fields = ADD, ()
        elif key not in wanted:
            action, fields = DELETE, ()
        elif fingerprint(wanted[key]) != fingerprint(current[key]):
            action, fields = UPDATE, changed_fields(wanted[key], current[key])
        else:
            action, fields = UNCHANGED, ()
        restore.changes.append(Change(_KIND_OF_COLLECTION[collection], name, action, fields))
        if action in (ADD, UPDATE):
            restore.to_apply.append(_feast_object(collection, wanted[key]))
            if collection in _VIEWS:
                restore.rematerialize.append(name)
        elif action == DELETE:
            restore.to_delete.append(_feast_object(collection, current[key], skip_udf=True))
    # A view put back with the schema it has now stays at its active version; one put back
    # with another schema becomes a new version (history is append-only).
    keep_active_versions(restore.to_apply, restore.to_apply, current)
    return restore


def _feast_object(collection: str, proto, skip_udf: bool = False):
    return from_proto(_KIND_OF_COLLECTION[collection], proto, skip_udf=skip_udf)


def snapshot(store) -> bytes:
    """The project's objects in the registry, as one serialized RegistryProto."""
    return snapshot_of(project_objects(registry.registry_proto(store), store.project))


_TABLE_OF_COLLECTION = {
    kind.collection: kind.table for kind in KINDS if kind.collection in COLLECTIONS
}
_ENTRY_ID = re.compile("[0-9]+")  # not str.isdigit: "²" is a digit int() refuses
_BACKUP = "restore a backup instead (feast-federation restore --input FILE)"


def refuse_registry_server(platform_dir: Path, store, point: str) -> None:
    """Team applies through a registry server write around the apply log: where the org
    runs one, the log would call every team object a write outside feast-federation."""
    if (
        not backend_of(store).can_rewind
        or (platform_dir / REGISTRY_SERVER_FILE).is_file()
        or policy_section(platform_dir, "registry_server")
    ):
        raise FederationError(
            f"--to {point}: this org writes through a registry server, and the apply log does "
            f"not cover writes made through it (team applies); {_BACKUP}"
        )


def state_at(store, point: str, repo_path) -> bytes:
    """The project's objects as they were at ``point``, as a snapshot; the caller holds the
    registry lock."""
    entries = applylog.read(store)
    later = entries_after(entries, point)
    refuse_broken_chain(entries, later, point)
    current = project_objects(registry.registry_proto(store), store.project)
    refuse_unlogged(current, entries, point, repo_path)
    # By table_key; each an object held now, or the image to put back (decoded once, last).
    wanted: dict[tuple[str, str], tuple[str, object] | str] = {
        (_TABLE_OF_COLLECTION[collection], name): (collection, proto)
        for (collection, name), proto in current.items()
    }
    for entry in reversed(later):  # newest first: the earliest before-image wins
        for change in entry["changes"]:
            if "before" not in change:
                continue  # a kind backups leave alone (the Project)
            key = applylog.table_key(change["kind"], change["name"])
            wanted.pop(key, None)
            if change["before"] is not None:
                wanted[key] = change["before"]
    objects = {}
    for (_, name), item in wanted.items():
        collection, proto = applylog.decode_image(item) if isinstance(item, str) else item
        objects[(collection, name)] = proto
    return snapshot_of(objects)


def entries_after(entries: list[dict], point: str) -> list[dict]:
    """The entries to undo to get back to ``point``; refused when the log cannot."""
    if not entries:
        raise FederationError(f"the apply log is empty: there is no point {point} to restore to")
    first = entries[0]
    if _ENTRY_ID.fullmatch(point.strip()):
        number = int(point)
        if not any(entry["id"] == number for entry in entries):
            raise FederationError(
                f"apply-log entry {number}: no such entry (the log holds entries {first['id']} "
                f"to {entries[-1]['id']}; see feast-federation log)"
            )
        later = [entry for entry in entries if entry["id"] > number]
    else:
        moment = _moment(point)
        if moment < _moment(first["at"]):
            raise FederationError(
                f"{point} is before the apply log starts ({first['at']}, entry {first['id']}): "
                f"the log cannot restore to it; {_BACKUP}"
            )
        later = [entry for entry in entries if _moment(entry["at"]) > moment]
    for entry in later:
        if any("before" not in c and _backed_up(c["kind"]) for c in entry["changes"]):
            raise FederationError(
                f"apply-log entry {entry['id']} ({entry['at']}) was logged without the objects "
                f"it changed: the log cannot undo it; {_BACKUP}"
            )
    return later


def refuse_broken_chain(entries: list[dict], later: list[dict], point: str) -> None:
    """Refuse when an entry to undo holds images the log cannot vouch for: undoing it writes
    its before-images back."""
    undone = {entry["id"] for entry in later}
    breaks = [item for item in applylog.chain_breaks(entries) if item.entry in undone]
    if breaks:
        more = f" (and {len(breaks) - 1} more)" if len(breaks) > 1 else ""
        raise FederationError(f"{breaks[0]}{more}: the log cannot restore to {point}; {_BACKUP}")


def refuse_unlogged(current: dict, entries: list[dict], point: str, repo_path) -> None:
    """Refuse unless every object the registry holds is the one the log last recorded."""
    logged = {
        key: recorded
        for key, (kind, recorded) in applylog.last_applied(entries).items()
        if _backed_up(kind)
    }
    held = {
        (_TABLE_OF_COLLECTION[collection], name): (collection, digest(proto))
        for (collection, name), proto in current.items()
    }
    problems = []
    for key in sorted(logged.keys() | held.keys()):
        table, name = key
        if key not in held:
            problems.append(f"the log's {table} {name} is not in the registry")
        elif key not in logged:
            if held[key][0] != BY_NAME[PERMISSION].collection:  # not the federation's own
                problems.append(f"{table} {name} is in the registry but in no log entry")
        elif logged[key] != held[key][1]:
            problems.append(f"{table} {name} differs from what the log last recorded")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise FederationError(
            f"the registry was written outside feast-federation since the log last recorded "
            f"it: {problems[0]}{more}; the log cannot restore to {point}: see "
            f"feast-federation audit {repo_path}, or {_BACKUP}"
        )


def _backed_up(kind: str) -> bool:
    return kind in BY_NAME and BY_NAME[kind].backed_up


def _moment(text: str) -> datetime:
    """A point or a log entry's time; a trailing Z is UTC (which fromisoformat accepts only
    from Python 3.11)."""
    stripped = text.strip()
    if stripped[-1:] in ("Z", "z"):
        stripped = stripped[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise FederationError(
            f"--to {shown(text)}: neither an apply-log entry id nor an ISO 8601 time "
            "(2026-01-31T12:00:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
