"""The fast tier's guard (support.fast_tier), run by pytest in a fresh process on planted
tests: with -m "not slow", a test that imports Feast, catches that import's error, or starts
a process that imports Feast fails; a module slow as a whole is not even imported."""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ElementTree

from support import ROOT, run

PLANTED = """
import subprocess, sys


def test_imports_feast():
    import feast  # noqa: F401


def test_catches_the_import_error():
    try:
        import feast.types  # noqa: F401
    except ImportError:
        pass


def test_starts_a_process_that_imports_feast():
    child = subprocess.run([sys.executable, "-c", "import feast"], capture_output=True, text=True)
    assert child.returncode == 0, child.stderr


def test_imports_no_feast():
    import feast_federation.rules.ownership  # noqa: F401
"""
PLANTED_TESTS = (
    "test_imports_feast", "test_catches_the_import_error",
    "test_starts_a_process_that_imports_feast", "test_imports_no_feast",
)  # fmt: skip
SLOW_MODULE = """
import feast
import pytest

pytestmark = pytest.mark.slow


def test_slow():
    assert feast
"""


def test_the_fast_tier_fails_every_way_of_reaching_feast(tmp_path):
    (tmp_path / "test_planted.py").write_text(PLANTED)
    (tmp_path / "test_slow_module.py").write_text(SLOW_MODULE)
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    env.pop("FEAST_FEDERATION_FEAST_STUB", None)  # this run's own stub, not the outer one's
    env["PYTHONPATH"] = str(ROOT / "tests")
    result = run(
        [sys.executable, "-m", "pytest", "-p", "support.fast_tier", "-p", "no:cacheprovider",
         "-m", "not slow", "-W", "ignore::pytest.PytestUnknownMarkWarning",
         "--junitxml", "results.xml", "."],
        cwd=tmp_path, env=env,
    )  # fmt: skip
    outcomes = {}
    for case in ElementTree.parse(tmp_path / "results.xml").iter("testcase"):
        problems = [child.get("message", "") for child in case if child.tag in ("failure", "error")]
        outcomes[f"{case.get('classname')}.{case.get('name')}"] = problems
    advice = "mark the test slow (pytest.mark.slow): the fast tier imports no Feast"
    # Only the planted tests ran: test_slow_module.py was not even imported.
    assert outcomes.keys() == {f"test_planted.{name}" for name in PLANTED_TESTS}, result.stdout
    assert outcomes["test_planted.test_imports_feast"] == [f"ImportError: import feast: {advice}"]
    assert outcomes["test_planted.test_catches_the_import_error"] == [
        f"test_planted.py::test_catches_the_import_error tried to import Feast: {advice}"
    ]
    (started,) = outcomes["test_planted.test_starts_a_process_that_imports_feast"]
    assert f"ImportError: {advice}" in started
    assert outcomes["test_planted.test_imports_no_feast"] == []
