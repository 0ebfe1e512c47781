"""Collects the Feast objects a repo defines at module level, found the way `feast apply` finds
them (``rules.repo.definition_modules``: Feast's discovery minus ``NEVER_DEFINITIONS``), each
imported by its package path.

Objects obtained through ``platform_view`` are references to someone else's objects, not
definitions, and are skipped.
"""

from __future__ import annotations

import contextlib
import importlib
import linecache
import os
import posix
import sys
from collections.abc import Iterable
from pathlib import Path

from feast_federation.errors import FederationError, first_line
from feast_federation.registry.feast067 import pending_references
from feast_federation.registry.kinds import definition, is_feast_object
from feast_federation.rules.repo import Repo, definition_modules
from feast_federation.sync.references import is_reference


def module_name(root: Path, path: Path) -> str:
    """The package path Feast imports ``path`` by (repo_operations.py_path_to_module, which
    reads it relative to the working directory that `feast` changed into: the repo)."""
    relative = str(path.relative_to(root))[: -len(".py")]
    return relative.replace("./", "").replace("/", ".").replace("\\", ".")


def collect(repo: Repo, references: list | None = None) -> list:
    """The repo's own objects, each once; a name defined twice differently is an error.

    Platform objects the repo only references are appended to ``references`` when given.
    """
    found: dict[tuple[str, str], tuple[object, str]] = {}
    modules = {module_name(repo.path, path): path for path in definition_modules(repo.path)}
    _forget(modules)
    for name, module_path in modules.items():
        where = str(module_path.relative_to(repo.path))
        module = import_definitions(repo.path, name, where)
        for value in vars(module).values():
            if not is_feast_object(value):
                continue
            if is_reference(value):
                if references is not None:
                    references.append(value)
                continue
            key = (definition(value).kind, value.name)
            if key in found:
                first, first_where = found[key]
                # A service's string references are not compared by Feast's __eq__.
                differs = first != value or pending_references(first) != pending_references(value)
                if first is not value and differs:
                    raise FederationError(
                        f"{key[0]} {key[1]}: defined twice ({first_where} and {where})"
                    )
                continue
            found[key] = (value, where)
    return [obj for obj, _ in found.values()]


def import_definitions(root: Path, name: str, where: str):
    """Import module ``name`` of the repo at ``root``; any failure, exit included, is one
    line naming ``where``."""
    # This repo's modules must win over same-named ones of repos collected earlier.
    if str(root) in sys.path:
        sys.path.remove(str(root))
    sys.path.insert(0, str(root))
    try:
        with _no_hard_exit(where):
            return importlib.import_module(name)
    except FederationError:
        raise
    except Exception as exc:  # the repo's own code failed; say where, in one line
        raise FederationError(
            f"{where}: importing it failed: {type(exc).__name__}: {first_line(exc)}"
        ) from None
    except BaseException as exc:
        # sys.exit() or a KeyboardInterrupt raised by the module: left alone, it would end
        # the apply quietly, with exit 0 for sys.exit(0), having applied nothing.
        raise FederationError(
            f"{where}: importing it ended the run ({exc!r}); a definition module must not exit"
        ) from None


class _HardExit(BaseException):
    """``os._exit`` called by a definition module while it was imported."""

    def __init__(self, status: object):
        super().__init__(status)
        self.status = status


@contextlib.contextmanager
def _no_hard_exit(where: str):
    """While a definition module is imported, ``os._exit`` (which skips every handler and
    would end an apply with the module's status, 0 included, having done nothing) refuses
    the run in one line naming the module instead."""

    def refused(status: object = 0):
        raise _HardExit(status)

    real = os._exit, posix._exit
    os._exit = posix._exit = refused
    try:
        yield
    except _HardExit as exc:
        raise FederationError(
            f"{where}: importing it called os._exit({exc.status!r}), which would end the run "
            "having done nothing; a definition module must not exit"
        ) from None
    finally:
        os._exit, posix._exit = real


def _forget(names: Iterable[str]) -> None:
    """Drop earlier imports of these modules and their packages, from this repo or a
    same-named one of another.

    Feast's apply mutates the objects it is given (inference), and another repo may have
    loaded a module or package of the same name: either way the next collection must import
    afresh. The files on disk may also have changed since this process last looked.
    """
    tops = {name.split(".")[0] for name in names}
    for module_name_ in [m for m in sys.modules if m.split(".")[0] in tops]:
        del sys.modules[module_name_]
    importlib.invalidate_caches()
    # Feast reads a UDF's source through dill, from linecache without checking the file:
    # an edited module would otherwise keep its old UDF text in this process.
    linecache.checkcache()
