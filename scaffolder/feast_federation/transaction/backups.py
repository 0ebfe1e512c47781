"""Registry snapshots: one before every platform write that changes something, and on demand.

A snapshot is the project's part of the registry as one serialized RegistryProto
(``registry.protos.snapshot_of``). Restoring one is a write like any other
(``ops.restore``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from feast_federation.errors import FederationError
from feast_federation.files import atomic_write
from feast_federation.registry.protos import parse_snapshot, project_objects, snapshot_of

DEFAULT_DIRECTORY = ".federation/backups"
DEFAULT_KEEP = 20


def snapshot(proto, project: str) -> bytes:
    """The project's objects in a RegistryProto, as one serialized RegistryProto."""
    return snapshot_of(project_objects(proto, project))


def backup_before_write(held: dict, platform_dir: Path, settings: dict) -> Path | None:
    """Write a timestamped snapshot of ``held`` (the project's objects as the write found
    them) and keep only the newest ``keep``.

    An empty registry is not a restore point: restoring it would delete everything, and
    kept as the newest snapshot it would push out the ones worth having.
    """
    directory, keep = backup_settings(platform_dir, settings)
    if not held:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = directory / f"registry-{stamp}.pb"
    atomic_write(target, snapshot_of(held))  # a crash leaves no truncated snapshot
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


def per_environment(settings: dict, env: str | None) -> dict:
    """The policy's ``backups`` settings for ``env``: each environment's snapshots in a
    folder of its own (``.federation/backups/<env>``)."""
    path = settings.get("path", DEFAULT_DIRECTORY)
    if env is None or not isinstance(path, str):
        return settings  # a wrong path is refused by ``backup_settings``
    return {**settings, "path": str(Path(path) / env)}


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
