"""Environments: staging before production, one set of definitions, one store file each.

An org that names environments (``environments: [staging, production]`` in
``federation.yaml``, in promotion order; a team repo records the same list in its
``[tool.feast-federation]`` table) keeps each environment's settings in
``environments/<name>/feature_store.yaml``, which plain Feast reads from the repo's root
(``feast -f environments/staging/feature_store.yaml ...``: Feast resolves the repo, and
relative paths, against the working directory). Which one a command uses is ``--env NAME``,
else ``$FEAST_FEDERATION_ENV``; an org without environments keeps ``feature_store.yaml`` at
its root and refuses both. Never imports Feast.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from feast_federation.errors import UnknownEnvironment
from feast_federation.rules.policy import POLICY_FILE, load_policy, validate_environments

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV_VARIABLE = "FEAST_FEDERATION_ENV"
ENVIRONMENTS_DIR = "environments"
STORE_FILE = "feature_store.yaml"


def environments_of(repo_root: Path) -> tuple[str, ...]:
    """The repo's environments in promotion order; () for an org without them."""
    root = Path(repo_root)
    for source in (root / POLICY_FILE, root / "pyproject.toml"):
        try:
            stamp = source.stat().st_mtime_ns
        except OSError:
            continue
        return _environments(source, stamp)
    return ()


@functools.lru_cache(maxsize=256)
def _environments(source: Path, stamp: int) -> tuple[str, ...]:
    """Read once per version of the file: every store a command opens asks."""
    if source.name == POLICY_FILE:
        return load_policy(source.parent).environments
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return ()  # find_repo names a broken pyproject.toml
    table = data.get("tool", {}).get("feast-federation", {})
    try:
        return validate_environments(table.get("environments"))
    except ValueError as exc:
        raise UnknownEnvironment(f"{source}: {exc}") from None


def chosen() -> str | None:
    """The environment asked for: ``--env`` (the CLI sets the variable) or the variable."""
    return os.environ.get(ENV_VARIABLE, "").strip() or None


def choose(name: str | None) -> None:
    """What ``--env NAME`` does: every store this process (and its children) opens is in
    that environment."""
    if name:
        os.environ[ENV_VARIABLE] = name


def environment(repo_root: Path, env: str | None = None) -> str | None:
    """The environment a command on ``repo_root`` works in (None: an org without them),
    refused in one line when unknown, given without environments, or not given with them."""
    names = environments_of(repo_root)
    env = env or chosen()
    if not names:
        if env:
            raise UnknownEnvironment(
                f"--env {env}: this org has no environments ({POLICY_FILE} names none); drop "
                f"--env and {ENV_VARIABLE}"
            )
        return None
    if env is None:
        raise UnknownEnvironment(
            f"this org has environments {', '.join(names)}: choose one with --env NAME or "
            f"{ENV_VARIABLE}"
        )
    if env not in names:
        raise UnknownEnvironment(
            f"--env {env}: not an environment of this org (it has {', '.join(names)})"
        )
    return env


def previous(repo_root: Path, env: str) -> str | None:
    """The environment a change is promoted from into ``env`` (None: the first)."""
    names = environments_of(repo_root)
    index = names.index(env)
    return names[index - 1] if index else None


def environment_dir(repo_root: Path, env: str) -> Path:
    return Path(repo_root) / ENVIRONMENTS_DIR / env


def store_file(repo_root: Path, env: str | None = None) -> Path:
    """The ``feature_store.yaml`` a command on ``repo_root`` reads (see ``environment``)."""
    name = environment(repo_root, env)
    if name is None:
        return Path(repo_root) / STORE_FILE
    return environment_dir(repo_root, name) / STORE_FILE


def store_files(repo_root: Path) -> dict[str | None, Path]:
    """Every store file of the repo, by environment (None: the one of an org without)."""
    names = environments_of(repo_root)
    if not names:
        return {None: Path(repo_root) / STORE_FILE}
    return {name: environment_dir(repo_root, name) / STORE_FILE for name in names}


def is_feature_repo(directory: Path) -> bool:
    """A directory with a store file: at its root, or one per environment."""
    directory = Path(directory)
    return (directory / STORE_FILE).is_file() or any(
        (directory / ENVIRONMENTS_DIR).glob(f"*/{STORE_FILE}")
    )


def scoped_prefix(env: str) -> str:
    """How another environment's variables are named: ``STAGING__FEAST_PG_HOST``."""
    return env.upper().replace("-", "_") + "__"


@contextlib.contextmanager
def scoped_variables(env: str | None, store_yaml: str) -> Iterator[None]:
    """While ``env``'s store file is loaded, each ``${VAR}`` it reads takes the value of
    ``<ENV>__VAR`` where that is set. A command working in one environment that reads
    another's registry (the promotion gate reads the one before; diff-env reads two) reaches
    it with that environment's own (read-only) credentials, though both files name the same
    variables."""
    prefix = scoped_prefix(env) if env else None
    names = set(re.findall(r"\$\{(\w+)\}", store_yaml)) if prefix else set()
    scoped = {name: os.environ[prefix + name] for name in names if prefix + name in os.environ}
    saved = {name: os.environ.get(name) for name in scoped}
    os.environ.update(scoped)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
