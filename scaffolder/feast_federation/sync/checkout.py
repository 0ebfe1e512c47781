"""Definitions that store a path inside the repo's checkout, refused.

The registry stores what a definition holds: a FileSource built from ``Path(__file__)``
stores the folder this repo happens to be checked out in, so every clone (a laptop, each CI
job's build folder) plans an update to it, applies it, and leaves the shared registry
pointing where nothing is for anyone else. Data lives at the platform's data location.
"""

from __future__ import annotations

import os
from pathlib import Path

from feast_federation.registry.kinds import kind_of, proto_of, with_implicit_writes
from feast_federation.registry.protos import stored_strings
from feast_federation.rules.repo import DATA_LOCATION_SETTING, Repo


def checkout_paths(repo: Repo, objects: list) -> list[str]:
    """One line for each object (and each source it writes along) that stores a path inside
    ``repo``'s checkout."""
    root = Path(os.path.realpath(repo.path))
    problems = []
    for obj in _each_once(with_implicit_writes(objects)):
        inside = next((v for v in stored_strings(proto_of(obj)) if _inside(v, root)), None)
        if inside is not None:
            problems.append(
                f"{kind_of(obj)} {obj.name}: stores the path {inside}, inside this checkout "
                f"({root}); every clone would store its own: keep the data outside the repo "
                f"(the platform's {DATA_LOCATION_SETTING} in pyproject.toml)"
            )
    return problems


def _inside(value: str, root: Path) -> bool:
    path = value.removeprefix("file://")
    if not path.startswith("/"):
        return False
    resolved = Path(os.path.realpath(path))
    return resolved == root or root in resolved.parents


def _each_once(objects: list) -> list:
    seen: set[tuple[str, str]] = set()
    unique = []
    for obj in objects:
        key = (kind_of(obj), obj.name)
        if key not in seen:
            seen.add(key)
            unique.append(obj)
    return unique
