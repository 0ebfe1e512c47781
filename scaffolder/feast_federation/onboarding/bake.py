"""Baking repos from the bundled templates and registering teams. Never imports Feast.

The template hooks call ``check_new_team`` and ``finish_team_repo`` and the CLI calls them
through cookiecutter, so a team baked with plain cookiecutter and one added with
``feast-federation add-team`` go through the same checks and the same registration.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from feast_federation.errors import FederationError
from feast_federation.onboarding.ci_secrets import wire_ci_secrets
from feast_federation.onboarding.k8s_secrets import wire_k8s_secrets
from feast_federation.onboarding.starters import (
    check_starter_view,
    default_starter_view,
    platform_views,
    starter_context,
)
from feast_federation.onboarding.team_config import (
    REGISTRY_SERVER_FILE,
    check_registry_server_address,
    inherit_feast_requirement,
    team_federation_source,
    team_store_yaml,
)
from feast_federation.onboarding.templates import (
    PLATFORM_REPO_DIR,
    PLATFORM_TEMPLATE,
    TEAM_TEMPLATE,
    bake,
    templates_root,
)
from feast_federation.rules.choices import (
    CI_SYSTEMS,
    LOCAL_DEFAULT,
    POSTGRES_SSLMODES,
    SCHEMA_SCOPED_OFFLINE_STORES,
    Backends,
    check_choice,
    check_deploy,
)
from feast_federation.rules.contract import contract_path, registry_names
from feast_federation.rules.ownership import (
    offline_schema_of,
    validate_offline_schema,
    validate_project_name,
    validate_team_name,
)
from feast_federation.rules.policy import POLICY_FILE, load_policy, policy_section, register_team
from feast_federation.rules.repo import STORE_FILE, declared_names
from feast_federation.rules.values import (
    check_git_ref,
    check_owners,
    check_plain_text,
    check_repo_dir_name,
    check_requirement,
    check_url,
    check_version,
    shown,
)
from feast_federation.version import __version__

DEFAULT_FEDERATION_REPO_URL = "https://github.com/your-org/feast-federation"
DEFAULT_FEDERATION_REQUIREMENT = f"feast-federation=={__version__}"
DEFAULT_REGISTRY_SERVER_ADDRESS = "localhost:6570"
DEFAULT_PLATFORM_REPO_URL = "https://github.com/your-org/platform"
DEFAULT_PLATFORM_REPO_REF = "main"


# --- checks shared by the CLI and the template hooks -----------------------------------


def check_new_team(
    platform_dir: Path | str,
    *,
    team: str,
    owners: Sequence[str],
    project: str = "",
    offline_schema: str = "",
    federation_repo_url: str = "",
    feast_federation_version: str = __version__,
    federation_requirement: str = "",
    starter_view: str | None = None,
    rendered_starter: str | None = None,
) -> None:
    """Raise FederationError unless ``team`` may be registered in ``platform_dir``'s policy.

    An empty ``federation_repo_url`` or ``federation_requirement`` is the platform's.
    ``starter_view`` must be one of the platform's views; ``rendered_starter`` is what the
    template will render for it (``__starter``), read when cookiecutter asked its questions.

    Every value is checked here, before anything is written: the CLI calls this before it
    bakes, and the template's pre-generation hook calls it under plain cookiecutter.
    """
    check_plain_text("platform_dir", str(platform_dir))
    platform = _platform(platform_dir)
    policy = load_policy(platform)
    validate_team_name(team, policy.teams, declared_names(platform) | registry_names(platform))
    if not owners:
        raise FederationError(f"team {team}: give at least one owner")
    check_owners(f"team {team}", list(owners))
    check_version("feast_federation_version", feast_federation_version)
    team_federation_source(platform, federation_requirement, federation_repo_url)
    if project and project != policy.project:
        raise FederationError(f"project_name {project}: the platform's project is {policy.project}")
    schemas = {other.effective_offline_schema: name for name, other in policy.teams.items()}
    validate_offline_schema(team, offline_schema_of(team, offline_schema), schemas)
    if starter_view is not None:
        _check_starter(platform, starter_view, rendered_starter)


def _check_starter(platform: Path, starter_view: str, rendered_starter: str | None) -> None:
    views = platform_views(platform)
    # Cookiecutter reads a relative platform_dir from the current directory while asking,
    # the hooks from the output directory: when they found different platforms, the view
    # offered (empty when none was found) and what the template renders are not this one's.
    if rendered_starter is not None and (
        not starter_view or rendered_starter != starter_context(views, starter_view)
    ):
        raise FederationError(
            f"starter_view {shown(starter_view)}: the template could not read the platform's "
            f"views at {platform} while asking; give platform_dir as an absolute path, or "
            f"starter_view as one of: {', '.join(views) or 'none'}"
        )
    check_starter_view(views, starter_view, f"at {platform}")


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


def check_inherited_choices(
    platform_dir: Path,
    *,
    team: str,
    registry: str | None = None,
    online_store: str | None = None,
    offline_store: str | None = None,
) -> None:
    """Refuse backend choices for a team repo that differ from the platform's: every repo
    of the org shares one registry and online store."""
    store_yaml = (_platform(platform_dir) / STORE_FILE).read_text(encoding="utf-8")
    platform = Backends.of_store_yaml(store_yaml)
    asked = {"registry": registry, "online_store": online_store, "offline_store": offline_store}
    for setting, value in asked.items():
        if value is not None and value != getattr(platform, setting):
            raise FederationError(
                f"team {team}: {setting} {value} differs from the platform's "
                f"{getattr(platform, setting)}; team repos share the platform's stores"
            )


def check_new_platform(
    *,
    project: str,
    owners: Sequence[str],
    repo_name: str = "platform",
    federation_repo_url: str = DEFAULT_FEDERATION_REPO_URL,
    feast_federation_version: str = __version__,
    registry_server_address: str = DEFAULT_REGISTRY_SERVER_ADDRESS,
    federation_requirement: str = DEFAULT_FEDERATION_REQUIREMENT,
    platform_repo_url: str = DEFAULT_PLATFORM_REPO_URL,
    platform_repo_ref: str = DEFAULT_PLATFORM_REPO_REF,
) -> None:
    """Every value of a new platform repo, checked before anything is written."""
    check_registry_server_address(registry_server_address)
    validate_project_name(project)
    if not owners:
        raise FederationError(f"project {project}: give at least one platform owner")
    check_owners("platform", list(owners))
    check_repo_dir_name("repo_name", repo_name)
    check_url("federation_repo_url", federation_repo_url)
    check_version("feast_federation_version", feast_federation_version)
    check_requirement("federation_requirement", federation_requirement)
    check_url("platform_repo_url", platform_repo_url)
    check_git_ref("platform_repo_ref", platform_repo_ref)


def finish_platform_repo(repo_dir: Path, project: str = "") -> None:
    """Give a freshly baked platform repo's pipeline (and manifests) the variables its
    stores read."""
    wire_ci_secrets(Path(repo_dir))
    if project:
        wire_k8s_secrets(Path(repo_dir), project)


def finish_team_repo(
    platform_dir: Path,
    *,
    team: str,
    owners: Sequence[str],
    repo_dir: Path,
    registry_server: str = "",
    offline_schema: str = "",
    federation_requirement: str = "",
    federation_repo_url: str = "",
) -> None:
    """Give a freshly baked team repo the platform's shared settings and register the team.

    The repo installs feast-federation and takes its pre-commit hooks from where the
    platform repo does, unless the team names its own.

    Where the offline store has schemas, the policy records the team's (its name unless
    given), and the repo's feature_store.yaml points there.
    """
    platform_dir = _platform(platform_dir)
    registry_server = team_registry_server(platform_dir, registry_server)
    shared = (platform_dir / STORE_FILE).read_text(encoding="utf-8")
    scoped = Backends.of_store_yaml(shared).offline_store in SCHEMA_SCOPED_OFFLINE_STORES
    schema = offline_schema_of(team, offline_schema)
    store_yaml = team_store_yaml(shared, registry_server=registry_server, offline_schema=schema)
    (Path(repo_dir) / STORE_FILE).write_text(store_yaml, encoding="utf-8")
    wire_ci_secrets(Path(repo_dir))
    inherit_feast_requirement(platform_dir, Path(repo_dir))
    source = team_federation_source(platform_dir, federation_requirement, federation_repo_url)
    source.write_to(Path(repo_dir))
    copy_platform_contract(platform_dir, Path(repo_dir))
    # The policy names the schema where the store has schemas, or where the team chose one.
    recorded = schema if scoped or schema != team else ""
    register_team(platform_dir, team, owners, offline_schema=recorded)


def copy_platform_contract(platform_dir: Path, repo_dir: Path) -> None:
    """The team repo starts with the contract the platform repo publishes (its sync keeps
    it current); a platform repo without one leaves the team to `contract refresh`."""
    published = contract_path(platform_dir)
    if published.is_file():
        shutil.copyfile(published, contract_path(repo_dir))


def team_registry_server(platform_dir: Path, given: str) -> str:
    """Where a team repo reaches the registry: where the platform runs a registry server,
    only through it (the address given, else the one federation.yaml records)."""
    check_registry_server_address(given)
    platform_dir = _platform(platform_dir)
    if given or not (platform_dir / REGISTRY_SERVER_FILE).is_file():
        return given
    address = str(policy_section(platform_dir, "registry_server").get("address") or "")
    if not address:
        raise FederationError(
            f"{platform_dir / POLICY_FILE}: the platform runs a registry server, so team repos "
            "reach the registry only through it; give --registry-server HOST:PORT or record "
            "registry_server.address"
        )
    check_registry_server_address(address)
    return address


def _platform(platform_dir: Path) -> Path:
    platform_dir = Path(platform_dir).expanduser().resolve()
    if not (platform_dir / STORE_FILE).is_file():
        raise FederationError(f"platform_dir {platform_dir}: no {STORE_FILE}; not a platform repo")
    return platform_dir


# --- baking ----------------------------------------------------------------------------


def bake_platform(
    output_dir: Path,
    *,
    project: str,
    owners: Sequence[str],
    repo_name: str = "platform",
    backends: Backends = LOCAL_DEFAULT,
    ci: str = "github",
    postgres_sslmode: str = "require",
    registry_server_address: str = DEFAULT_REGISTRY_SERVER_ADDRESS,
    federation_requirement: str = DEFAULT_FEDERATION_REQUIREMENT,
    federation_repo_url: str = DEFAULT_FEDERATION_REPO_URL,
    deploy: str = "none",
    platform_repo_url: str = DEFAULT_PLATFORM_REPO_URL,
    platform_repo_ref: str = DEFAULT_PLATFORM_REPO_REF,
) -> Path:
    """Bake ``output_dir/<repo_name>``; every choice is checked before anything is written.

    ``platform_repo_url`` and ``platform_repo_ref`` are where the Feast Operator clones the
    repo from (``deploy="feast-operator"``)."""
    check_new_platform(
        project=project, owners=owners, repo_name=repo_name,
        registry_server_address=registry_server_address,
        federation_requirement=federation_requirement, federation_repo_url=federation_repo_url,
        platform_repo_url=platform_repo_url, platform_repo_ref=platform_repo_ref,
    )  # fmt: skip
    backends.check()
    check_choice("ci", ci, CI_SYSTEMS)
    check_deploy(deploy, backends)
    check_choice("postgres_sslmode", postgres_sslmode, POSTGRES_SSLMODES)
    check_plain_text("output directory", str(output_dir))
    target = Path(output_dir) / repo_name
    if target.exists():
        raise FederationError(f"{target}: already exists")
    context = {
        "project_name": project,
        "repo_name": repo_name,
        "platform_owners": ", ".join(owners),
        "registry": backends.registry,
        "online_store": backends.online_store,
        "offline_store": backends.offline_store,
        "postgres_sslmode": postgres_sslmode,
        "registry_server": backends.registry_server,
        "registry_server_address": registry_server_address,
        "ci": ci,
        "deploy": deploy,
        "platform_repo_url": platform_repo_url,
        "platform_repo_ref": platform_repo_ref,
        "feast_federation_version": __version__,
        "feast_federation_requirement": federation_requirement,
        "federation_repo_url": federation_repo_url,
    }
    return bake(PLATFORM_TEMPLATE, output_dir, context)


def bake_team(
    platform_dir: Path,
    *,
    team: str,
    owners: Sequence[str],
    output_dir: Path,
    starter_view: str = "",
    registry_server: str = "",
    ci: str = "github",
    offline_schema: str = "",
    registry: str | None = None,
    online_store: str | None = None,
    offline_store: str | None = None,
    federation_requirement: str = "",
    federation_repo_url: str = "",
) -> Path:
    """Bake ``output_dir/<team>``; the template's hooks check and register the team.

    ``starter_view`` is one of the platform's views (default: the first with a bespoke
    starter, else the first the generic starter can be built on). ``registry``,
    ``online_store`` and ``offline_store`` are only checked: a team repo takes the
    platform's. So are ``federation_requirement`` and
    ``federation_repo_url`` unless given (how the repo installs feast-federation, where its
    pre-commit hooks come from).
    """
    check_plain_text("platform_dir", str(platform_dir))
    starter_view = starter_view or default_starter_view(platform_views(_platform(platform_dir)))
    check_new_team(
        platform_dir, team=team, owners=owners, offline_schema=offline_schema,
        federation_requirement=federation_requirement, federation_repo_url=federation_repo_url,
        starter_view=starter_view,
    )  # fmt: skip
    source = team_federation_source(
        _platform(platform_dir), federation_requirement, federation_repo_url
    )
    check_inherited_choices(
        platform_dir, team=team,
        registry=registry, online_store=online_store, offline_store=offline_store,
    )  # fmt: skip
    check_choice("ci", ci, CI_SYSTEMS)
    registry_server = team_registry_server(platform_dir, registry_server)
    check_team_location(Path(output_dir) / team)
    context = {
        "team_name": team,
        "owners": ", ".join(owners),
        "project_name": load_policy(_platform(platform_dir)).project,
        "platform_dir": str(Path(platform_dir).resolve()),
        "starter_view": starter_view,
        "registry_server": registry_server,
        "ci": ci,
        "offline_schema": offline_schema_of(team, offline_schema),
        "feast_federation_version": source.rev.removeprefix("v"),
        "feast_federation_requirement": source.requirement,
        "federation_repo_url": source.repo_url,
    }
    return bake(TEAM_TEMPLATE, output_dir, context)


def bootstrap_org(
    org_dir: Path,
    *,
    project: str,
    owners: Sequence[str],
    teams: Sequence[str | tuple[str, str]],
    backends: Backends = LOCAL_DEFAULT,
    ci: str = "github",
    postgres_sslmode: str = "require",
    registry_server_address: str = DEFAULT_REGISTRY_SERVER_ADDRESS,
    federation_requirement: str = DEFAULT_FEDERATION_REQUIREMENT,
    federation_repo_url: str = DEFAULT_FEDERATION_REPO_URL,
) -> tuple[Path, list[Path]]:
    """Bake ``org_dir/platform`` and ``org_dir/teams/<team>``; every input is checked first.

    A team is a name, or a (name, starter view) pair; team repos share the platform's ``ci``.
    """
    org_dir = Path(org_dir)
    check_plain_text("org directory", str(org_dir))
    if org_dir.exists() and (not org_dir.is_dir() or any(org_dir.iterdir())):
        raise FederationError(f"{org_dir}: exists and is not an empty directory")
    # The new platform offers the views of the template's contract.
    template_views = platform_views(templates_root() / PLATFORM_TEMPLATE / PLATFORM_REPO_DIR)
    default = default_starter_view(template_views)
    pairs = [(team, default) if isinstance(team, str) else team for team in teams]
    owners = list(owners) or ["platform-team@example.com"]
    check_new_platform(
        project=project, owners=owners, registry_server_address=registry_server_address,
        federation_requirement=federation_requirement, federation_repo_url=federation_repo_url,
    )  # fmt: skip
    backends.check()
    check_choice("ci", ci, CI_SYSTEMS)
    check_choice("postgres_sslmode", postgres_sslmode, POSTGRES_SSLMODES)
    registered: list[str] = []
    for name, starter_view in pairs:
        validate_team_name(name, registered)
        check_starter_view(template_views, starter_view, "bootstrap creates")
        registered.append(name)
    # bake_platform checks the choices before it writes anything.
    platform_dir = bake_platform(
        org_dir, project=project, owners=owners, backends=backends, ci=ci,
        postgres_sslmode=postgres_sslmode, registry_server_address=registry_server_address,
        federation_requirement=federation_requirement, federation_repo_url=federation_repo_url,
    )  # fmt: skip
    team_dirs = [
        bake_team(
            platform_dir,
            team=name,
            owners=[f"{name}-leads@example.com"],
            output_dir=org_dir / "teams",
            starter_view=view,
            ci=ci,
        )  # fmt: skip
        for name, view in pairs
    ]
    return platform_dir, team_dirs
