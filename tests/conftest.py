"""Shared fixtures. Shared helpers live in the support package, not here."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import ROOT


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
