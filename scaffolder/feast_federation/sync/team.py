"""A team's plan and writes: a validated partial apply of its own objects; deletes only with
``prune``, and only its own (marked for the platform to delete, through a registry server)."""

from __future__ import annotations

import difflib
import hashlib

from feast_federation import registry
from feast_federation.errors import FederationError
from feast_federation.registry import kinds, versions
from feast_federation.registry.kinds import (
    kind_of,
    usages,
    view_shape,
)
from feast_federation.registry.permissions import (
    policy_published,
    published_policy,
    published_team,
    write_permission_name,
)
from feast_federation.rules.ownership import (
    FEATURE_VIEW,
    ON_DEMAND_FEATURE_VIEW,
    PERMISSION,
    Policy,
    Team,
    conflict_with_existing,
    dangling,
    violations,
)
from feast_federation.sync.diff import (
    diff,
    digests,
    held_state,
    inferred,
    refuse,
    with_implicit_writes,
    with_versions,
)
from feast_federation.transaction.plans import DELETE, Plan, object_key


def plan_team(
    store,
    team: str | Team,
    objects: list,
    *,
    prune: bool = False,
    references: list | None = None,
) -> Plan:
    """The team's changes; ``references`` are the platform views its modules fetched."""
    team = published(store, team) if isinstance(team, str) else team
    policy = Policy(project=store.project, teams={team.name: team})
    refuse([_writes_online(odfv) for odfv in objects if _stores_online(odfv)])
    desired = with_implicit_writes(objects)
    definitions = [item for item, _ in desired]
    refuse(violations(team.name, definitions, policy))
    wanted = [obj for _, obj in desired]
    # One lookup per name serves both the conflict check and the diff.
    occupants = [registry.occupant(store, kind_of(obj), obj.name, udf=False) for obj in wanted]
    refuse(
        [
            problem
            for item, held in zip(definitions, occupants, strict=True)
            if held is not None
            for problem in [conflict_with_existing(team.name, item, kind_of(held))]
            if problem
        ]
    )
    read = _views_read(store, team.name, wanted, references or [])
    refuse(_missing_references(store, team.name, wanted, read))
    existing = [
        held
        for obj, held in zip(wanted, occupants, strict=True)
        if held is not None and kind_of(held) == kind_of(obj)
    ]
    pruned = registry.list_team_kinds(store, team.prefix, team.names) if prune else []
    copies = inferred(store, wanted)
    plan_ = with_versions(store, diff(team.name, copies, existing + pruned), copies, existing)
    if not prune:
        plan_.to_delete = []
        plan_.changes = [change for change in plan_.changes if change.action != DELETE]
        defined = {(kind_of(obj), obj.name) for obj in wanted}
        left = registry.team_names(store, team.prefix, team.names, besides=defined) or set()
        plan_.left_behind = [f"{kind} {name}" for kind, name in sorted(left)]
    plan_.definitions = digests(wanted)
    plan_.state = _read_state(team, zip(wanted, occupants, strict=True), read, pruned)
    # The objects a write replaces are among the occupants and the pruned: held of any kind.
    plan_.held = kinds.as_stored(
        [held for held in occupants if held is not None] + pruned, store.project
    )
    plan_.action = "apply --prune" if prune else "apply"
    return plan_


def _stores_online(obj) -> bool:
    return kind_of(obj) == ON_DEMAND_FEATURE_VIEW and bool(obj.write_to_online_store)


def _writes_online(odfv) -> str:
    """Named for what the team wrote, not for the platform source Feast would re-apply."""
    projections = odfv.source_feature_view_projections.values()
    sources = sorted({p.batch_source.name for p in projections if p.batch_source is not None})
    return (
        f"OnDemandFeatureView {odfv.name}: write_to_online_store=True makes Feast re-apply "
        f"the batch source of each view it reads ({', '.join(sources) or 'none'}), which "
        "belongs to the platform; remove it: a team's ODFVs compute at request time"
    )


def _read_state(team: Team, written, read: dict, pruned: list) -> dict[str, str | None]:
    """What a team plan depends on: the team's published policy, the names it writes, the
    views it reads, and with prune every object it could delete."""
    held = {object_key(kind_of(obj), obj.name): occupant for obj, occupant in written}
    held |= {object_key(FEATURE_VIEW, name): view for name, view in read.items()}
    held |= {object_key(kind_of(obj), obj.name): obj for obj in pruned}
    # The team as the published policy has it, already read: no extra registry call.
    policy_digest = hashlib.sha256(repr(team).encode()).hexdigest()[:32]
    policy = {object_key(PERMISSION, write_permission_name(team.name)): policy_digest}
    return policy | held_state(held)


def published(store, team_name: str) -> Team:
    team = published_team(store, team_name)
    if team is None:
        raise FederationError(_unknown_team_message(store, team_name))
    return team


def published_for(store, team_name: str, proto=None) -> Policy:
    """The whole published policy, as a team repo reads it; refused as the team's apply is
    when the registry has no policy or the team is not in it. Its teams from ``proto``
    (``registry_proto``), when the caller has read it already."""
    published(store, team_name)
    return published_policy(store, proto)


def _unknown_team_message(store, team: str) -> str:
    if not policy_published(store):
        return (
            f"project {store.project} has no published federation policy: the platform has "
            "not applied yet, or feature_store.yaml points at another project"
        )
    registered = sorted(published_policy(store).teams)
    close = difflib.get_close_matches(team, registered, n=1, cutoff=0.8)
    if close:
        return (
            f"team {team} is not registered in the registry's policy: did you mean "
            f"{close[0]}? (pyproject.toml's [tool.feast-federation] team; registered: "
            f"{', '.join(registered)})"
        )
    return (
        f"team {team} is not registered in the registry's policy: "
        "the platform must apply federation.yaml first"
    )


def _views_read(store, team: str, objects: list, references: list) -> dict:
    """The registry views the team's services and ODFVs read, by name (None: not there)."""
    own = {obj.name for obj in objects if kind_of(obj) == ON_DEMAND_FEATURE_VIEW}
    # What platform_view fetched during this collection is the registry's current view.
    fetched = {ref.name: ref for ref in references}
    return {
        name: fetched[name] if name in fetched else registry.occupant(store, FEATURE_VIEW, name)
        for name in {usage.view for usage in usages(objects, team)} - own
    }


def _missing_references(store, team: str, objects: list, read: dict) -> list[str]:
    """Services and ODFVs that read views or features neither the registry nor the repo has,
    or a pinned version the org cannot serve or Feast does not hold."""
    views = {obj.name: view_shape(obj) for obj in objects if kind_of(obj) == ON_DEMAND_FEATURE_VIEW}
    views.update({name: view_shape(view) for name, view in read.items() if view is not None})
    used = usages(objects, team)
    pinned = [usage for usage in used if usage.version is not None]
    refusal = versions.pin_refusal_of(store) if pinned else None
    if refusal:
        return [
            f"{usage.user} reads {usage.target}, a pinned version this org cannot serve: {refusal}"
            for usage in sorted(pinned, key=lambda u: (u.user, u.target))
        ]
    return [
        f"{usage.user} {detail} in the registry (is the platform applied?)"
        for usage, detail in dangling(used, views, versions.pinned_shapes(store, pinned))
    ]
