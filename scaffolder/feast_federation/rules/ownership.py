"""Who owns which name, and which kinds each owner may write.

This is the single place these rules live. The CLI, the generated apply scripts, the
cookiecutter hooks, the pre-commit hook and the permission generator all call it, so it
imports nothing but the standard library (the hooks run under plain cookiecutter).

The rules:
- The owner of a name is the registered team that lists it among its grandfathered names
  (objects adopted from an existing repo keep their names), else the team whose prefix
  (``<team>_``) starts it, otherwise the platform.
- The platform writes the core: entities, batch/stream data sources, feature views.
- A team writes only FeatureServices, OnDemandFeatureViews and the RequestSources they
  need, all named with its prefix.
- Team names cannot nest (``data`` would own ``data_science_*``), so every name has at
  most one team owner.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from feast_federation.errors import OwnershipError
from feast_federation.rules.kinds import (  # noqa: F401 - the kinds are part of the rules
    DATA_SOURCE,
    ENTITY,
    FEATURE_SERVICE,
    FEATURE_VIEW,
    LABEL_VIEW,
    ON_DEMAND_FEATURE_VIEW,
    PERMISSION,
    PLATFORM_KINDS,
    PROJECT,
    REQUEST_SOURCE,
    STREAM_FEATURE_VIEW,
    TEAM_KINDS,
    same_table,
)
from feast_federation.rules.values import check_owners, check_role, shown

PLATFORM = "platform"

# Names Feast or this project use for themselves.
INTERNAL_NAMES = frozenset({"__dummy"})

TEAM_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
TEAM_NAME_MIN, TEAM_NAME_MAX = 2, 30
RESERVED_TEAM_NAMES = frozenset(
    {
        "platform", "feast", "federation", "admin", "root", "default", "project",
        "registry", "online", "offline", "all", "none", "null", "team", "teams",
        "test", "tests", "shared", "common", "core", "system", "internal",
    }
)  # fmt: skip
# YAML 1.1 reads these as booleans or null: a team named so could not be written back.
YAML_SPECIAL_WORDS = frozenset({"yes", "no", "on", "off", "true", "false", "null"})
PROJECT_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# What every renderer (Rich tables, markdown, HTML, logs) and every registry backend shows and
# stores as it is: names a team or the platform writes hold nothing else.
OBJECT_NAME_MAX = 128
OBJECT_NAME_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{1,{OBJECT_NAME_MAX}}}")
OBJECT_NAME_RULE = (
    f"object names hold only ASCII letters, digits, _ and - (1 to {OBJECT_NAME_MAX} characters)"
)
# An object adopted from an existing repo keeps its name (federation.yaml's ``names``): any
# printable ASCII but spaces, which the renderers escape.
KEPT_NAME_PATTERN = re.compile(rf"[!-~]{{1,{OBJECT_NAME_MAX}}}")
# A team's own schema (or dataset) in the offline store; the platform's is "platform".
OFFLINE_SCHEMA_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,62}")
PLATFORM_OFFLINE_SCHEMA = "platform"


def team_prefix(team: str) -> str:
    return f"{team}_"


def team_role(team: str) -> str:
    """The identity-provider role a team's credentials carry unless the policy says otherwise."""
    return f"feast-team-{team}"


@dataclass(frozen=True)
class Team:
    name: str
    owners: tuple[str, ...] = ()
    role: str = ""
    offline_schema: str = ""
    # Names the team holds without its prefix: objects adopted from an existing repo.
    names: tuple[str, ...] = ()

    @property
    def prefix(self) -> str:
        return team_prefix(self.name)

    @property
    def effective_offline_schema(self) -> str:
        return offline_schema_of(self.name, self.offline_schema)

    @property
    def effective_role(self) -> str:
        return self.role or team_role(self.name)


@dataclass(frozen=True)
class Policy:
    """The federation policy: the project, the platform's owners and the registered teams."""

    project: str
    platform_owners: tuple[str, ...] = ()
    platform_role: str = "feast-platform"
    teams: Mapping[str, Team] = field(default_factory=dict)
    # The org's environments in promotion order (rules.environments); () for one registry.
    environments: tuple[str, ...] = ()

    def owner_of(self, name: str) -> str:
        """The team that grandfathered ``name``, else the team whose prefix starts it, else
        the platform (the first such team in the policy's order, where a policy that was
        never validated has several)."""
        return self._ownership.owner_of(name)

    @cached_property
    def _ownership(self) -> OwnershipIndex:
        # Built on the first look-up, once per Policy: its teams are not changed after.
        return OwnershipIndex(self.teams.values())

    def team(self, name: str) -> Team:
        try:
            return self.teams[name]
        except KeyError:
            raise OwnershipError(f"team {name} is not registered in the policy") from None


