"""The policy, published into the shared registry as Feast Permission objects.

One set per team, scoped with ``name_patterns`` (Feast 0.67 does not enforce
``required_tags``), so a registry server can enforce what the apply scripts check, and team
repos validate against the registry's copy of the policy rather than a stale file. The
policy data itself travels in the tags of each team's write permission.
"""

from __future__ import annotations

import re

from feast import Entity, FeatureService, OnDemandFeatureView
from feast.data_source import DataSource
from feast.permissions.action import ALL_ACTIONS, READ, AuthzedAction
from feast.permissions.permission import Permission
from feast.permissions.policy import RoleBasedPolicy
from feast.project import Project

from feast_federation.registry.feast067 import is_held
from feast_federation.rules.ownership import INTERNAL_NAMES, PERMISSION, Policy, Team

MANAGED_PREFIX = "federation-"
PLATFORM_PERMISSION = f"{MANAGED_PREFIX}platform"
MANAGED_TAG = "feast-federation/managed"
TEAM_TAG = "feast-federation/team"
OWNERS_TAG = "feast-federation/owners"
ROLE_TAG = "feast-federation/role"
NAMES_TAG = "feast-federation/names"  # the team's grandfathered names, comma-separated
WRITE = [AuthzedAction.CREATE, AuthzedAction.DESCRIBE, AuthzedAction.UPDATE]


def write_permission_name(team: str) -> str:
    return f"{MANAGED_PREFIX}team-{team}-write"


def is_managed(permission: Permission) -> bool:
    return permission.name.startswith(MANAGED_PREFIX) and permission.tags.get(MANAGED_TAG) == "true"


def policy_permissions(policy: Policy) -> list[Permission]:
    """The complete Permission set for ``policy``: the platform's and every team's."""
    permissions = [
        Permission(
            name=PLATFORM_PERMISSION,
            actions=ALL_ACTIONS,
            policy=RoleBasedPolicy(roles=[policy.platform_role]),
            tags={MANAGED_TAG: "true", OWNERS_TAG: ",".join(policy.platform_owners)},
        )
    ]
    for team in policy.teams.values():
        permissions.extend(_team_permissions(team, policy.project))
    return permissions


def _team_permissions(team: Team, project: str) -> list[Permission]:
    role = RoleBasedPolicy(roles=[team.effective_role])
    managed = {MANAGED_TAG: "true", TEAM_TAG: team.name}
    return [
        Permission(
            name=f"{MANAGED_PREFIX}team-{team.name}-read",
            actions=[AuthzedAction.DESCRIBE, *READ],
            policy=role,
            tags=managed,
        ),
        Permission(
            name=write_permission_name(team.name),
            types=[FeatureService, OnDemandFeatureView, DataSource],
            name_patterns=team_name_patterns(team),
            actions=WRITE,
            policy=role,
            tags={
                **managed,
                OWNERS_TAG: ",".join(team.owners),
                ROLE_TAG: team.effective_role,
                **({NAMES_TAG: ",".join(team.names)} if team.names else {}),
            },
        ),
        # What any Feast apply touches besides the team's own objects.
        Permission(
            name=f"{MANAGED_PREFIX}team-{team.name}-apply-project",
            types=[Project],
            name_patterns=[re.escape(project)],
            actions=WRITE,
            policy=role,
            tags=managed,
        ),
        Permission(
            name=f"{MANAGED_PREFIX}team-{team.name}-apply-dummy-entity",
            types=[Entity],
            name_patterns=[re.escape(name) for name in sorted(INTERNAL_NAMES)],
            actions=[AuthzedAction.DESCRIBE, AuthzedAction.UPDATE],
            policy=role,
            tags=managed,
        ),
    ]


def team_name_patterns(team: Team) -> list[str]:
    """The names a team may write: its prefix, and its grandfathered names exactly."""
    return [re.escape(team.prefix) + ".*", *(re.escape(name) for name in team.names)]


def managed_permissions(store) -> list[Permission]:
    """The Permissions the platform sync published (hand-written ones are not its own)."""
    listed = store.registry.list_permissions(store.project, allow_cache=is_held(store))
    return [permission for permission in listed if is_managed(permission)]


def published_teams(store) -> dict[str, Team]:
    """Every team the registry's published policy knows, from the write permissions' tags."""
    teams = {}
    for permission in store.registry.list_permissions(store.project, allow_cache=is_held(store)):
        team = permission.tags.get(TEAM_TAG)
        if is_managed(permission) and team and permission.name == write_permission_name(team):
            teams[team] = _team_from(permission)
    return teams


def _team_from(permission: Permission) -> Team:
    owners = tuple(owner for owner in permission.tags.get(OWNERS_TAG, "").split(",") if owner)
    names = tuple(name for name in permission.tags.get(NAMES_TAG, "").split(",") if name)
    return Team(
        name=permission.tags[TEAM_TAG],
        owners=owners,
        role=permission.tags.get(ROLE_TAG, ""),
        names=names,
    )


def published_policy(store) -> Policy | None:
    """The whole policy as the platform published it (what a team repo reads), or None."""
    platform = _permission(store, PLATFORM_PERMISSION)
    if platform is None:
        return None
    owners = tuple(owner for owner in platform.tags.get(OWNERS_TAG, "").split(",") if owner)
    roles = getattr(platform.policy, "roles", None) or [Policy.platform_role]
    return Policy(
        project=store.project,
        platform_owners=owners,
        platform_role=roles[0],
        teams=published_teams(store),
    )


def published_team(store, team: str) -> Team | None:
    """The team as the registry's published policy knows it, or None."""
    permission = _permission(store, write_permission_name(team))
    return _team_from(permission) if permission else None


def policy_published(store) -> bool:
    """Whether the platform has published any policy into this project."""
    return _permission(store, PLATFORM_PERMISSION) is not None


def _permission(store, name: str) -> Permission | None:
    from feast_federation.registry.lookups import get

    return get(store, PERMISSION, name)
