"""Opening a repo's FeatureStore once per process, with Feast's noise turned down and its
configuration errors turned into one line."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from pathlib import Path

from feast import FeatureStore
from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto

from feast_federation.errors import FederationError, first_line
from feast_federation.registry import engines, feast067
from feast_federation.registry.engine_errors import explain as explain_engine
from feast_federation.registry.engine_errors import limit_connect_timeouts
from feast_federation.registry.location import RegistryLocation
from feast_federation.rules.environments import environment, scoped_variables, store_file
from feast_federation.rules.repo import find_repo

_stores: dict[tuple[Path, float], FeatureStore] = {}
_UNREACHABLE = ("unable to open database file", "could not connect", "Connection refused")


def open_store(repo_path: Path, config: Path | None = None, env: str | None = None) -> FeatureStore:
    """The repo's FeatureStore, one per config file and version in this process.

    ``config`` is another file of the repo's settings (the registry server's, which adds auth);
    else the store file of ``env`` (default: ``--env``, ``$FEAST_FEDERATION_ENV``), or the
    repo's one ``feature_store.yaml`` in an org without environments.
    """
    repo_path = Path(repo_path).resolve()
    if config:
        config, env = Path(config).resolve(), None
    else:
        env = environment(repo_path, env)
        config = store_file(repo_path, env)
    try:
        key = (config, config.stat().st_mtime)
    except FileNotFoundError:
        raise FederationError(f"{config}: not found") from None
    feast067.install()  # before the first read or write of any store in this process
    if key not in _stores:
        with scoped_variables(env, config.read_text(encoding="utf-8")):
            store = _load(config, repo_path)
        _check_local_registry(store)
        _stores[key] = store
    return _stores[key]


def feature_store(repo_path: Path | str = ".") -> FeatureStore:
    """The FeatureStore of a platform or team repo, for code of one's own (models, notebooks,
    training sets, batch scoring), set up as this package's commands set it up: the fixes
    Feast 0.67 needs installed (``feast067``: with versioned reads on, a stock client reads an
    unpinned view's v0 online table after a schema change), an unset cluster address means
    this machine, a Spark session takes the offline store's settings, and a Spark or Ray
    engine that cannot run is refused in one line (no Java, no answer)."""
    store = open_store(find_repo(Path(repo_path)).path)
    engines.check_engine(store.config)
    return store


# Every command reaches the registry and most the online store; the offline store's settings
# matter only to materialization and training data, which name their own failures.
_SECTIONS_EVERY_COMMAND_NEEDS = ("registry", "online_store")


def _load(config: Path, repo_path: Path) -> FeatureStore:
    text = config.read_text(encoding="utf-8")
    engines.set_local_defaults(text)  # an unset cluster address means this machine
    _check_variables(config, _SECTIONS_EVERY_COMMAND_NEEDS)
    limit_connect_timeouts()
    # Relative paths resolve against the repo, as `feast -f FILE` run from its root does; a
    # file beside the repo's own (the registry server's) is read from the repo too.
    if repo_path not in config.parents:
        repo_path = config.parent
    try:
        store = FeatureStore(repo_path=str(repo_path), fs_yaml_file=config)
        engines.prepare(store)  # reads batch_engine, which Feast validates when first read
        feast067.read_registry_on_first_use(store)
    except Exception as exc:  # Feast raises many types for a bad config; all are user errors
        _check_variables(config)  # an unset variable elsewhere may be why it failed
        engine = explain_engine(exc)
        if engine:
            raise FederationError(engine) from None
        problem = _first_problem(exc)
        if any(sign in problem for sign in _UNREACHABLE):
            raise FederationError(f"{config}: the registry is unreachable ({problem})") from None
        raise FederationError(f"{config}: Feast cannot load it: {problem}") from None
    return store


def _check_variables(config: Path, sections: tuple[str, ...] | None = None) -> None:
    """Name the ``${VAR}`` that is not set: Feast leaves it unexpanded, and the failure shows
    later as a wrong value (``port: Input should be a valid integer ... '${FEAST_PG_PORT}'``)
    or a refused login, without naming the variable."""
    section = ""
    for line in config.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            continue
        key = re.match(r"^(\s*)([\w.-]+)\s*:\s*(.*)$", line)
        if key and not key[1]:
            section = key[2]
        if sections is not None and section not in sections:
            continue
        for variable in re.findall(r"\$\{(\w+)\}", line):
            if variable in os.environ:
                continue
            if section == "registry" and key and key[2] == "path":
                where = f"registry {key[3].strip().strip(chr(34) + chr(39))}"
            else:
                where = f"{config}: {section}.{key[2]}" if key and key[1] else f"{config}"
            raise FederationError(f"{where}: the environment variable {variable} is not set")


def _check_local_registry(store: FeatureStore) -> None:
    """A local registry Feast would fail on deep inside a command, refused in one line.

    Feast opens the registry lazily and reports a missing directory or a damaged file as a
    database or protobuf traceback from whichever call first reads it.
    """
    location = RegistryLocation.of(store)
    if not (location.is_sqlite or location.is_local_file) or location.unset_variable():
        return  # a remote registry reports itself; an unset ${VAR} is named by the lock
    path = Path(location.path.removeprefix("sqlite:///"))
    if not path.parent.is_dir():
        raise FederationError(
            f"registry {path}: the registry is unreachable ({path.parent} does not exist)"
        )
    if path.is_dir():
        raise FederationError(f"registry {path}: is a directory, not a registry file")
    if path.exists():
        problem = _sqlite_problem(path) if location.is_sqlite else _proto_problem(path)
        if problem:
            raise FederationError(f"registry {path}: damaged ({problem}); restore it from a backup")


def _sqlite_problem(path: Path) -> str | None:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            db.execute("PRAGMA schema_version").fetchone()
            # A damaged page shows only when read ("database disk image is malformed").
            [(verdict,)] = db.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    if verdict == "ok":
        return None
    found = [line for line in verdict.splitlines() if line and not line.startswith("***")]
    return f"database disk image is malformed: {found[0] if found else verdict}"


def _proto_problem(path: Path) -> str | None:
    try:
        RegistryProto().ParseFromString(path.read_bytes())
    except Exception as exc:  # protobuf's DecodeError, or an unreadable file
        return first_line(exc) or "not a registry"
    return None


def _first_problem(exc: Exception) -> str:
    """One line that says what is wrong: the field for a config validation error."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            return f"{'.'.join(str(part) for part in first['loc']) or 'config'}: {first['msg']}"
        except Exception:
            pass
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if len(lines) >= 3 and re.match(r"\d+ validation errors? for", lines[0]):
        # pydantic's text, wrapped by Feast: the field, then the problem and its [type=...]
        field, problem = lines[1].replace("`", ""), re.sub(r" \[type=[^\]]*\]$", "", lines[2])
        if field.startswith("spark_conf.") and "valid string" in problem:
            problem += " (quote it: Spark's settings are strings)"
        return f"{field}: {problem}"
    return lines[0] if lines else type(exc).__name__