def underscore_prefixes(name: str) -> Iterator[str]:
    """Each ``p`` such that ``name`` starts with ``p + "_"``: the team names whose prefix
    could start ``name`` (``a_b_c``: ``a``, ``a_b``)."""
    index = name.find("_")
    while index != -1:
        yield name[:index]
        index = name.find("_", index + 1)


class OwnershipIndex:
    """``Policy.owner_of`` as two dictionary look-ups per underscore of a name, not a scan of
    every team: a team ``t`` owns the names that start with ``t_``, so the candidates are the
    name's own underscore prefixes. Where several teams match (a policy never validated),
    the first in the policy's order wins, as a scan would find it."""

    def __init__(self, teams: Iterable[Team]):
        self.kept: dict[str, str] = {}
        self.positions: dict[str, int] = {}
        for position, team in enumerate(teams):
            for name in team.names:
                self.kept.setdefault(name, team.name)
            self.positions.setdefault(team.name, position)

    def owner_of(self, name: str) -> str:
        owner = self.kept.get(name)
        if owner is not None:
            return owner
        return self.prefix_owner(name) or PLATFORM

    def prefix_owner(self, name: str, besides: str | None = None) -> str | None:
        """The first team (other than ``besides``) whose prefix starts ``name``, or None."""
        found, first = None, len(self.positions)
        for candidate in underscore_prefixes(name):
            position = self.positions.get(candidate)
            if position is not None and position < first and candidate != besides:
                found, first = candidate, position
        return found


@dataclass(frozen=True, order=True)
class Definition:
    """A named object one repo defines or the registry holds, reduced to what ownership needs."""

    kind: str
    name: str
    # Set when Feast writes this object only because another one is applied with it
    # (a view's inline source, an ODFV's request source).
    via: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.kind} {self.name}" + (
            f" (written along with {self.via})" if self.via else ""
        )


def kinds_allowed(owner: str) -> frozenset[str]:
    return PLATFORM_KINDS if owner == PLATFORM else TEAM_KINDS


def describe_owner(owner: str) -> str:
    return "the platform" if owner == PLATFORM else f"team {owner}"


# --- team names ------------------------------------------------------------------------


def validate_team_name(
    name: str, registered: Iterable[str] = (), platform_names: Iterable[str] = ()
) -> None:
    """Raise OwnershipError unless ``name`` may be registered next to ``registered`` teams
    while the platform holds objects named ``platform_names``."""
    _check_team_name_form(name)
    names = TeamNames()
    for other in registered:
        names.add(other)
    names.refuse_clash(name)
    shown_name = shown(name)
    taken = sorted(n for n in platform_names if n.startswith(team_prefix(name)))
    if taken:
        listed = ", ".join(taken[:5]) + (f" and {len(taken) - 5} more" if len(taken) > 5 else "")
        raise OwnershipError(
            f"team name {shown_name}: its prefix {team_prefix(name)} would take the platform's "
            f"{listed}; choose another name"
        )


def _check_team_name_form(name: object) -> None:
    """The rules a team name obeys by itself."""
    if not isinstance(name, str):
        raise OwnershipError(f"team name {shown(name)}: must be a string")
    shown_name = shown(name)
    if not TEAM_NAME_MIN <= len(name) <= TEAM_NAME_MAX:
        raise OwnershipError(
            f"team name {shown_name}: must be {TEAM_NAME_MIN} to {TEAM_NAME_MAX} characters long"
        )
    if not TEAM_NAME_PATTERN.fullmatch(name) or name.endswith("_") or "__" in name:
        raise OwnershipError(
            f"team name {shown_name}: use lowercase ASCII letters, digits and single underscores, "
            "starting with a letter (pattern [a-z][a-z0-9_]*)"
        )
    if name in RESERVED_TEAM_NAMES:
        raise OwnershipError(f"team name {shown_name}: {name} is reserved")
    if name in YAML_SPECIAL_WORDS:
        raise OwnershipError(f"team name {shown_name}: YAML reads {name} as a boolean or null")


