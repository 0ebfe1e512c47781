"""What a repo is: platform or team, which team, and which of its files hold definitions.

Which files hold definitions is Feast's own discovery
(``feast.repo_operations.get_repo_files``, 0.67), done here again without importing Feast so
that the sync, the source check and onboarding all read the files `feast apply` reads;
tests/test_discovery.py checks that the two agree.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

from feast_federation.errors import FederationError
from feast_federation.rules.environments import is_feature_repo
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
    if not is_feature_repo(root):
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


# What Feast's get_repo_files ignores in every repo, besides .feastignore's patterns.
FEAST_IGNORED = (
    ".git", ".feastignore", ".venv", "**/.ipynb_checkpoints", "**/.pytest_cache", "**/__pycache__",
)  # fmt: skip

# .feastignore patterns (globs relative to the repo) that are never definitions: the script
# that runs the apply, the repo's tests and helper scripts (scripts/generate_sample_data.py
# writes data when run), and packaging files. Importing them is at best wasted time. The
# templates' .feastignore lists the same patterns, so in a generated repo plain `feast` and
# the sync read the same files.
NEVER_DEFINITIONS = (
    "apply.py",
    "setup.py",
    "noxfile.py",
    "tests",
    "scripts",
    "**/conftest.py",
    "**/test_*.py",
)


def definition_modules(repo_dir: Path) -> list[Path]:
    """The files Feast's discovery reads in ``repo_dir``, minus ``NEVER_DEFINITIONS``;
    resolved and sorted, as Feast returns them."""
    root = Path(repo_dir)
    patterns = [*feastignore_patterns(root), *FEAST_IGNORED, *NEVER_DEFINITIONS]
    ignored = _ignored_files(root, patterns)
    found = {p.resolve() for p in root.glob("**/*.py") if p.is_file() and p.name != "__init__.py"}
    return sorted(found - ignored)


def feastignore_patterns(repo_dir: Path) -> list[str]:
    """``.feastignore``'s patterns, read as Feast reads them (``#`` starts a comment)."""
    path = Path(repo_dir) / ".feastignore"
    if not path.is_file():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().strip().split("\n"))
    return [line for line in lines if line]


def _ignored_files(root: Path, patterns: list[str]) -> set[Path]:
    """Each file a pattern matches, and every ``*.py`` under a directory one matches."""
    ignored: set[Path] = set()
    for pattern in set(patterns):
        for matched in _glob(root, pattern):
            if matched.is_file():
                ignored.add(matched.resolve())
            else:
                ignored |= {sub.resolve() for sub in matched.glob("**/*.py") if sub.is_file()}
    return ignored


def _glob(root: Path, pattern: str):
    try:
        return list(root.glob(pattern))
    except (NotImplementedError, ValueError):  # "/build": pathlib takes no absolute pattern
        raise FederationError(
            f"{root / '.feastignore'}: pattern {pattern!r} must be relative to the repo "
            f"(write {pattern.lstrip('/')!r}); Feast cannot read it either"
        ) from None


def declared_names(repo_dir: Path) -> set[str]:
    """The names a repo's modules give Feast objects (``name="..."`` arguments), read from
    the source without running it: onboarding must not import Feast or the repo."""
    names: set[str] = set()
    for module in definition_modules(repo_dir):
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
