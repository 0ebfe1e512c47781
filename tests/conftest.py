"""Shared fixtures, and the fast tier's guard (support.fast_tier). Shared helpers live in the
support package, not here."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import ROOT, zygote

pytest_plugins = ("support.fast_tier",)

# The longest modules first (measured with --durations): workers take whole modules
# (--dist loadfile), and a long one left for last keeps one core busy while the other idles.
# xdist keeps this order only with --no-loadscope-reorder (its default puts the modules with
# the most tests first), which the Makefile passes.
LONGEST_FIRST = (
    "test_runners.py", "test_promotion_pipelines.py", "test_environments.py", "test_spark.py",
    "test_ray.py", "test_properties.py", "test_adopt.py", "test_docs_snippets.py",
    "test_kill_points.py", "test_s3_dynamodb.py", "test_compute_engine_errors.py",
    "test_postgres.py", "test_reference_forms.py", "test_whole_org.py",
)  # fmt: skip


def pytest_unconfigure(config):
    zygote.stop()  # xdist workers end without running atexit handlers


def pytest_collection_modifyitems(items):
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: order kept within


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session", autouse=True)
def template_extensions_importable():
    """pytest-cookies renders a template's context outside cookiecutter's import patch, so
    the templates' Jinja extension (``_extensions``) must be importable on its own."""
    import sys

    folders = [str(ROOT / "cookiecutter-platform"), str(ROOT / "cookiecutter-team")]
    sys.path.extend(folders)
    yield
    for folder in folders:
        sys.path.remove(folder)


@pytest.fixture(autouse=True)
def outside_ci(monkeypatch):
    """The suite's own CI job prints what a developer's machine prints: a saved plan's
    refusal advises per CI system (feast_federation.ops.reviewed.stale_plan_advice)."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITLAB_CI", raising=False)
    # `--env` sets it for the process (and its children): an in-process run must not leak it.
    monkeypatch.setenv("FEAST_FEDERATION_ENV", "")  # recorded, so removed again afterwards
    monkeypatch.delenv("FEAST_FEDERATION_ENV")