class TeamNames:
    """Registered team names, kept so that a new one is checked against all of them in
    time proportional to its own length: two names clash when equal or when one starts
    with the other's prefix, so only the new name's underscore prefixes, and the names
    registered under its own prefix, can clash with it."""

    def __init__(self) -> None:
        self.positions: dict[str, int] = {}  # each registered name, in registration order
        self.under: dict[str, int] = {}  # p -> the first name registered starting p_

    def add(self, name: str) -> None:
        position = self.positions.setdefault(name, len(self.positions))
        for prefix in underscore_prefixes(name):
            self.under.setdefault(prefix, position)

    def refuse_clash(self, name: str) -> None:
        """Raise OwnershipError naming the first registered team that ``name`` clashes with."""
        positions = [self.positions.get(name), self.under.get(name)]
        positions += [self.positions.get(prefix) for prefix in underscore_prefixes(name)]
        found = [position for position in positions if position is not None]
        if not found:
            return
        other = list(self.positions)[min(found)]
        if other == name:
            raise OwnershipError(f"team name {shown(name)}: team {name} is already registered")
        raise OwnershipError(
            f"team name {shown(name)}: prefixes would nest with registered team {other} "
            f"({team_prefix(min(name, other, key=len))} would own the other's names)"
        )


def validate_project_name(name: str) -> None:
    if not isinstance(name, str) or not PROJECT_NAME_PATTERN.fullmatch(name):
        raise OwnershipError(
            f"project name {name!r}: use letters, digits and underscores, starting with a letter "
            "(Feast's SQLite stores reject hyphens)"
        )


def validate_policy(policy: Policy) -> None:
    """Raise OwnershipError if the registered teams break the naming rules among themselves.

    Linear in the teams: each is checked against the ones before it by look-ups
    (``TeamNames``), not by comparing it with every one of them."""
    validate_project_name(policy.project)
    check_owners("platform", list(policy.platform_owners))
    check_role("platform", policy.platform_role)
    checked = _CheckedTeams(policy.platform_role)
    for name, team in policy.teams.items():
        checked.admit(name, team)
    validate_grandfathered(policy)


def validate_added_team(policy: Policy, name: str) -> None:
    """``validate_policy`` of ``policy``, whose teams other than ``name`` (the last) passed
    it already: only ``name`` is checked, against the others, so registering one team in a
    10,000-team policy does not check the 10,000 again."""
    checked = _CheckedTeams(policy.platform_role)
    for other, team in policy.teams.items():
        if other != name:
            checked.record(other, team)
    checked.admit(name, policy.teams[name])
    validate_grandfathered(policy)


class _CheckedTeams:
    """The teams checked so far, by name, offline schema and role: the next is refused if
    it clashes with any of them."""

    def __init__(self, platform_role: str) -> None:
        self.names = TeamNames()
        self.schemas: dict[str, str] = {}
        self.roles = {platform_role: "the platform"}

    def admit(self, name: str, team: Team) -> None:
        _check_team_name_form(name)
        self.names.refuse_clash(name)
        validate_offline_schema(name, team.effective_offline_schema, self.schemas)
        check_owners(f"team {name}", list(team.owners))
        check_role(f"team {name}", team.effective_role)
        if team.effective_role in self.roles:
            raise OwnershipError(
                f"team {name}: role {team.effective_role} is already "
                f"{self.roles[team.effective_role]}'s; every owner needs a role of its own"
            )
        self.record(name, team)

    def record(self, name: str, team: Team) -> None:
        self.names.add(name)
        self.schemas[team.effective_offline_schema] = name
        self.roles[team.effective_role] = f"team {name}"


def validate_grandfathered(policy: Policy) -> None:
    """Each grandfathered name has one team, and is not another team's prefixed name."""
    holders: dict[str, str] = {}
    prefixes = OwnershipIndex(policy.teams.values())
    for team in policy.teams.values():
        for name in team.names:
            _check_kept_name(team.name, name)
            if holders.get(name) == team.name:
                raise OwnershipError(f"team {team.name}: names: {name} is listed twice")
            if name in holders:
                raise OwnershipError(
                    f"team {team.name}: names: {name} is already team {holders[name]}'s"
                )
            holders[name] = team.name
            other = prefixes.prefix_owner(name, besides=team.name)
            if other is not None:
                raise OwnershipError(
                    f"team {team.name}: names: {name} starts with team {other}'s "
                    f"prefix {team_prefix(other)}"
                )


