"""Registry backups: a snapshot before every platform sync, and exact restores.

A backup is the project's part of the registry as one serialized RegistryProto. Restoring
writes back every object it holds and deletes every object it does not; views it re-creates
or changes lost their online rows and need re-materializing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto

from feast_federation import registry
from feast_federation.errors import FederationError
from feast_federation.files import atomic_write
from feast_federation.registry.kinds import as_stored, from_proto
from feast_federation.registry.protos import changed_fields, fingerprint, project_objects
from feast_federation.rules.kinds import (
    BY_NAME,
    COLLECTIONS,
    FEATURE_VIEW,
    KINDS,
    STREAM_FEATURE_VIEW,
)
from feast_federation.rules.ownership import PLATFORM
from feast_federation.sync.plans import ADD, DELETE, UNCHANGED, UPDATE, Change, Plan

DEFAULT_DIRECTORY = ".federation/backups"
DEFAULT_KEEP = 20
# The registry collections a backup holds, each with the kind its objects are read back as
# (a RequestSource reads back through DataSource.from_proto as a RequestSource).
_KIND_OF_COLLECTION = {
    collection: next(kind.name for kind in reversed(KINDS) if kind.collection == collection)
    for collection in COLLECTIONS
}
_VIEWS = {BY_NAME[FEATURE_VIEW].collection, BY_NAME[STREAM_FEATURE_VIEW].collection}


def snapshot(store) -> bytes:
    """The project's objects in the registry, as one serialized RegistryProto."""
    return snapshot_of(project_objects(registry.registry_proto(store), store.project))


def snapshot_of(objects: dict[tuple[str, str], object]) -> bytes:
    """``project_objects``' form back as a snapshot."""
    result = RegistryProto()
    for (collection, _), item in objects.items():
        getattr(result, collection).append(item)
    return result.SerializeToString(deterministic=True)


def backup_before_sync(store, platform_dir: Path, settings: dict) -> Path | None:
    """Write a timestamped snapshot and keep only the newest ``keep``.

    An empty registry is not a restore point: restoring it would delete everything, and
    kept as the newest snapshot it would push out the ones worth having.
    """
    directory, keep = backup_settings(platform_dir, settings)
    data = snapshot(store)
    if is_empty(data, store.project):
        return None
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = directory / f"registry-{stamp}.pb"
    atomic_write(target, data)  # a crash leaves no truncated snapshot to restore from
    for old in sorted(directory.glob("registry-*.pb"))[:-keep]:
        old.unlink()
    return target


def write_backup(output: Path, data: bytes) -> None:
    """Write a snapshot to ``output`` whole, or say in one line why it cannot be written."""
    output = Path(output)
    if output.is_dir():
        raise FederationError(f"--output {output}: is a directory; name a file to write")
    if not output.parent.is_dir():
        raise FederationError(f"--output {output}: the directory {output.parent} does not exist")
    atomic_write(output, data)


def backup_settings(platform_dir: Path, settings: dict) -> tuple[Path, int]:
    """The snapshot directory and how many to keep, checked before anything is written."""
    where = f"{Path(platform_dir) / 'federation.yaml'}: backups"
    keep = settings.get("keep", DEFAULT_KEEP)
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise FederationError(
            f"{where}.keep must be a whole number of snapshots >= 1, not {keep!r}"
        )
    directory = Path(platform_dir) / str(settings.get("path", DEFAULT_DIRECTORY))
    existing = next((p for p in (directory, *directory.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise FederationError(f"{where}.path {directory}: {existing} is not a directory")
    return directory, keep


def is_empty(backup: bytes, project: str) -> bool:
    """True when the snapshot holds none of the project's objects."""
    return not project_objects(parse_snapshot(backup), project)


@dataclass
class Restore(Plan):
    """A plan back to a snapshot; the views it re-creates or changes lost their online rows."""

    rematerialize: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {**super().to_json(), "rematerialize": self.rematerialize}


def plan_restore(store, backup: bytes) -> Restore:
    wanted = project_objects(parse_snapshot(backup), store.project)
    current = project_objects(registry.registry_proto(store), store.project)
    restore = Restore(owner=PLATFORM, held=current)
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
    return restore


def carry_out(store, restore: Restore) -> None:
    store.apply(restore.to_apply, objects_to_delete=restore.to_delete, partial=False)


def parse_snapshot(backup: bytes) -> RegistryProto:
    proto = RegistryProto()
    try:
        proto.ParseFromString(backup)
    except Exception:
        raise FederationError(
            "the backup is not a registry snapshot written by feast-federation"
        ) from None
    return proto


def _feast_object(collection: str, proto, skip_udf: bool = False):
    return from_proto(_KIND_OF_COLLECTION[collection], proto, skip_udf=skip_udf)


def restore_registry(repo, backup: bytes, *, confirm: bool, allow_empty: bool = False) -> Restore:
    """Plan the restore of ``backup`` into the platform's registry; carry it out if confirmed."""
    store = platform_store(repo)
    if not allow_empty and is_empty(backup, store.project):
        raise FederationError(
            f"the backup holds no object of project {store.project}: restoring it would delete "
            "every object; pass --allow-empty if that is what you want"
        )
    return restore_with(repo, store, lambda: backup, confirm=confirm)


def platform_store(repo):
    if not repo.is_platform:
        raise FederationError(f"{repo.path}: restore runs from the platform repo")
    return registry.open_store(repo.path)


def restore_with(repo, store, wanted: Callable[[], bytes], *, confirm: bool, **logged) -> Restore:
    """Plan the restore of the snapshot ``wanted`` reads under the registry lock; carry it
    out and log it if confirmed (``logged``: more fields for the log entry)."""
    from feast_federation.ops import applylog
    from feast_federation.registry.location import exclusive

    with exclusive(store):
        restore = plan_restore(store, wanted())
        if confirm and restore.has_changes:
            changes = [change.to_json() for change in restore.changes]
            before = applylog.images(changes, restore.held)  # before the write edits them
            carry_out(store, restore)
            after = applylog.images(changes, as_stored(restore.to_apply, store.project))
            applylog.record(
                store, repo.path, PLATFORM, "restore", changes, before, after,
                rematerialize=restore.rematerialize, **logged,
            )  # fmt: skip
    return restore
