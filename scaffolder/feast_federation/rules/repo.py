"""What a repo is: platform or team, and which team. Which of its files hold definitions is
Feast's own discovery, in ``feast_federation.sync.collect``."""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

from feast_federation.errors import FederationError
from feast_federation.rules.ownership import PLATFORM
from feast_federation.rules.policy import POLICY_FILE

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

STORE_FILE = "feature_store.yaml"


@dataclass(frozen=True)
class Repo:
    path: Path
    owner: str  # "platform" or the team's name

    @property
    def is_platform(self) -> bool:
        return self.owner == PLATFORM


def find_repo(path: Path | str) -> Repo:
    """Detect the repo at ``path`` from its ``[tool.feast-federation]`` table."""
    root = Path(path).resolve()
    if not (root / STORE_FILE).is_file():
        raise FederationError(f"{root}: no {STORE_FILE}; not a feature repo")
    settings = _settings(root)
    if settings.get("repo") == PLATFORM:
        if not (root / POLICY_FILE).is_file():
            raise FederationError(f"{root}: platform repo without {POLICY_FILE}")
        return Repo(root, PLATFORM)
    team = settings.get("team")
    if settings.get("repo") == "team" and isinstance(team, str) and team:
        return Repo(root, team)
    raise FederationError(
        f'{root}/pyproject.toml: [tool.feast-federation] must say repo = "platform", '
        'or repo = "team" with team = "<name>"'
    )


def _settings(root: Path) -> dict:
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        raise FederationError(f"{root}: no pyproject.toml with a [tool.feast-federation] table")
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise FederationError(f"{pyproject}: not valid TOML ({exc})") from None
    return data.get("tool", {}).get("feast-federation", {})


def declared_names(repo_dir: Path) -> set[str]:
    """The names a repo's modules give Feast objects (``name="..."`` arguments), read from
    the source without running it: onboarding must not import Feast or the repo."""
    names: set[str] = set()
    for module in Path(repo_dir).rglob("*.py"):
        if any(part.startswith(".") or part in _NOT_SCANNED for part in module.parts):
            continue
        try:
            tree = ast.parse(module.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue  # the platform's own plan reports a broken module
        names.update(
            keyword.value.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            for keyword in node.keywords
            if keyword.arg == "name" and isinstance(keyword.value, ast.Constant)
            and isinstance(keyword.value.value, str)
        )  # fmt: skip
    return names


_NOT_SCANNED = frozenset({"tests", "scripts", "venv", "__pycache__", "node_modules"})