def _check_kept_name(team: str, name: object) -> None:
    """A kept name travels comma-separated in a Permission tag and as a name pattern, which
    Feast strips: commas and surrounding spaces would change it on the way."""
    if not isinstance(name, str) or not name or name in INTERNAL_NAMES:
        raise OwnershipError(f"team {team}: names: {shown(name)} is not a usable name")
    if "," in name:
        raise OwnershipError(f"team {team}: names: {shown(name)} holds a comma")
    if name != name.strip():
        raise OwnershipError(f"team {team}: names: {shown(name)} starts or ends with a space")
    if not KEPT_NAME_PATTERN.fullmatch(name):
        raise OwnershipError(
            f"team {team}: names: {shown(name)}: a kept name holds only printable ASCII "
            f"without spaces, at most {OBJECT_NAME_MAX} characters"
        )


def offline_schema_of(team: str, chosen: str = "") -> str:
    """A team's schema (dataset) in the offline store: the one chosen, else its name."""
    return chosen or team


def validate_offline_schema(team: str, schema: str, taken: Mapping[str, str]) -> None:
    """Raise OwnershipError unless ``team`` may work in offline ``schema``; ``taken`` maps
    the schemas other teams hold to those teams."""
    if not OFFLINE_SCHEMA_PATTERN.fullmatch(schema):
        raise OwnershipError(
            f"team {team}: offline_schema {schema!r} must be lowercase letters, digits and "
            "underscores, starting with a letter, at most 63 characters"
        )
    if schema == PLATFORM_OFFLINE_SCHEMA:
        raise OwnershipError(f"team {team}: offline_schema {schema} is the platform's")
    if schema in taken and taken[schema] != team:
        raise OwnershipError(
            f"team {team}: offline_schema {schema} is already team {taken[schema]}'s"
        )


# --- what a writer may define ----------------------------------------------------------


def violations(writer: str, definitions: Iterable[Definition], policy: Policy) -> list[str]:
    """One line per definition that ``writer`` (the platform or a team) may not write."""
    problems = []
    for definition in sorted(definitions):
        problem = _violation(writer, definition, policy)
        if problem:
            problems.append(problem)
    return problems


def _violation(writer: str, definition: Definition, policy: Policy) -> str | None:
    name, kind = definition.name, definition.kind
    if name in INTERNAL_NAMES:
        return f"{definition}: the name {name} is reserved for Feast"
    if not isinstance(name, str):
        return f"{kind} {shown(name)}: {OBJECT_NAME_RULE}"
    problem = _owner_violation(writer, definition, policy)
    if problem is None and not OBJECT_NAME_PATTERN.fullmatch(name):
        if not any(name in team.names for team in policy.teams.values()):
            problem = f"{kind} {shown(name)}: {OBJECT_NAME_RULE}"
    return problem


def _owner_violation(writer: str, definition: Definition, policy: Policy) -> str | None:
    name, kind = definition.name, definition.kind
    owner = policy.owner_of(name)
    if kind in (PROJECT, PERMISSION):
        return _project_or_permission_violation(writer, definition, policy)
    if writer == PLATFORM:
        if owner != PLATFORM:
            return (
                f"{definition}: the name has team {owner}'s prefix {team_prefix(owner)}; "
                "the platform may not define team objects"
            )
        if kind not in PLATFORM_KINDS:
            return (
                f"{definition}: the platform repo defines only "
                f"{_kinds_text(PLATFORM_KINDS)}; {kind}s belong in team repos"
            )
        return None
    if kind not in TEAM_KINDS:
        return (
            f"{definition}: team {writer} may define only {_kinds_text(TEAM_KINDS)}; "
            f"a {kind} belongs to the platform (reference platform views with "
            "feast_federation.platform_view)"
        )
    if owner != writer:
        if owner == PLATFORM:
            return f"{definition}: team {writer}'s names must start with {team_prefix(writer)}"
        return f"{definition}: the name belongs to team {owner} (prefix {team_prefix(owner)})"
    return None


def _project_or_permission_violation(
    writer: str, definition: Definition, policy: Policy
) -> str | None:
    """The Project is the platform's, one per federation; Permissions come from the policy."""
    if definition.kind == PERMISSION:
        return (
            f"{definition}: permissions are generated from federation.yaml (teams, roles, "
            "names) and published by the platform sync; a hand-written one would bypass the "
            "policy: remove it and change federation.yaml instead"
        )
    if writer != PLATFORM:
        return f"{definition}: the Project is the platform's; team repos may not define one"
    if definition.name != policy.project:
        return (
            f"{definition}: the federation has one project, {policy.project} "
            "(federation.yaml's project)"
        )
    return None


