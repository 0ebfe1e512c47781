"""Keeping the platform contract (``platform_contract.json``) in step with the registry:
the platform sync publishes it into the platform repo, ``contract refresh`` rewrites a team
repo's from the registry, and a team's check and plan refuse a contract that differs from
the registry in anything the team reads."""

from __future__ import annotations

from pathlib import Path

from feast_federation import registry
from feast_federation.errors import FederationError
from feast_federation.registry import versions
from feast_federation.registry.contract import (
    entities_by_name,
    registry_contract_views,
    view_entry,
)
from feast_federation.registry.kinds import kind_of, kind_of_proto, usages
from feast_federation.registry.permissions import published_policy, published_team
from feast_federation.registry.protos import project_objects
from feast_federation.registry.versions import pin_refusal_of
from feast_federation.rules.contract import (
    CONTRACT_FILE,
    contract_path,
    differences,
    load_contract,
    version_differences,
    write_contract,
)
from feast_federation.rules.kinds import PERMISSION
from feast_federation.rules.ownership import (
    FEATURE_VIEW,
    ON_DEMAND_FEATURE_VIEW,
    PLATFORM,
    Policy,
)
from feast_federation.rules.references import version_tag
from feast_federation.rules.repo import Repo
from feast_federation.rules.source_check import platform_folder_fields, with_platform_folder


def _registry_objects(objects: dict, policy: Policy | None) -> dict[str, list[str]]:
    """The names of the project's objects (``project_objects``' form) no team owns, by kind:
    a new team's prefix must not own any of them, whether or not the platform repo still
    defines them. Permissions live in a name space of their own, which no team writes."""
    found: dict[str, set[str]] = {}
    for (collection, name), item in objects.items():
        kind = kind_of_proto(collection, item)
        if kind != PERMISSION and (policy is None or policy.owner_of(name) == PLATFORM):
            found.setdefault(kind, set()).add(name)
    return {kind: sorted(names) for kind, names in sorted(found.items())}


def publish_platform_contract(
    store, repo_dir: Path, policy: Policy, held: dict | None = None
) -> Path:
    """Write the platform repo's contract from the registry it has just synced; ``held``:
    the project's objects as the sync left them, when it knows them (else read)."""
    if held is None:
        held = project_objects(registry.registry_proto(store), store.project)
    adopted = {team.name: sorted(team.names) for team in policy.teams.values() if team.names}
    return write_contract(
        repo_dir,
        store.project,
        registry_contract_views(store),
        adopted,
        _registry_objects(held, policy),
        pin_refusal_of(store),
    )


def refresh_team_contract(repo: Repo) -> Path:
    """Rewrite a team repo's contract from the shared registry."""
    store = registry.open_store(repo.path)
    team = published_team(store, repo.owner)
    adopted = {repo.owner: sorted(team.names)} if team is not None and team.names else {}
    held = project_objects(registry.registry_proto(store), store.project)
    objects = _registry_objects(held, published_policy(store))
    return write_contract(
        repo.path, store.project, registry_contract_views(store), adopted, objects,
        pin_refusal_of(store),
    )  # fmt: skip


def refuse_contract_drift(store, repo: Repo, objects: list) -> None:
    """One line naming every difference between the team repo's contract and the registry
    in the views and fields the team's objects read; nothing when the repo has no contract."""
    if repo.is_platform or not contract_path(repo.path).is_file():
        return
    used = _used_fields(objects, repo.owner)
    entities = entities_by_name(store)
    held = {name: registry.occupant(store, FEATURE_VIEW, name) for name in used}
    current = {name: view_entry(view, entities) for name, view in held.items() if view}
    # In a monorepo, what the platform folder adds is part of what the team reads, and the
    # platform's sync applies it before this apply: the registry is taken to hold it.
    contract, _ = with_platform_folder(repo.path, load_contract(repo.path))
    for view, fields in platform_folder_fields(repo.path).items():
        for feature, dtype in fields.items():
            if view in current:
                current[view]["fields"].setdefault(feature, dtype)
    found = differences(contract, current, used) + _pin_differences(store, contract, objects, repo)
    if found:
        raise FederationError(
            f"{CONTRACT_FILE} differs from the registry in what team {repo.owner} reads: "
            f"{'; '.join(found)}; run feast-federation contract refresh {repo.path}"
        )


def _used_fields(objects: list, team: str) -> dict[str, set[str]]:
    own = {obj.name for obj in objects if kind_of(obj) == ON_DEMAND_FEATURE_VIEW}
    used: dict[str, set[str]] = {}
    for usage in usages(objects, team):
        if usage.view not in own and usage.version is None:
            used.setdefault(usage.view, set()).update(usage.features)
    return used


def _pin_differences(store, contract: dict, objects: list, repo: Repo) -> list[str]:
    """The pinned versions of platform views the team reads, contract against registry."""
    own = {obj.name for obj in objects if kind_of(obj) == ON_DEMAND_FEATURE_VIEW}
    pinned: dict[tuple[str, int], set[str]] = {}
    for usage in usages(objects, repo.owner):
        if usage.version is not None and usage.view not in own:
            pinned.setdefault((usage.view, usage.version), set()).update(usage.features)
    held = {}
    for view, number in pinned:
        snapshot = versions.snapshot(store, view, number)
        fields = None if snapshot is None else {f.name: str(f.dtype) for f in snapshot.features}
        held[(view, version_tag(number))] = fields
    tagged = {(view, version_tag(number)): used for (view, number), used in pinned.items()}
    return version_differences(contract, held, tagged)
