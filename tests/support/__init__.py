"""Helpers shared by the test modules: the repository's paths, fresh processes, the CLI.

Test modules import from here (and from the modules next to this one), never from each
other or from conftest.py, which holds only fixtures.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

from support import zygote
from support.zygote import command, run_forked

ROOT = Path(__file__).resolve().parents[2]


def run(
    args: list[str],
    cwd: Path | None = None,
    env: dict | None = None,
    fresh: bool = False,
    **kwargs,
) -> subprocess.CompletedProcess:
    """Run a fresh process with this interpreter's environment; never raises on failure.

    A Python command is forked from a warm process that has imported Feast (support.zygote)
    unless ``fresh``: a test about what a process imports needs an interpreter of its own."""
    env = {**(env or os.environ), "PYTHONWARNINGS": "ignore"}
    if not fresh and command(args) is not None and set(kwargs) <= {"input", "timeout"}:
        forked = run_forked(args, cwd, env, **kwargs)
        if forked is not None:
            return forked
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, **kwargs)


def venv_commands_first(env: dict[str, str]) -> dict[str, str]:
    """``env`` with this interpreter's commands first on PATH (python, feast-federation,
    cookiecutter), as a job's ``pip install -r requirements.txt`` puts them; ``python`` and
    ``feast-federation`` run in the warm process (support.zygote) where they can."""
    if not zygote.available():
        return {**env, "PATH": os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])}
    path = os.pathsep.join([zygote.shims(), str(Path(sys.executable).parent), env["PATH"]])
    return {**env, "PATH": path, "FEAST_FEDERATION_ZYGOTE": zygote.socket_path()}


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The feast-federation command, in a fresh process."""
    return run([sys.executable, "-m", "feast_federation.cli", *args], cwd=cwd)


def invoke(*args):
    """The feast-federation command, in this process; every argument is passed as str()."""
    from typer.testing import CliRunner

    from feast_federation.cli import app

    return CliRunner().invoke(app, [str(arg) for arg in args])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on at the moment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_org(
    directory: Path, teams=(("marketing", "customer_features"), ("risk", "user_features"))
):
    """A bootstrapped org, synced and with every team applied, in this process."""
    from feast_federation import sync
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.repo import find_repo

    platform, team_dirs = bootstrap_org(
        directory, project="acme", owners=["plat@acme.io"], teams=teams
    )
    for repo in (platform, *team_dirs):
        sync.apply(find_repo(repo))
    return platform, team_dirs


REGISTRY_OBJECT_FIELDS = (
    "projects", "entities", "data_sources", "feature_views", "stream_feature_views",
    "on_demand_feature_views", "label_views", "feature_services", "permissions",
)  # fmt: skip


def registry_fingerprint(repo: Path) -> dict[str, str]:
    """Each registry object of ``repo``'s project but its Permissions, whole (timestamps
    included): an object rewritten with the same definition still changes its fingerprint."""
    from feast import FeatureStore

    from feast_federation.registry import registry_proto
    from feast_federation.registry.protos import spec_of

    store = FeatureStore(repo_path=str(repo))
    proto = registry_proto(store)
    fields = [field for field in REGISTRY_OBJECT_FIELDS if field != "permissions"]
    return {
        f"{field}/{spec_of(item).name}": hashlib.sha256(
            item.SerializeToString(deterministic=True)
        ).hexdigest()
        for field in fields
        for item in getattr(proto, field)
    }
