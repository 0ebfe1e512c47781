"""Code both templates' cookiecutter hooks share. Standard library only.

The rules themselves live in ``feast_federation`` (one place). A template baked from a
checkout of this repository finds the package beside this folder (``../scaffolder``); one
baked by the installed CLI finds it installed, with this folder bundled inside it.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

_SOURCE = Path(__file__).resolve().parent.parent / "scaffolder"
if (_SOURCE / "feast_federation").is_dir():
    sys.path.insert(0, str(_SOURCE))

from feast_federation import onboarding  # noqa: E402
from feast_federation.errors import FederationError  # noqa: E402
from feast_federation.rules import choices  # noqa: E402
from feast_federation.rules.policy import split_owners  # noqa: E402


def _run(step, *args, **kwargs) -> None:
    try:
        step(*args, **kwargs)
    except FederationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


def _platform_dir(platform_dir: str, output_dir: str) -> Path:
    # Relative paths are taken from the output directory, where the new repo lands.
    return Path(output_dir, Path(platform_dir).expanduser())


def team_pre_gen(
    *,
    team: str,
    owners: str,
    platform_dir: str,
    output_dir: str,
    project: str = "",
    offline_schema: str = "",
) -> None:
    _run(
        onboarding.check_new_team,
        _platform_dir(platform_dir, output_dir),
        team=team,
        owners=split_owners(owners),
        project=project,
        offline_schema=offline_schema,
    )


def team_post_gen(
    *,
    team: str,
    owners: str,
    platform_dir: str,
    output_dir: str,
    registry_server: str = "",
    offline_schema: str = "",
) -> None:
    _run(
        onboarding.finish_team_repo,
        _platform_dir(platform_dir, output_dir),
        team=team,
        owners=split_owners(owners),
        repo_dir=Path.cwd(),
        registry_server=registry_server,
        offline_schema=offline_schema,
    )


def platform_pre_gen(
    *, project: str, owners: str, registry: str, online: str, offline: str, server: str
) -> None:
    _run(onboarding.check_new_platform, project=project, owners=split_owners(owners))
    _run(choices.Backends(registry, online, offline, server).check)


def platform_post_gen(*, offline_store: str = "file") -> None:
    """Wire the pipeline's variables; write the sample parquet files when the sources read
    them and the baking Python can write them, otherwise say how."""
    _run(onboarding.finish_platform_repo, Path.cwd())
    if offline_store not in choices.LOCAL_OFFLINE_STORES:
        return
    if all(importlib.util.find_spec(module) for module in ("pandas", "pyarrow")):
        subprocess.run([sys.executable, "scripts/generate_sample_data.py"], check=True)
    else:
        print("note: install requirements.txt, then run python scripts/generate_sample_data.py")
