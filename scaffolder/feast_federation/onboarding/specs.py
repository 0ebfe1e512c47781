"""What a new repo is made from: a platform spec and a team spec, frozen values checked once,
when they are built. Never imports Feast.

The values a user gives (a flag, a cookiecutter answer) are checked where a spec is built and
nowhere after: baking, the template hooks and registration take the spec whole and trust it.
A ``TeamSpec`` also holds what building it resolved from the platform repo (its directory,
project, stores, starter view, registry server address, feast-federation source), so nothing
downstream reads those again.

The CLI builds specs from its options; a template hook builds them from cookiecutter's
context (``of_context``), unless the bake was started with a spec (``handing_over``): then
the hook takes that one (``handed_over``) instead of checking the same values again.
"""

from __future__ import annotations

import contextvars
import copy
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from feast_federation.errors import FederationError
from feast_federation.onboarding.starters import (
    check_starter_view,
    default_starter_view,
    platform_views,
    starter_context,
)
from feast_federation.onboarding.team_config import (
    FederationSource,
    check_registry_server_address,
    team_federation_source,
    team_registry_server,
)
from feast_federation.rules.choices import (
    CI_SYSTEMS,
    LOCAL_DEFAULT,
    LOCAL_OFFLINE_STORES,
    POSTGRES_SSLMODES,
    SCHEMA_SCOPED_OFFLINE_STORES,
    Backends,
    check_choice,
    check_deploy,
)
from feast_federation.rules.contract import registry_names
from feast_federation.rules.environments import is_feature_repo, store_files
from feast_federation.rules.layout import LAYOUTS, Monorepo, check_folders, monorepo_of
from feast_federation.rules.ownership import (
    offline_schema_of,
    validate_offline_schema,
    validate_project_name,
    validate_team_name,
)
from feast_federation.rules.policy import (
    Policy,
    check_registrable,
    load_policy,
    split_owners,
    validate_environments,
)
from feast_federation.rules.repo import STORE_FILE, declared_names
from feast_federation.rules.values import (
    check_data_location,
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


@dataclass(frozen=True)
class PlatformSpec:
    """A new platform repo: every template choice, checked when the spec is made.

    ``platform_repo_url`` and ``platform_repo_ref`` are where the Feast Operator clones the
    repo from (``deploy="feast-operator"``). ``data_location`` is where a file offline store's
    parquet files live (a folder outside the repo, or an ``s3://`` or ``gs://`` URI); empty,
    a folder beside the new repo (``<output dir>/<repo_name>-data``).
    """

    project: str
    owners: tuple[str, ...]
    repo_name: str = "platform"
    backends: Backends = LOCAL_DEFAULT
    ci: str = "github"
    postgres_sslmode: str = "require"
    deploy: str = "none"
    registry_server_address: str = DEFAULT_REGISTRY_SERVER_ADDRESS
    federation_requirement: str = DEFAULT_FEDERATION_REQUIREMENT
    federation_repo_url: str = DEFAULT_FEDERATION_REPO_URL
    feast_federation_version: str = __version__
    platform_repo_url: str = DEFAULT_PLATFORM_REPO_URL
    platform_repo_ref: str = DEFAULT_PLATFORM_REPO_REF
    data_location: str = ""
    # In promotion order (staging, then production); () keeps one registry.
    environments: tuple[str, ...] = ()
    # One git repository per repo (polyrepo), or one for the whole org (monorepo): the
    # platform's folder is ``repo_name``, the teams' folders are in ``teams_dir``.
    layout: str = "polyrepo"
    teams_dir: str = "teams"

    def __post_init__(self) -> None:
        """A platform spec cannot exist unchecked: every value is checked here, before
        anything is written, in the order the refusals have always come in."""
        check_registry_server_address(self.registry_server_address)
        validate_project_name(self.project)
        if not self.owners:
            raise FederationError(f"project {self.project}: give at least one platform owner")
        check_owners("platform", list(self.owners))
        object.__setattr__(self, "owners", tuple(self.owners))  # a list given stays data
        check_repo_dir_name("repo_name", self.repo_name)
        check_url("federation_repo_url", self.federation_repo_url)
        check_version("feast_federation_version", self.feast_federation_version)
        check_requirement("federation_requirement", self.federation_requirement)
        check_url("platform_repo_url", self.platform_repo_url)
        check_git_ref("platform_repo_ref", self.platform_repo_ref)
        if self.data_location:
            check_data_location("data_location", self.data_location)
            if self.backends.offline_store not in LOCAL_OFFLINE_STORES:
                raise FederationError(
                    f"data_location {shown(self.data_location)}: the "
                    f"{self.backends.offline_store} offline store reads tables, not files; "
                    f"a data location is for {' and '.join(LOCAL_OFFLINE_STORES)}"
                )
        self.backends.check(self.data_location)
        check_choice("ci", self.ci, CI_SYSTEMS)
        check_deploy(self.deploy, self.backends)
        check_choice("postgres_sslmode", self.postgres_sslmode, POSTGRES_SSLMODES)
        object.__setattr__(self, "environments", check_environments(self))
        check_choice("layout", self.layout, LAYOUTS)
        check_folders(self.repo_name, self.teams_dir)
        if self.layout == "monorepo" and self.environments:
            raise FederationError(
                "--layout monorepo with --environment: not supported yet (the root pipelines "
                "promote no environments); choose one or the other"
            )

    @classmethod
    def of_context(cls, values: Mapping[str, str]) -> PlatformSpec:
        """The spec of the platform template's cookiecutter context (its answers)."""
        backends = Backends(
            values["registry"], values["online_store"], values["offline_store"],
            values["registry_server"],
            # Repos baked before the engine choice existed (a cruft update) lack it.
            values.get("compute_engine", "local"),
        )  # fmt: skip
        return cls(
            project=values["project_name"],
            owners=tuple(split_owners(values["platform_owners"])),
            repo_name=values["repo_name"],
            backends=backends,
            ci=values.get("ci", "github"),
            postgres_sslmode=values.get("postgres_sslmode", "require"),
            # Repos baked before the deploy choice existed (a cruft update) lack these.
            deploy=values.get("deploy", "none"),
            registry_server_address=values["registry_server_address"],
            federation_requirement=values["feast_federation_requirement"],
            federation_repo_url=values["federation_repo_url"],
            feast_federation_version=values["feast_federation_version"],
            platform_repo_url=values.get("platform_repo_url", DEFAULT_PLATFORM_REPO_URL),
            platform_repo_ref=values.get("platform_repo_ref", DEFAULT_PLATFORM_REPO_REF),
            data_location=values.get("data_location", ""),
            environments=tuple(values.get("environments", "").replace(",", " ").split()),
        )

    def context(self) -> dict[str, str]:
        """What the platform template is baked with."""
        return {
            "project_name": self.project,
            "repo_name": self.repo_name,
            "platform_owners": ", ".join(self.owners),
            "registry": self.backends.registry,
            "online_store": self.backends.online_store,
            "offline_store": self.backends.offline_store,
            "compute_engine": self.backends.compute_engine,
            "postgres_sslmode": self.postgres_sslmode,
            "registry_server": self.backends.registry_server,
            "registry_server_address": self.registry_server_address,
            "ci": self.ci,
            "deploy": self.deploy,
            "platform_repo_url": self.platform_repo_url,
            "platform_repo_ref": self.platform_repo_ref,
            "feast_federation_version": self.feast_federation_version,
            "feast_federation_requirement": self.federation_requirement,
            "federation_repo_url": self.federation_repo_url,
            "data_location": self.data_location,
            "environments": ", ".join(self.environments),
        }

    def is_context(self, values: Mapping[str, str]) -> bool:
        """Whether cookiecutter's ``values`` are this spec's, as baked."""
        return _holds(values, self.context())

    def placed_in(self, output_dir: Path | str) -> PlatformSpec:
        """This spec as baked into ``output_dir``, with the data location a file offline
        store reads decided: the one given, else a folder beside the new repo. Never one
        inside it: the registry stores each source's path, and every clone would store its
        own. Only the location is checked; the rest of the spec was when it was made."""
        if self.backends.offline_store not in LOCAL_OFFLINE_STORES:
            return self
        repo = Path(os.path.abspath(Path(output_dir) / self.repo_name))
        location = self.data_location or str(repo.parent / f"{self.repo_name}-data")
        check_data_location("data_location", location)
        if location.startswith("/") and (Path(location) == repo or repo in Path(location).parents):
            raise FederationError(
                f"data_location {location}: inside the new platform repo {repo}; every clone "
                "of it would store its own source paths in the registry: choose a folder "
                "outside it"
            )
        placed = copy.copy(self)
        object.__setattr__(placed, "data_location", location)
        return placed


@dataclass(frozen=True)
class TeamSpec:
    """A new team of a platform repo: its values, checked, and what building it resolved
    from the platform. Build one with ``build`` or ``of_context``; the constructor takes
    values as they are."""

    platform_dir: Path  # resolved
    team: str
    owners: tuple[str, ...]
    project: str  # the platform's
    backends: Backends  # the platform's stores, which the team shares
    starter_view: str
    starter: str  # what the template renders the starter from (``__starter``)
    offline_schema: str  # the team's schema (dataset): the one given, else its name
    registry_server: str  # HOST:PORT of the platform's registry server; empty: direct
    ci: str
    federation: FederationSource  # how the repo installs feast-federation, and its hooks
    environments: tuple[str, ...] = ()  # the platform's, in promotion order
    monorepo: Monorepo | None = None  # the org's one repository, when the platform is in one

    @property
    def layout(self) -> str:
        return "monorepo" if self.monorepo else "polyrepo"

    @classmethod
    def build(
        cls,
        platform_dir: Path | str,
        *,
        team: str,
        owners: Sequence[str],
        starter_view: str = "",
        registry_server: str = "",
        ci: str | None = None,
        offline_schema: str = "",
        federation_requirement: str = "",
        federation_repo_url: str = "",
        feast_federation_version: str | None = None,
        project: str = "",
        rendered_starter: str | None = None,
        registry: str | None = None,
        online_store: str | None = None,
        offline_store: str | None = None,
    ) -> TeamSpec:
        """Check every value of a team about to be registered in ``platform_dir``'s policy,
        before anything is written, and resolve what the team takes from the platform.

        Empty ``starter_view``, ``registry_server``, ``federation_requirement`` and
        ``federation_repo_url`` are the platform's (its default starter view, the registry
        server address its policy records where it runs one, its feast-federation source).
        ``rendered_starter`` is what cookiecutter will render for the starter, read when it
        asked its questions. ``feast_federation_version``, ``project``, ``registry``,
        ``online_store`` and ``offline_store`` are only checked: a team repo takes the
        platform's (its pre-commit rev, project and stores). ``ci`` is the monorepo's
        where the platform is in one (another is refused), else github unless given.
        """
        check_plain_text("platform_dir", str(platform_dir))
        platform = _platform_repo(platform_dir)
        policy = _policy_admitting(platform, team, owners)
        if feast_federation_version is not None:
            check_version("feast_federation_version", feast_federation_version)
        source = team_federation_source(platform, federation_requirement, federation_repo_url)
        if project and project != policy.project:
            raise FederationError(
                f"project_name {project}: the platform's project is {policy.project}"
            )
        schema = _offline_schema(team, offline_schema, policy)
        view, starter = _starter(platform, starter_view, rendered_starter)
        first_store = next(iter(store_files(platform).values()))
        backends = Backends.of_store_yaml(first_store.read_text(encoding="utf-8"))
        _check_inherited(team, backends, registry, online_store, offline_store)
        org = monorepo_of(platform)
        if org and ci is not None and ci != org.ci:
            raise FederationError(
                f"team {team}: ci {ci} differs from the monorepo's {org.ci}; its root "
                "pipelines run every folder's jobs"
            )
        ci = org.ci if org else ci or "github"
        check_choice("ci", ci, CI_SYSTEMS)
        address = team_registry_server(platform, registry_server)
        return cls(
            platform_dir=platform, team=team, owners=tuple(owners), project=policy.project,
            backends=backends, starter_view=view, starter=starter, offline_schema=schema,
            registry_server=address, ci=ci, federation=source,
            environments=policy.environments, monorepo=org,
        )  # fmt: skip

    @classmethod
    def of_context(cls, values: Mapping[str, str]) -> TeamSpec:
        """The spec of the team template's cookiecutter context (its answers). A relative
        platform_dir is taken from the output directory, where the new repo lands."""
        given = Path(values["platform_dir"]).expanduser()
        return cls.build(
            Path(values.get("_output_dir", "."), given),
            team=values["team_name"],
            owners=split_owners(values["owners"]),
            starter_view=values["starter_view"],
            registry_server=values["registry_server"],
            ci=values["ci"],
            offline_schema=values["offline_schema"],
            federation_requirement=values["feast_federation_requirement"],
            federation_repo_url=values["federation_repo_url"],
            feast_federation_version=values["feast_federation_version"],
            project=values["project_name"],
            rendered_starter=values["__starter"],
        )

    def context(self) -> dict[str, str]:
        """What the team template is baked with."""
        return {
            "team_name": self.team,
            "owners": ", ".join(self.owners),
            "project_name": self.project,
            "platform_dir": str(self.platform_dir),
            "starter_view": self.starter_view,
            "registry_server": self.registry_server,
            "ci": self.ci,
            "offline_schema": self.offline_schema,
            "feast_federation_version": self.federation.rev.removeprefix("v"),
            "feast_federation_requirement": self.federation.requirement,
            "federation_repo_url": self.federation.repo_url,
            "environments": ", ".join(self.environments),
        }

    def is_context(self, values: Mapping[str, str]) -> bool:
        """Whether cookiecutter's ``values`` are this spec's, as baked (its starter too)."""
        return _holds(values, {**self.context(), "__starter": self.starter})

    @property
    def policy_offline_schema(self) -> str:
        """The schema federation.yaml records for the team: where the offline store has
        schemas, or where the team chose one other than its name; else none."""
        scoped = self.backends.offline_store in SCHEMA_SCOPED_OFFLINE_STORES
        return self.offline_schema if scoped or self.offline_schema != self.team else ""


def _platform_repo(platform_dir: Path | str) -> Path:
    platform = Path(platform_dir).expanduser().resolve()
    if not is_feature_repo(platform):
        raise FederationError(f"platform_dir {platform}: no {STORE_FILE}; not a platform repo")
    return platform


def check_environments(spec: PlatformSpec) -> tuple[str, ...]:
    """The environments of a new platform, checked as the policy will read them."""
    try:
        names = validate_environments(list(spec.environments) or None)
    except ValueError as exc:
        raise FederationError(f"--environment: {exc}") from None
    if names and spec.backends.registry_server != "none":
        raise FederationError(
            "--environment with a registry server: not supported yet (each environment would "
            "need its own server); choose registry_server none"
        )
    return names


def _policy_admitting(platform: Path, team: str, owners: Sequence[str]) -> Policy:
    """The platform's policy, once it is clear it can take ``team`` with ``owners``: a name
    no other team nests with, that takes no name the platform holds (in its repo or, as its
    contract records, in the registry)."""
    policy = load_policy(platform)
    validate_team_name(team, policy.teams, declared_names(platform) | registry_names(platform))
    if not owners:
        raise FederationError(f"team {team}: give at least one owner")
    check_owners(f"team {team}", list(owners))
    check_registrable(platform, team, owners)
    return policy


def _offline_schema(team: str, given: str, policy: Policy) -> str:
    """The team's offline schema, which no other team may hold."""
    schema = offline_schema_of(team, given)
    taken = {other.effective_offline_schema: name for name, other in policy.teams.items()}
    validate_offline_schema(team, schema, taken)
    return schema


def _starter(platform: Path, view: str, rendered: str | None) -> tuple[str, str]:
    """The starter view (the platform's default unless given) and the starter rendered
    from it; ``rendered`` is what cookiecutter made of the view while asking."""
    views = platform_views(platform)
    # Cookiecutter reads a relative platform_dir from the current directory while asking,
    # the hooks from the output directory: when they found different platforms, the view
    # offered (empty when none was found) and what the template renders are not this one's.
    if rendered is not None and (not view or rendered != starter_context(views, view)):
        raise FederationError(
            f"starter_view {shown(view)}: the template could not read the platform's "
            f"views at {platform} while asking; give platform_dir as an absolute path, or "
            f"starter_view as one of: {', '.join(views) or 'none'}"
        )
    view = view or default_starter_view(views)
    check_starter_view(views, view, f"at {platform}")
    return view, starter_context(views, view)


def _check_inherited(team: str, platform: Backends, *asked: str | None) -> None:
    """Refuse backend choices for a team repo that differ from the platform's: every repo
    of the org shares one registry and online store."""
    for setting, value in zip(("registry", "online_store", "offline_store"), asked, strict=True):
        if value is not None and value != getattr(platform, setting):
            raise FederationError(
                f"team {team}: {setting} {value} differs from the platform's "
                f"{getattr(platform, setting)}; team repos share the platform's stores"
            )


# --- handing a checked spec to the template hooks ---------------------------------------

_HANDED: contextvars.ContextVar[PlatformSpec | TeamSpec | None] = contextvars.ContextVar(
    "feast_federation_handed_spec", default=None
)


Spec = TypeVar("Spec", PlatformSpec, TeamSpec)


@contextmanager
def handing_over(spec: PlatformSpec | TeamSpec) -> Iterator[None]:
    """While a bake of ``spec`` runs, its template hooks (in this process and thread) can
    take the spec instead of building one from cookiecutter's context: checked already."""
    token = _HANDED.set(spec)
    try:
        yield
    finally:
        _HANDED.reset(token)


def handed_over(kind: type[Spec], values: Mapping[str, str]) -> Spec | None:
    """The spec of the bake under way, if it is a ``kind`` and cookiecutter's ``values`` are
    its context; else None, and the hook builds (and checks) one from ``values``."""
    spec = _HANDED.get()
    return spec if isinstance(spec, kind) and spec.is_context(values) else None


def _holds(values: Mapping[str, str], expected: Mapping[str, str]) -> bool:
    return all(values.get(key) == value for key, value in expected.items())