def conflict_with_existing(writer: str, definition: Definition, existing_kind: str) -> str | None:
    """A violation if writing ``definition`` would replace a registry object of another kind.

    Feast overwrites silently across kinds that share a table (a RequestSource replaces a
    FileSource of the same name), so a writer may only replace kinds it is allowed to hold.
    """
    if existing_kind == definition.kind or not same_table(existing_kind, definition.kind):
        return None
    if existing_kind in kinds_allowed(writer):
        return None
    holder = PLATFORM if existing_kind in PLATFORM_KINDS else "a team"
    return (
        f"{definition}: the registry already holds {existing_kind} {definition.name}, "
        f"which belongs to {'the platform' if holder == PLATFORM else holder}; "
        "choose another name"
    )


def _kinds_text(kinds: Iterable[str]) -> str:
    ordered = sorted(kinds)
    return ", ".join(ordered[:-1]) + " and " + ordered[-1]


# --- dependencies: what the platform may not take away from teams ----------------------


@dataclass(frozen=True)
class Usage:
    """A team object (FeatureService or ODFV) that reads ``features`` of platform view ``view``;
    of its version ``version`` (a pin: that version's snapshot), else of the active one."""

    user: Definition
    owner: str
    view: str
    features: frozenset[str]
    version: int | None = None

    def __str__(self) -> str:
        return f"{self.user} (team {self.owner})"

    @property
    def target(self) -> str:
        """The view as read: ``user_features`` or ``user_features@v1``."""
        return self.view if self.version is None else f"{self.view}@v{self.version}"


@dataclass(frozen=True)
class ViewShape:
    """What a platform view offers (features) and needs (entities, sources) to serve."""

    name: str
    features: frozenset[str]
    entities: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PlatformState:
    views: Mapping[str, ViewShape]
    entities: frozenset[str]
    sources: frozenset[str]


def breakages(usages: Iterable[Usage], before: PlatformState, after: PlatformState) -> list[str]:
    """One line per platform change from ``before`` to ``after`` that breaks team objects.

    Only what this change breaks counts: a usage already broken before is audit's business.
    """
    by_problem: dict[str, list[Usage]] = {}
    for usage in usages:
        for problem in _broken_by(usage, before, after):
            by_problem.setdefault(problem, []).append(usage)
    return [
        f"{problem} breaks {', '.join(sorted(str(u) for u in users))}"
        for problem, users in sorted(by_problem.items())
    ]


def views_at_risk(before: PlatformState, after: PlatformState) -> frozenset[str]:
    """The views of ``before`` whose readers ``breakages`` could find broken in ``after``:
    deleted, a feature dropped, or an entity or source they need deleted. A usage of any
    other view breaks nothing, so a write that changes no view reads no usage at all."""
    gone_entities = before.entities - after.entities
    gone_sources = before.sources - after.sources
    return frozenset(
        name
        for name, old in before.views.items()
        if (new := after.views.get(name)) is None
        or old.features - new.features
        or new.entities & gone_entities
        or new.sources & gone_sources
    )


def _broken_by(usage: Usage, before: PlatformState, after: PlatformState) -> list[str]:
    old = before.views.get(usage.view)
    if old is None:
        return []
    new = after.views.get(usage.view)
    if new is None:  # its version history goes with it: a pin breaks too
        return [f"deleting FeatureView {usage.view}"]
    problems = [
        f"dropping feature {feature} from FeatureView {usage.view}"
        for feature in sorted((usage.features & old.features) - new.features)
        if usage.version is None  # a pin reads its version's snapshot, which stays
    ]
    problems += [
        f"deleting Entity {entity}, which FeatureView {usage.view} needs,"
        for entity in sorted(new.entities & before.entities - after.entities)
    ]
    problems += [
        f"deleting DataSource {source}, which FeatureView {usage.view} needs,"
        for source in sorted(new.sources & before.sources - after.sources)
    ]
    return problems


def dangling(
    usages: Iterable[Usage],
    views: Mapping[str, ViewShape],
    versions: Mapping[tuple[str, int], ViewShape | None] | None = None,
) -> list[tuple[Usage, str]]:
    """Team objects that read views (or features of views) that ``views`` does not hold; a
    pinned usage reads its version's snapshot in ``versions`` (by view and number)."""
    problems = []
    for usage in sorted(usages, key=lambda u: (u.user, u.view, u.version or 0)):
        if usage.version is None:
            view = views.get(usage.view)
        else:
            view = (versions or {}).get((usage.view, usage.version))
        if view is None:
            problems.append((usage, f"reads {usage.target}, which does not exist"))
        elif usage.features - view.features:
            missing = ", ".join(sorted(usage.features - view.features))
            problems.append((usage, f"reads {missing} from {usage.target}, which lacks it"))
    return problems
