"""Collects the Feast objects a repo defines at module level, as `feast apply` would.

Objects obtained through ``platform_view`` are references to someone else's objects, not
definitions, and are skipped.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from pathlib import Path

from feast.data_source import DataSource
from feast.entity import Entity
from feast.feature_service import FeatureService
from feast.feature_view import FeatureView
from feast.on_demand_feature_view import OnDemandFeatureView
from feast.permissions.permission import Permission

from feast_federation.errors import FederationError
from feast_federation.registry.kinds import definition
from feast_federation.rules.repo import Repo
from feast_federation.sync.references import is_reference

FEAST_OBJECT_TYPES = (
    DataSource,
    Entity,
    FeatureService,
    FeatureView,
    OnDemandFeatureView,
    Permission,
)


def collect(repo: Repo, references: list | None = None) -> list:
    """The repo's own objects, each once; a name defined twice differently is an error.

    Platform objects the repo only references are appended to ``references`` when given.
    """
    found: dict[tuple[str, str], tuple[object, str]] = {}
    modules = repo.definition_modules()
    _forget(module.stem for module in modules)
    for module_path in modules:
        module = _import(repo.path, module_path)
        for value in vars(module).values():
            if not isinstance(value, FEAST_OBJECT_TYPES):
                continue
            if is_reference(value):
                if references is not None:
                    references.append(value)
                continue
            key = (definition(value).kind, value.name)
            if key in found:
                first, where = found[key]
                if first is not value and first != value:
                    raise FederationError(
                        f"{key[0]} {key[1]}: defined twice ({where} and {module_path.name})"
                    )
                continue
            found[key] = (value, module_path.name)
    return [obj for obj, _ in found.values()]


def _import(root: Path, module_path: Path):
    name = module_path.stem
    # This repo's modules must win over same-named ones of repos collected earlier.
    if str(root) in sys.path:
        sys.path.remove(str(root))
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module(name)
    except FederationError:
        raise
    except Exception as exc:  # the team's own code failed; say where, in one line
        raise FederationError(
            f"{module_path.name}: importing it failed: {type(exc).__name__}: {exc}"
        ) from exc


def _forget(names: Iterable[str]) -> None:
    """Drop earlier imports of these modules, from this repo or a same-named one of another.

    Feast's apply mutates the objects it is given (inference), and another repo may have
    loaded a module of the same name: either way the next collection must import afresh.
    """
    for name in names:
        for module_name in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module_name]
