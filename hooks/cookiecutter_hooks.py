"""What both templates' cookiecutter hooks do. Standard library only.

The hooks run inside cookiecutter's own process, while their scripts are rendered (the
``federation_hook`` global of ``template_guard``), so a refusal reaches the user as one
line and nothing is left behind. The rules themselves live in ``feast_federation`` (one
place): a template baked from a checkout of this repository finds the package beside this
folder (``../scaffolder``); one baked by the installed CLI finds it installed, with this
folder bundled inside it.
"""

from __future__ import annotations

import importlib.util
import runpy
import shutil
import sys
from pathlib import Path

_SOURCE = Path(__file__).resolve().parent.parent / "scaffolder"
if (_SOURCE / "feast_federation").is_dir():
    sys.path.insert(0, str(_SOURCE))

from feast_federation import onboarding  # noqa: E402
from feast_federation.errors import FederationError  # noqa: E402
from feast_federation.onboarding import starters  # noqa: E402
from feast_federation.rules import choices  # noqa: E402
from feast_federation.rules.policy import split_owners  # noqa: E402


def _platform_dir(values: dict) -> Path:
    # Relative paths are taken from the output directory, where the new repo lands.
    return Path(values.get("_output_dir", "."), Path(values["platform_dir"]).expanduser())


def team_pre_gen(values: dict, project_dir: Path) -> None:
    onboarding.check_new_team(
        _platform_dir(values),
        team=values["team_name"],
        owners=split_owners(values["owners"]),
        project=values["project_name"],
        offline_schema=values["offline_schema"],
        federation_repo_url=values["federation_repo_url"],
        feast_federation_version=values["feast_federation_version"],
        federation_requirement=values["feast_federation_requirement"],
        starter_view=values["starter_view"],
        rendered_starter=values["__starter"],
    )
    onboarding.check_outside_feature_repos(project_dir.parent)


def starter_view_default(platform_dir: str) -> str:
    """The starter view offered while cookiecutter asks (a relative platform_dir is read
    from the current directory then); empty when the platform cannot be read, which the
    pre-generation hook refuses naming the platform's views."""
    try:
        views = starters.platform_views(Path(platform_dir).expanduser())
    except FederationError:
        return ""
    return starters.default_starter_view(views)


def starter(platform_dir: str, view: str) -> str:
    """What the template renders the starter from; the pre-generation hook refuses it when
    it is not what the platform it reads says."""
    try:
        views = starters.platform_views(Path(platform_dir).expanduser())
    except FederationError:
        views = {}
    return starters.starter_context(views, view)


def team_post_gen(values: dict, project_dir: Path) -> None:
    onboarding.finish_team_repo(
        _platform_dir(values),
        team=values["team_name"],
        owners=split_owners(values["owners"]),
        repo_dir=project_dir,
        registry_server=values["registry_server"],
        offline_schema=values["offline_schema"],
        federation_requirement=values["feast_federation_requirement"],
        federation_repo_url=values["federation_repo_url"],
    )


def platform_pre_gen(values: dict, project_dir: Path) -> None:
    onboarding.check_new_platform(
        project=values["project_name"],
        owners=split_owners(values["platform_owners"]),
        repo_name=values["repo_name"],
        federation_repo_url=values["federation_repo_url"],
        feast_federation_version=values["feast_federation_version"],
        registry_server_address=values["registry_server_address"],
        federation_requirement=values["feast_federation_requirement"],
        # Repos baked before the operator choice existed (a cruft update) lack these.
        platform_repo_url=values.get("platform_repo_url", onboarding.DEFAULT_PLATFORM_REPO_URL),
        platform_repo_ref=values.get("platform_repo_ref", onboarding.DEFAULT_PLATFORM_REPO_REF),
    )
    backends = choices.Backends(
        values["registry"], values["online_store"], values["offline_store"],
        values["registry_server"],
    )  # fmt: skip
    backends.check()
    choices.check_deploy(values.get("deploy", "none"), backends)


def platform_post_gen(values: dict, project_dir: Path) -> None:
    """Wire the pipeline's variables; write the sample parquet files when the sources read
    them and the baking Python can write them, otherwise say how."""
    # Repos baked before the deploy choice existed (a cruft update) have no manifests.
    if values.get("deploy", "none") == "none":
        shutil.rmtree(project_dir / "k8s", ignore_errors=True)
    onboarding.finish_platform_repo(project_dir, values["project_name"])
    if values["offline_store"] not in choices.LOCAL_OFFLINE_STORES:
        return
    if all(importlib.util.find_spec(module) for module in ("pandas", "pyarrow")):
        _run_script(project_dir / "scripts" / "generate_sample_data.py")
    else:
        print("note: install requirements.txt, then run python scripts/generate_sample_data.py")


def _run_script(script: Path) -> None:
    """Run one of the new repo's scripts in this process: a fresh interpreter would import
    pandas again for every repo baked (a third of a second each)."""
    argv = sys.argv
    sys.argv = [str(script)]
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = argv
