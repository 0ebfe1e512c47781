"""Baking repos from the bundled templates and registering teams. Never imports Feast.

Every function here takes a checked spec (``specs``) whole: a team baked with plain
cookiecutter and one added with ``feast-federation add-team`` are checked once, where their
spec is built (by the template hook, or by the CLI, which hands its spec to the hooks), and
go through the same registration (``finish_team_repo``).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from feast_federation.errors import FederationError
from feast_federation.onboarding.ci_secrets import wire_ci_secrets
from feast_federation.onboarding.k8s_secrets import wire_k8s_secrets
from feast_federation.onboarding.monorepo import (
    join_monorepo,
    platform_key,
    start_monorepo,
    team_key,
)
from feast_federation.onboarding.specs import PlatformSpec, TeamSpec, handing_over
from feast_federation.onboarding.starters import (
    check_starter_view,
    default_starter_view,
    platform_views,
)
from feast_federation.onboarding.team_config import inherit_feast_requirement, team_store_yaml
from feast_federation.onboarding.templates import (
    PLATFORM_REPO_DIR,
    PLATFORM_TEMPLATE,
    TEAM_TEMPLATE,
    bake,
    link_to_template,
    templates_root,
)
from feast_federation.rules.contract import CONTRACT_FILE, contract_path
from feast_federation.rules.environments import (
    environment_dir,
    environments_of,
    is_feature_repo,
    store_file,
    store_files,
)
from feast_federation.rules.layout import Monorepo
from feast_federation.rules.ownership import validate_team_name
from feast_federation.rules.policy import register_team
from feast_federation.rules.repo import STORE_FILE
from feast_federation.rules.values import check_plain_text

# --- where a new repo may go -------------------------------------------------------------


def check_team_location(target: Path) -> None:
    """A new team repo goes where nothing is, outside every other feature repo."""
    target = Path(target).expanduser().absolute()
    if target.exists():
        raise FederationError(f"{target}: already exists")
    check_outside_feature_repos(target.parent)


def check_outside_feature_repos(directory: Path) -> None:
    """``directory`` can hold a new repo: a directory (or none yet), in no feature repo."""
    directory = Path(directory).expanduser().absolute()
    check_plain_text("output directory", str(directory))
    for parent in (directory, *directory.parents):
        if parent.exists() and not parent.is_dir():
            raise FederationError(f"output directory {parent}: is a file, not a directory")
        if is_feature_repo(parent):
            raise FederationError(
                f"output directory {directory}: inside the feature repo {parent}; a team "
                "repo is a repo of its own (choose a directory outside it)"
            )


# --- baking ----------------------------------------------------------------------------


def bake_platform_repo(spec: PlatformSpec, output_dir: Path) -> Path:
    """Bake ``output_dir/<repo_name>``; the spec was checked when it was made, the output
    directory is checked before anything is written."""
    check_plain_text("output directory", str(output_dir))
    target = Path(output_dir) / spec.repo_name
    if target.exists():
        raise FederationError(f"{target}: already exists")
    spec = spec.placed_in(output_dir)
    with handing_over(spec):
        return bake(PLATFORM_TEMPLATE, output_dir, spec.context())


def bake_team_repo(spec: TeamSpec, output_dir: Path | None = None) -> Path:
    """Bake ``output_dir/<team>`` and register the team (the template's post-generation
    hook); where it goes is checked before anything is written. In a monorepo the team's
    folder goes in the teams' folder (``output_dir``, if given, must be it) and joins the
    root's pipelines, CODEOWNERS and pre-commit config."""
    org = spec.monorepo
    if org is not None:
        teams = org.root / org.teams_dir
        if output_dir is not None and Path(output_dir).absolute() != teams:
            raise FederationError(
                f"--output-dir {output_dir}: in the monorepo {org.root}, team folders go in {teams}"
            )
        output_dir = teams
    if output_dir is None:
        output_dir = spec.platform_dir.parent / "teams"
    check_team_location(Path(output_dir) / spec.team)
    with handing_over(spec):
        repo = bake(TEAM_TEMPLATE, output_dir, spec.context())
    if org is not None:
        join_monorepo(org, repo, team_key(spec.team), spec.owners)
    return repo


