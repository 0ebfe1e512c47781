"""Baking repos from the bundled templates and registering teams. Never imports Feast.

Every function here takes a checked spec (``specs``) whole: a team baked with plain
cookiecutter and one added with ``feast-federation add-team`` are checked once, where their
spec is built (by the template hook, or by the CLI, which hands its spec to the hooks), and
go through the same registration (``finish_team_repo``).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from feast_federation.errors import FederationError
from feast_federation.onboarding.ci_secrets import wire_ci_secrets
from feast_federation.onboarding.k8s_secrets import wire_k8s_secrets
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
from feast_federation.rules.contract import contract_path
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
        if (parent / STORE_FILE).is_file():
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


def bake_team_repo(spec: TeamSpec, output_dir: Path) -> Path:
    """Bake ``output_dir/<team>`` and register the team (the template's post-generation
    hook); where it goes is checked before anything is written."""
    check_team_location(Path(output_dir) / spec.team)
    with handing_over(spec):
        return bake(TEAM_TEMPLATE, output_dir, spec.context())


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
    team_dirs = []
    for name, view in pairs:
        owners = [f"{name}-leads@example.com"]
        team = TeamSpec.build(
            platform_dir, team=name, owners=owners, starter_view=view, ci=platform.ci
        )
        team_dirs.append(bake_team_repo(team, org_dir / "teams"))
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
    """Give a freshly baked platform repo's pipeline (and manifests) the variables its
    stores read, and link it to the template."""
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
    shared = (spec.platform_dir / STORE_FILE).read_text(encoding="utf-8")
    store_yaml = team_store_yaml(
        shared, registry_server=spec.registry_server, offline_schema=spec.offline_schema
    )
    (repo_dir / STORE_FILE).write_text(store_yaml, encoding="utf-8")
    wire_ci_secrets(repo_dir)
    inherit_feast_requirement(spec.platform_dir, repo_dir)
    spec.federation.write_to(repo_dir)
    copy_platform_contract(spec.platform_dir, repo_dir)
    link_to_template(repo_dir, TEAM_TEMPLATE, spec.context())
    schema = spec.policy_offline_schema
    register_team(spec.platform_dir, spec.team, spec.owners, offline_schema=schema)


def copy_platform_contract(platform_dir: Path, repo_dir: Path) -> None:
    """The team repo starts with the contract the platform repo publishes (its sync keeps
    it current); a platform repo without one leaves the team to `contract refresh`."""
    published = contract_path(platform_dir)
    if published.is_file():
        shutil.copyfile(published, contract_path(repo_dir))
