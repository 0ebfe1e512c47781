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
from feast_federation.rules.repo import data_location  # noqa: E402

# The spec each pre-generation hook checked, for the post-generation hook of the same bake
# (both run in cookiecutter's process, one after the other), by the new repo's directory.
_CHECKED: dict[Path, onboarding.PlatformSpec | onboarding.TeamSpec] = {}


def team_pre_gen(values: dict, project_dir: Path) -> None:
    """Check the team once: the spec the CLI handed to this bake (it checked the spec and
    the repo's location), else one built from cookiecutter's answers."""
    spec = onboarding.handed_over(onboarding.TeamSpec, values)
    if spec is None:
        spec = onboarding.TeamSpec.of_context(values)
        onboarding.check_outside_feature_repos(project_dir.parent)
    _CHECKED[project_dir] = spec


def federation_project(platform_dir: str) -> str:
    """The project the platform's federation.yaml names, read by its one reader; empty when
    it cannot be read, which the pre-generation hook refuses in one line."""
    from feast_federation.rules.policy import load_policy

    try:
        return load_policy(Path(platform_dir).expanduser()).project
    except FederationError:
        return ""


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


def environments_default(platform_dir: str) -> str:
    """The platform's environments for the team template's context; empty when it cannot be
    read (the pre-generation hook then names what is wrong)."""
    from feast_federation.rules.environments import environments_of

    try:
        return ", ".join(environments_of(Path(platform_dir).expanduser()))
    except FederationError:
        return ""


def team_post_gen(values: dict, project_dir: Path) -> None:
    spec = _CHECKED.pop(project_dir, None) or onboarding.TeamSpec.of_context(values)
    onboarding.finish_team_repo(spec, project_dir)


def platform_pre_gen(values: dict, project_dir: Path) -> None:
    spec = onboarding.handed_over(onboarding.PlatformSpec, values)
    _CHECKED[project_dir] = spec or onboarding.PlatformSpec.of_context(values)


def platform_post_gen(values: dict, project_dir: Path) -> None:
    """Wire the pipeline's variables; write the sample parquet files to a local data
    location when the sources read them and the baking Python can write them, otherwise say
    how (an object store needs the cloud's credentials)."""
    spec = _CHECKED.pop(project_dir, None) or onboarding.PlatformSpec.of_context(values)
    if spec.deploy == "none":
        shutil.rmtree(project_dir / "k8s", ignore_errors=True)
    onboarding.finish_platform_repo(spec, project_dir)
    if spec.backends.registry in choices.LOCAL_REGISTRIES or spec.backends.online_store == "sqlite":
        (project_dir / "data").mkdir(exist_ok=True)  # feature_store.yaml's local files
    if spec.backends.offline_store not in choices.LOCAL_OFFLINE_STORES:
        return
    local = not data_location(project_dir).startswith(("s3://", "gs://"))
    if local and all(importlib.util.find_spec(module) for module in ("pandas", "pyarrow")):
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
