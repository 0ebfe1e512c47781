"""Where a store's registry lives: Feast's ``registry_type`` and its path, read from the
store's settings without touching the registry (what each kind can do: ``backends``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

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