def bake_org(
    org_dir: Path, platform: PlatformSpec, teams: Sequence[str | tuple[str, str]]
) -> tuple[Path, list[Path]]:
    """Bake ``org_dir/platform`` and ``org_dir/teams/<team>``; every team is checked
    against what the new platform will offer before anything is written.

    A team is a name, or a (name, starter view) pair; team repos share the platform's ``ci``.
    """
    org_dir = Path(org_dir)
    check_plain_text("org directory", str(org_dir))
    if org_dir.exists() and (not org_dir.is_dir() or any(org_dir.iterdir())):
        raise FederationError(f"{org_dir}: exists and is not an empty directory")
    pairs = _new_teams(teams)
    platform_dir = bake_platform_repo(platform, org_dir)
    if platform.layout == "monorepo":
        org = Monorepo(org_dir.absolute(), platform.repo_name, platform.teams_dir, platform.ci)
        start_monorepo(org, platform.project, platform.owners, platform.federation_repo_url,
                       platform.feast_federation_version)  # fmt: skip
        join_monorepo(org, platform_dir, platform_key(), platform.owners)
    team_dirs = []
    for name, view in pairs:
        owners = [f"{name}-leads@example.com"]
        team = TeamSpec.build(
            platform_dir, team=name, owners=owners, starter_view=view, ci=platform.ci
        )
        team_dirs.append(bake_team_repo(team, org_dir / platform.teams_dir))
    return platform_dir, team_dirs


def _new_teams(teams: Sequence[str | tuple[str, str]]) -> list[tuple[str, str]]:
    """The (name, starter view) of each team of a new org, checked against one another and
    against the views of the template's contract, which the new platform offers."""
    views = platform_views(templates_root() / PLATFORM_TEMPLATE / PLATFORM_REPO_DIR)
    default = default_starter_view(views)
    pairs = [(team, default) if isinstance(team, str) else team for team in teams]
    for index, (name, view) in enumerate(pairs):
        validate_team_name(name, [registered for registered, _ in pairs[:index]])
        check_starter_view(views, view, "bootstrap creates")
    return pairs


# --- the keyword forms, for library callers --------------------------------------------


def bake_platform(output_dir: Path, **values: Any) -> Path:
    """``bake_platform_repo`` of ``PlatformSpec(**values)``."""
    return bake_platform_repo(PlatformSpec(**values), output_dir)


def bake_team(platform_dir: Path, *, output_dir: Path, **values: Any) -> Path:
    """``bake_team_repo`` of ``TeamSpec.build(platform_dir, **values)``."""
    return bake_team_repo(TeamSpec.build(platform_dir, **values), output_dir)


def bootstrap_org(
    org_dir: Path, *, teams: Sequence[str | tuple[str, str]], **values: Any
) -> tuple[Path, list[Path]]:
    """``bake_org`` of ``PlatformSpec(**values)``."""
    return bake_org(org_dir, PlatformSpec(**values), teams)


# --- what the template hooks finish ----------------------------------------------------


def finish_platform_repo(spec: PlatformSpec, repo_dir: Path) -> None:
    """Give a freshly baked platform repo its environments' store files, and its pipeline
    (and manifests) the variables its stores read, and link it to the template."""
    if spec.environments:
        split_environments(Path(repo_dir), spec.environments)
        use_promotion_pipelines(Path(repo_dir))
    drop_empty_workflow_folders(Path(repo_dir))
    wire_ci_secrets(Path(repo_dir))
    wire_k8s_secrets(Path(repo_dir), spec.project)
    link_to_template(Path(repo_dir), PLATFORM_TEMPLATE, spec.context())


def finish_team_repo(spec: TeamSpec, repo_dir: Path) -> None:
    """Give a freshly baked team repo the platform's shared settings and register the team.

    The repo installs feast-federation and takes its pre-commit hooks from where the spec
    says (the platform repo's, unless the team named its own). Where the offline store has
    schemas, the repo's feature_store.yaml points at the team's, and the policy records it.
    """
    repo_dir = Path(repo_dir)
    environments = environments_of(spec.platform_dir)
    if environments:
        (repo_dir / STORE_FILE).unlink(missing_ok=True)
        record_team_environments(repo_dir, environments)
        use_promotion_pipelines(repo_dir)
    for env, platform_file in store_files(spec.platform_dir).items():
        store_yaml = team_store_yaml(
            platform_file.read_text(encoding="utf-8"), registry_server=spec.registry_server,
            offline_schema=spec.offline_schema,
        )  # fmt: skip
        target = store_file(repo_dir, env) if env else repo_dir / STORE_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(store_yaml, encoding="utf-8")
        copy_platform_contract(spec.platform_dir, repo_dir, env)
    drop_empty_workflow_folders(repo_dir)
    wire_ci_secrets(repo_dir)
    inherit_feast_requirement(spec.platform_dir, repo_dir)
    spec.federation.write_to(repo_dir)
    link_to_template(repo_dir, TEAM_TEMPLATE, spec.context())
    schema = spec.policy_offline_schema
    register_team(spec.platform_dir, spec.team, spec.owners, offline_schema=schema)


