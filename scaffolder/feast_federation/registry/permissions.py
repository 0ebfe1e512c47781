"""The policy, published into the shared registry as Feast Permission objects.

One set per team, scoped with ``name_patterns`` (Feast 0.67 does not enforce
``required_tags``), so a registry server can enforce what the apply scripts check, and team
repos validate against the registry's copy of the policy rather than a stale file. The
policy data itself travels in the tags of each team's write permission.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from feast import Entity, FeatureService, OnDemandFeatureView
from feast.data_source import DataSource
from feast.permissions.action import ALL_ACTIONS, READ, AuthzedAction
from feast.permissions.permission import Permission
from feast.permissions.policy import RoleBasedPolicy
from feast.project import Project

from feast_federation.rules.ownership import INTERNAL_NAMES, PERMISSION, Policy, Team

MANAGED_PREFIX = "federation-"
PLATFORM_PERMISSION = f"{MANAGED_PREFIX}platform"
MANAGED_TAG = "feast-federation/managed"
TEAM_TAG = "feast-federation/team"
OWNERS_TAG = "feast-federation/owners"
ROLE_TAG = "feast-federation/role"
NAMES_TAG = "feast-federation/names"  # the team's grandfathered names, comma-separated
WRITE = [AuthzedAction.CREATE, AuthzedAction.DESCRIBE, AuthzedAction.UPDATE]
_WRITE_ACTIONS = tuple(WRITE)


def write_permission_name(team: str) -> str:
    return f"{MANAGED_PREFIX}team-{team}-write"


def is_managed(permission: Permission) -> bool:
    return permission.name.startswith(MANAGED_PREFIX) and permission.tags.get(MANAGED_TAG) == "true"


@dataclass(frozen=True)
class _Grant:
    """One Permission the policy publishes, as plain values: built into a Feast
    ``Permission`` to be written, or straight into its proto to be compared."""

    name: str
    actions: tuple
    role: str
    tags: dict = field(default_factory=dict, hash=False)
    types: tuple = ()  # none: every type
    name_patterns: tuple[str, ...] = ()

    def permission(self) -> Permission:
        return Permission(
            name=self.name, types=list(self.types), name_patterns=list(self.name_patterns),
            actions=list(self.actions), policy=RoleBasedPolicy(roles=[self.role]),
            tags=self.tags,
        )  # fmt: skip


def policy_grants(policy: Policy) -> list[_Grant]:
    """Every Permission the policy publishes, as plain values: the platform's, then four
    for each team."""
    platform = _Grant(
        name=PLATFORM_PERMISSION,
        actions=tuple(ALL_ACTIONS),
        role=policy.platform_role,
        tags={MANAGED_TAG: "true", OWNERS_TAG: ",".join(policy.platform_owners)},
    )
    # The same for every team: worked out once, not 10,000 times.
    project_patterns = (re.escape(policy.project),)
    internal_patterns = tuple(re.escape(name) for name in sorted(INTERNAL_NAMES))
    return [platform] + [
        grant
        for team in policy.teams.values()
        for grant in _team_grants(team, project_patterns, internal_patterns)
    ]


_TEAM_WRITE_TYPES = (FeatureService, OnDemandFeatureView, DataSource)
_DUMMY_ENTITY_ACTIONS = (AuthzedAction.DESCRIBE, AuthzedAction.UPDATE)
_READ_ACTIONS = (AuthzedAction.DESCRIBE, *READ)


def _team_grants(team: Team, project_patterns: tuple, internal_patterns: tuple) -> list[_Grant]:
    role = team.effective_role
    managed = {MANAGED_TAG: "true", TEAM_TAG: team.name}
    write_tags = {**managed, OWNERS_TAG: ",".join(team.owners), ROLE_TAG: role}
    if team.names:
        write_tags[NAMES_TAG] = ",".join(team.names)
    prefix = f"{MANAGED_PREFIX}team-{team.name}-"
    return [
        _Grant(name=f"{prefix}read", actions=_READ_ACTIONS, role=role, tags=managed),
        _Grant(
            name=f"{prefix}write",  # write_permission_name
            types=_TEAM_WRITE_TYPES,
            name_patterns=tuple(team_name_patterns(team)),
            actions=_WRITE_ACTIONS,
            role=role,
            tags=write_tags,
        ),
        # What any Feast apply touches besides the team's own objects.
        _Grant(
            name=f"{prefix}apply-project",
            types=(Project,),
            name_patterns=project_patterns,
            actions=_WRITE_ACTIONS,
            role=role,
            tags=managed,
        ),
        _Grant(
            name=f"{prefix}apply-dummy-entity",
            types=(Entity,),
            name_patterns=internal_patterns,
            actions=_DUMMY_ENTITY_ACTIONS,
            role=role,
            tags=managed,
        ),
    ]


def policy_permissions(policy: Policy, names: Iterable[str] | None = None) -> list[Permission]:
    """The complete Permission set for ``policy`` (the platform's and every team's), or
    only those named ``names``."""
    return permissions_of(policy_grants(policy), names)


def permissions_of(grants: list[_Grant], names: Iterable[str] | None = None) -> list[Permission]:
    """``grants`` (``policy_grants``) as Feast Permissions, or only those named ``names``."""
    wanted = None if names is None else set(names)
    return [g.permission() for g in grants if wanted is None or g.name in wanted]


def policy_permission_protos(
    policy: Policy, grants: list[_Grant] | None = None
) -> dict[str, object]:
    """``policy_permissions`` as protos by name, as each one's ``to_proto`` gives them.

    Built from plain values, not through Feast's ``Permission``: at 10,000 teams the policy
    is 40,000 Permissions, and building and converting each through Feast costs about
    100 µs, seconds in all. The types' and actions' enum values come from Feast's own
    conversion of one Permission of each shape; the rest is what ``to_proto`` copies over
    (names and tags stripped, as ``Permission`` normalizes them). ``grants``: the policy's
    ``policy_grants``, when the caller has them already."""
    from feast.protos.feast.core.Permission_pb2 import Permission as PermissionProto
    from feast.protos.feast.core.Permission_pb2 import PermissionMeta, PermissionSpec

    shapes: dict[tuple, object] = {}
    protos = {}
    for grant in policy_grants(policy) if grants is None else grants:
        shape = shapes.get((grant.types, grant.actions))
        if shape is None:
            shape = _Grant(name="shape", types=grant.types, actions=grant.actions,
                           role="shape").permission().to_proto().spec  # fmt: skip
            shapes[(grant.types, grant.actions)] = shape
        spec = PermissionSpec(
            name=grant.name,
            types=shape.types,
            name_patterns=[pattern.strip() for pattern in grant.name_patterns],
            actions=shape.actions,
            policy=shape.policy,
            tags={key.strip(): value.strip() for key, value in grant.tags.items()},
        )
        spec.policy.role_based_policy.roles[:] = [grant.role]
        protos[grant.name] = PermissionProto(spec=spec, meta=PermissionMeta())
    return protos


def team_name_patterns(team: Team) -> list[str]:
    """The names a team may write: its prefix, and its grandfathered names exactly."""
    return [re.escape(team.prefix) + ".*", *(re.escape(name) for name in team.names)]


def is_managed_proto(proto) -> bool:
    """``is_managed`` for a stored Permission proto."""
    return proto.spec.name.startswith(MANAGED_PREFIX) and proto.spec.tags.get(MANAGED_TAG) == "true"


def managed_permission_protos(store, proto=None) -> dict[str, object]:
    """The Permissions the platform sync published (hand-written ones are not its own), as
    stored protos by name, from ``proto`` (``registry_proto``; read when not given): no
    Feast object is built for the 40,000 of a 10,000-team policy."""
    return {item.spec.name: item for item in _permission_protos(store, proto)
            if is_managed_proto(item)}  # fmt: skip


def published_teams(store, proto=None) -> dict[str, Team]:
    """Every team the registry's published policy knows, from the write permissions' tags
    (in ``proto``, ``registry_proto``; read when not given)."""
    teams = {}
    for item in _permission_protos(store, proto):
        name = item.spec.name
        if not (name.startswith(_TEAM_PERMISSIONS) and name.endswith(_WRITE)):
            continue  # three in four of a policy's Permissions: their tags are not read
        team = item.spec.tags.get(TEAM_TAG)
        if team and name == write_permission_name(team) and is_managed_proto(item):
            teams[team] = _team_from(item.spec.tags)
    return teams


_TEAM_PERMISSIONS, _WRITE = f"{MANAGED_PREFIX}team-", "-write"


def _permission_protos(store, proto=None) -> list:
    from feast_federation.registry.lookups import protos_of_kind, registry_proto

    proto = registry_proto(store) if proto is None else proto
    return protos_of_kind(store, proto, PERMISSION)


def _team_from(tags) -> Team:
    owners = tuple(owner for owner in tags.get(OWNERS_TAG, "").split(",") if owner)
    names = tuple(name for name in tags.get(NAMES_TAG, "").split(",") if name)
    return Team(name=tags[TEAM_TAG], owners=owners, role=tags.get(ROLE_TAG, ""), names=names)


def published_policy(store, proto=None) -> Policy | None:
    """The whole policy as the platform published it (what a team repo reads), or None;
    its teams from ``proto`` (``registry_proto``; read when not given)."""
    platform = _permission(store, PLATFORM_PERMISSION)
    if platform is None:
        return None
    owners = tuple(owner for owner in platform.tags.get(OWNERS_TAG, "").split(",") if owner)
    roles = getattr(platform.policy, "roles", None) or [Policy.platform_role]
    return Policy(
        project=store.project,
        platform_owners=owners,
        platform_role=roles[0],
        teams=published_teams(store, proto),
    )


def published_team(store, team: str) -> Team | None:
    """The team as the registry's published policy knows it, or None."""
    permission = _permission(store, write_permission_name(team))
    return _team_from(permission.tags) if permission else None


def policy_published(store) -> bool:
    """Whether the platform has published any policy into this project."""
    return _permission(store, PLATFORM_PERMISSION) is not None


def _permission(store, name: str) -> Permission | None:
    from feast_federation.registry.lookups import get

    return get(store, PERMISSION, name)
