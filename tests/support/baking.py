"""What every baked repo must be: fully rendered, and ruff-clean by its own configuration."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from support import run

GITHUB_EXPRESSION = re.compile(r"\$\{\{ [\w.]+ \}\}")


def files_of(repo: Path) -> list[Path]:
    return [path for path in repo.rglob("*") if path.is_file() and "__pycache__" not in path.parts]


def assert_fully_rendered(repo: Path) -> None:
    for path in files_of(repo):
        # .cruft.json records the template and its context (cookiecutter's own key).
        if path.suffix in {".parquet", ".db"} or path.name == ".cruft.json":
            continue
        # A GitHub expression (${{ github.token }}) is the workflow's own, not a leftover.
        text = GITHUB_EXPRESSION.sub("", path.read_text(encoding="utf-8"))
        assert "{{" not in text and "{%" not in text and "cookiecutter" not in text, path


def assert_ruff_clean(repo: Path) -> None:
    result = run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    result = run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
