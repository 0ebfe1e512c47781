"""Opening a repo's FeatureStore once per process, with Feast's noise turned down and its
configuration errors turned into one line."""

from __future__ import annotations

import logging
import re
import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path

from feast import FeatureStore
from feast.infra.registry.file import FileRegistryStore

from feast_federation.errors import FederationError
from feast_federation.files import atomic_write

_stores: dict[tuple[Path, float], FeatureStore] = {}
_UNREACHABLE = ("unable to open database file", "could not connect", "Connection refused")

# Feast logs every registry miss at WARNING; a lookup that may miss is normal here.
logging.getLogger("feast.infra.registry").setLevel(logging.ERROR)
# A registry server's refusal of a token reaches the client as an unparseable error detail,
# which Feast logs before server_errors explains it in one line.
logging.getLogger("feast.errors").setLevel(logging.ERROR)
# Feast resets warning filters as its modules load, so this must come after them: every
# apply would otherwise warn that ODFVs are experimental.
warnings.filterwarnings("ignore", message="On demand feature view is an experimental feature")


def _write_registry_atomically(self: FileRegistryStore, registry_proto) -> None:
    """Feast's own writer opens registry.pb "wb" and rewrites it in place: a process killed
    there leaves it empty, and an empty file parses as an empty registry. This one writes
    beside it, fsyncs and renames, so a reader or a crash sees the old or the new registry."""
    registry_proto.version_id = str(uuid.uuid4())
    registry_proto.last_updated.FromDatetime(datetime.now(timezone.utc))
    self._filepath.parent.mkdir(exist_ok=True)
    atomic_write(self._filepath, registry_proto.SerializeToString())


# Installed on the class, not on each store: Feast opens further stores of its own (for
# materialization, for the CLI) and every one of them in this process must write safely.
FileRegistryStore._write_registry = _write_registry_atomically


def open_store(repo_path: Path) -> FeatureStore:
    """The repo's FeatureStore, one per repo and config version in this process."""
    repo_path = Path(repo_path).resolve()
    config = repo_path / "feature_store.yaml"
    try:
        key = (repo_path, config.stat().st_mtime)
    except FileNotFoundError:
        raise FederationError(f"{config}: not found") from None
    if key not in _stores:
        try:
            _stores[key] = FeatureStore(repo_path=str(repo_path))
        except Exception as exc:  # Feast raises many types for a bad config; all are user errors
            first_line = _first_problem(exc)
            if any(sign in first_line for sign in _UNREACHABLE):
                raise FederationError(
                    f"{config}: the registry is unreachable ({first_line})"
                ) from None
            raise FederationError(f"{config}: Feast cannot load it: {first_line}") from None
    return _stores[key]


def _first_problem(exc: Exception) -> str:
    """One line that says what is wrong: the field for a config validation error."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            return f"{'.'.join(str(part) for part in first['loc']) or 'config'}: {first['msg']}"
        except Exception:
            pass
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if len(lines) >= 3 and re.match(r"\d+ validation errors? for", lines[0]):
        return f"{lines[1]}: {lines[2]}"  # pydantic's text, wrapped by Feast: field, then problem
    return lines[0] if lines else type(exc).__name__