def copy_platform_contract(platform_dir: Path, repo_dir: Path, env: str | None = None) -> None:
    """The team repo starts with the contract the platform repo publishes (its sync keeps
    it current), each environment's; a platform repo without one leaves the team to
    `contract refresh`."""
    published = contract_path(platform_dir, env)
    if published.is_file():
        target = contract_path(repo_dir, env)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(published, target)


# --- environments -------------------------------------------------------------------------

_ENV_NOTE = (
    "# Environment {env} ({position}): this repo's definitions, applied to {env}'s own\n"
    "# registry and stores. feast-federation --env {env}; plain Feast from the repo's root:\n"
    "#   feast -f environments/{env}/feature_store.yaml <command>\n"
)


def split_environments(repo_dir: Path, environments: tuple[str, ...]) -> None:
    """One ``environments/<env>/feature_store.yaml`` (and contract) per environment, made
    from the baked one: local state (registry, online store) in ``data/<env>/``, object
    store registries under ``<env>/``; credentials come from the same variables, which each
    environment's CI environment holds its own values of."""
    baked = (repo_dir / STORE_FILE).read_text(encoding="utf-8")
    contract = repo_dir / CONTRACT_FILE
    for index, env in enumerate(environments):
        position = "first" if index == 0 else f"after {environments[index - 1]}"
        target = environment_dir(repo_dir, env)
        target.mkdir(parents=True, exist_ok=True)
        (target / STORE_FILE).write_text(
            _ENV_NOTE.format(env=env, position=position) + environment_store_yaml(baked, env),
            encoding="utf-8",
        )
        if contract.is_file():
            shutil.copyfile(contract, target / contract.name)
        (repo_dir / "data" / env).mkdir(parents=True, exist_ok=True)
    (repo_dir / STORE_FILE).unlink()
    contract.unlink(missing_ok=True)


def environment_store_yaml(baked: str, env: str) -> str:
    """``baked`` with its local files in ``data/<env>/`` and object-store registries under
    ``<env>/``."""
    text = re.sub(r"(/data)/(registry\.db|registry\.pb|online_store\.db)\b", rf"\1/{env}/\2", baked)
    return re.sub(r"(\w+://\S+)/registry\.pb", rf"\1/{env}/registry.pb", text)


PROMOTION_WORKFLOW = "promotion.yml"
GITLAB_PROMOTION = ".gitlab-ci.promotion.yml"


def use_promotion_pipelines(repo_dir: Path) -> None:
    """An org with environments runs the promotion pipelines the templates render for it
    in place of the single-registry ones."""
    workflows = repo_dir / ".github" / "workflows"
    if (workflows / PROMOTION_WORKFLOW).is_file():
        for single in ("feature-store.yml", "feature-services.yml"):
            (workflows / single).unlink(missing_ok=True)
    if (repo_dir / GITLAB_PROMOTION).is_file():
        (repo_dir / GITLAB_PROMOTION).replace(repo_dir / ".gitlab-ci.yml")


def drop_empty_workflow_folders(repo_dir: Path) -> None:
    """A repo whose CI is not GitHub gets no ``.github/workflows`` (cookiecutter creates the
    folder even when every file in it renders to no name)."""
    workflows = repo_dir / ".github" / "workflows"
    for folder in (workflows, workflows.parent):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def record_team_environments(repo_dir: Path, environments: tuple[str, ...]) -> None:
    """The team repo's ``[tool.feast-federation]`` names the platform's environments."""
    pyproject = repo_dir / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    listed = ", ".join(json.dumps(env) for env in environments)
    line = f"environments = [{listed}]"
    text = re.sub(r"(?m)^(team = .*)$", lambda m: f"{m[1]}\n{line}", text, count=1)
    pyproject.write_text(text, encoding="utf-8")
