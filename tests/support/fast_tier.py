"""The fast tier's guard: ``pytest -m "not slow"`` (``make test-fast``) imports no Feast.

A test that starts a Feast process or imports Feast in the pytest process (directly, through
feast_federation's registry, sync or ops modules, or through a fixture that applies an org)
carries the ``slow`` marker. When slow tests are deselected (or with ``--feast-free``), this
plugin holds the rest to that:

- ``import feast`` fails in the pytest process, and in every process a test starts with its
  environment (a package named ``feast`` that refuses to load comes first on PYTHONPATH);
- a test that catches that ImportError fails all the same, and so does one after which
  Feast is loaded by some other way;
- a module that is slow as a whole (a module-level ``pytestmark = pytest.mark.slow``) is not
  collected at all, so it may import Feast at its top; any other module must not.
"""

from __future__ import annotations

import ast
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ADVICE = "mark the test slow (pytest.mark.slow): the fast tier imports no Feast"
STUB_VARIABLE = "FEAST_FEDERATION_FEAST_STUB"


class FeastBlocker:
    """A meta path finder that refuses ``feast`` and its submodules, and remembers who asked."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self.loaded = False

    def find_spec(self, name, path=None, target=None):
        if name == "feast" or name.startswith("feast."):
            self.attempts.append(os.environ.get("PYTEST_CURRENT_TEST", "collection"))
            raise ImportError(f"import {name}: {ADVICE}", name=name)
        return None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--feast-free",
        action="store_true",
        help="fail any test that imports Feast or starts a process that does (on by itself "
        'with -m "not slow")',
    )


def deselects_slow(config: pytest.Config) -> bool:
    return " ".join((config.option.markexpr or "").split()) == "not slow"


def guarded(config: pytest.Config) -> bool:
    return config.getoption("feast_free") or deselects_slow(config)


def pytest_configure(config: pytest.Config) -> None:
    if not guarded(config):
        return
    blocker = FeastBlocker()
    sys.meta_path.insert(0, blocker)
    config.stash[_blocker] = blocker
    if STUB_VARIABLE not in os.environ:  # xdist workers inherit the controller's stub
        stub = Path(tempfile.mkdtemp(prefix="feast-stub-"))
        (stub / "feast").mkdir()
        (stub / "feast" / "__init__.py").write_text(f"raise ImportError({ADVICE!r})\n")
        config.stash[_created] = (stub, os.environ.get("PYTHONPATH"))
        os.environ[STUB_VARIABLE] = str(stub)
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(stub), *filter(None, [os.environ.get("PYTHONPATH")])]
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    blocker = config.stash.get(_blocker, None)
    if blocker is not None and blocker in sys.meta_path:
        sys.meta_path.remove(blocker)
    created = config.stash.get(_created, None)
    if created is not None:
        stub, pythonpath = created
        shutil.rmtree(stub, ignore_errors=True)
        del os.environ[STUB_VARIABLE]
        if pythonpath is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = pythonpath


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if deselects_slow(config) and collection_path.suffix == ".py":
        if collection_path.name.startswith("test_") and slow_as_a_whole(collection_path):
            return True
    return None


def slow_as_a_whole(path: Path) -> bool:
    """Whether the module's top level says ``pytestmark = pytest.mark.slow`` (or a list
    holding it)."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytestmark" for target in node.targets
        ):
            value = node.value
            marks = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
            return any(ast.unparse(mark) == "pytest.mark.slow" for mark in marks)
    return False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A phase of a test (setup, call, teardown) that would pass although it tried to import
    Feast (and caught the error), or after which Feast is loaded all the same, fails."""
    report = yield
    blocker = item.config.stash.get(_blocker, None)
    if blocker is None:
        return report
    phase = f"{item.nodeid} ({call.when})"
    asked = phase in blocker.attempts
    blocker.attempts = [who for who in blocker.attempts if who != phase]
    loaded = "feast" in sys.modules and not blocker.loaded
    if report.passed and (asked or loaded):
        blocker.loaded = blocker.loaded or loaded
        how = "tried to import Feast" if asked else "left Feast loaded"
        report.outcome, report.longrepr = "failed", f"{item.nodeid} {how}: {ADVICE}"
    return report


_blocker = pytest.StashKey[FeastBlocker]()
_created = pytest.StashKey[tuple]()
