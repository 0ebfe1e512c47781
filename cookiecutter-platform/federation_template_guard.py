"""Loads the guard both templates share (../hooks/template_guard.py): cookiecutter puts
this folder, not ../hooks, on the import path for ``_extensions``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "hooks"))

from template_guard import RefuseTemplatedValues  # noqa: E402, F401
