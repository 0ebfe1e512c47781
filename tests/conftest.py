"""Shared fixtures, and the fast tier's guard (support.fast_tier). Shared helpers live in the
support package, not here."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import ROOT

pytest_plugins = ("support.fast_tier",)


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
