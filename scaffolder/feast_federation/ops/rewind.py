"""Restoring the registry to the moment after an apply-log entry, from the log alone.

Every entry keeps each object it changed as it was before and after the write. The
registry as it was after entry N is today's registry with each object a later entry
changed put back as it was before the first of those entries (or removed, where it did
not exist). That holds only while the registry is what the log says it is: an object
written around feast-federation since is refused, not silently kept or overwritten.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from feast_federation import registry
from feast_federation.errors import FederationError
from feast_federation.onboarding.team_config import REGISTRY_SERVER_FILE
from feast_federation.ops import applylog
from feast_federation.ops.backup import (
    Restore,
    platform_store,
    restore_with,
    snapshot_of,
)
from feast_federation.registry.location import RegistryLocation
from feast_federation.registry.protos import digest, project_objects
from feast_federation.rules.kinds import BY_NAME, COLLECTIONS, KINDS, PERMISSION
from feast_federation.rules.policy import policy_section
from feast_federation.rules.values import shown

_TABLE_OF_COLLECTION = {
    kind.collection: kind.table for kind in KINDS if kind.collection in COLLECTIONS
}
_ENTRY_ID = re.compile("[0-9]+")  # not str.isdigit: "²" is a digit int() refuses
_BACKUP = "restore a backup instead (feast-federation restore --input FILE)"


def restore_to_point(repo, point: str, *, confirm: bool) -> Restore:
    """Plan putting the registry back as it was after the entry ``point`` names (an entry
    id, or a time: the last entry at or before it); carry it out if confirmed."""
    store = platform_store(repo)
    refuse_registry_server(repo.path, store, point)
    return restore_with(
        repo, store, lambda: state_at(store, point, repo.path), confirm=confirm, to=point
    )


def refuse_registry_server(platform_dir: Path, store, point: str) -> None:
    """Team applies through a registry server write around the apply log: where the org
    runs one, the log would call every team object a write outside feast-federation."""
    if (
        RegistryLocation.of(store).is_remote
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
        elif logged[key] is not None and logged[key] != held[key][1]:
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
