"""What a repo is: platform or team, which team, and which of its files hold definitions.

Which files hold definitions is Feast's own discovery
(``feast.repo_operations.get_repo_files``, 0.67), done here again without importing Feast so
that the sync, the source check and onboarding all read the files `feast apply` reads;
tests/test_discovery.py checks that the two agree.
"""

from __future__ import annotations

import ast
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from feast_federation.errors import FederationError
from feast_federation.rules.environments import is_feature_repo
from feast_federation.rules.ownership import PLATFORM
from feast_federation.rules.policy import POLICY_FILE
from feast_federation.rules.values import check_data_location

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

STORE_FILE = "feature_store.yaml"
# The platform's data location: pyproject.toml's [tool.feast-federation] data-location,
# unless this variable holds another (a runner that reaches the same data elsewhere).
DATA_LOCATION_SETTING = "data-location"
DATA_LOCATION_VARIABLE = "FEAST_DATA_LOCATION"


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


def data_location(where: Path | str) -> str:
    """Where the platform's data lives, for the repo holding ``where`` (a file of the repo,
    such as a definition module's ``__file__``, or the repo's folder): $FEAST_DATA_LOCATION
    when set, else pyproject.toml's ``data-location``. A folder or an ``s3://`` / ``gs://``
    URI, without a trailing slash; never derived from where the repo is checked out, so every
    clone stores the same source paths in the registry."""
    root = _settings_root(Path(where).absolute())
    given = os.environ.get(DATA_LOCATION_VARIABLE, "")
    what = f"${DATA_LOCATION_VARIABLE}"
    if not given:
        given = _settings(root).get(DATA_LOCATION_SETTING, "")
        what = f"{root}/pyproject.toml: {DATA_LOCATION_SETTING}"
        if not isinstance(given, str) or not given:
            raise FederationError(
                f"{what}: not set; give the folder or s3:// or gs:// URI that holds the "
                f"platform's data (or set ${DATA_LOCATION_VARIABLE})"
            )
    check_data_location(what, given)
    return given.rstrip("/") or "/"


def records_data_location(repo_dir: Path | str) -> bool:
    """Whether the repo's pyproject.toml records a data location: a platform repo whose
    sources are files."""
    return DATA_LOCATION_SETTING in _settings(Path(repo_dir))


def _settings_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` whose pyproject.toml has a
    [tool.feast-federation] table."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() and _settings(folder):
            return folder
    raise FederationError(f"{start}: in no repo with a [tool.feast-federation] pyproject.toml")


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
    root = Path(repo_dir).resolve()
    patterns = [*feastignore_patterns(root), *FEAST_IGNORED, *NEVER_DEFINITIONS]
    ignored = _ignored_files(root, patterns)
    found = {
        path: path.resolve()
        for path in root.glob("**/*.py")
        if path.is_file() and path.name != "__init__.py"
    }
    for path, resolved in sorted(found.items()):
        if resolved not in ignored and not resolved.is_relative_to(root):
            raise FederationError(
                f"{path.relative_to(root)}: a link to {resolved}, outside the repo; a "
                "definition module must live in the repo (Feast imports it by its path in it)"
            )
    return sorted(set(found.values()) - ignored)


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
