"""The platform's plan: a full sync of platform-owned objects and the policy's Permissions.

The transaction refuses it when it would break a team's services or ODFVs (the plan holds
the whole project and the policy for that), unless explicitly overridden."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

from feast_federation import registry
from feast_federation.files import gc_paused
from feast_federation.registry.intent import PENDING_TAG, stored_project, unfinished_since
from feast_federation.registry.kinds import from_proto, kind_of
from feast_federation.registry.lookups import platform_state_of
from feast_federation.registry.permissions import (
    managed_permission_protos,
    permissions_of,
    policy_grants,
    policy_permission_protos,
)
from feast_federation.registry.protos import (
    changed_values,
    digest,
    digest_as_made,
    project_objects,
)
from feast_federation.registry.versions import VERSIONED, keep_active_versions
from feast_federation.rules.kinds import PERMISSION, PROJECT
from feast_federation.rules.ownership import INTERNAL_NAMES, PLATFORM, Policy, violations
from feast_federation.rules.references import version_tag
from feast_federation.sync.diff import (
    diff,
    digests,
    held_state,
    inferred,
    refuse,
    with_implicit_writes,
    with_versions,
)
from feast_federation.transaction.plans import (
    ADD,
    DELETE,
    UNCHANGED,
    UPDATE,
    Change,
    Plan,
    change_order,
    object_key,
)
from feast_federation.transaction.writes import REMOVAL_TAG


def plan_platform(store, policy: Policy, objects: list) -> Plan:
    """The sync of ``objects`` (the platform repo's definitions) and ``policy``."""
    desired = with_implicit_writes(objects)
    refuse(violations(PLATFORM, [item for item, _ in desired], policy))
    wanted = [obj for _, obj in desired]
    # No team may hold a platform kind: a team-prefixed FileSource or FeatureView that got in
    # around apply.py (a raw apply, the registry server's DataSource gap) is deleted here too.
    proto = registry.registry_proto(store)
    held = project_objects(proto, store.project)
    existing = [
        obj for obj in registry.list_platform_kinds(store, proto) if obj.name not in INTERNAL_NAMES
    ]
    # Teams without DELETE rights mark their orphans; the platform sync deletes them.
    existing += registry.marked_for_removal(store, proto, REMOVAL_TAG)
    # The Project is compared when the repo defines it, and never deleted.
    existing += _stored_project(store, wanted)
    copies = inferred(store, wanted)
    plan_ = diff(PLATFORM, copies, existing)
    # A change that keeps a view's schema must keep its active version (Feast 0.67 would
    # reset it to v0); a change of schema shows the version Feast will make of it.
    keep_active_versions(wanted, copies, held)
    plan_ = _with_pins(with_versions(store, plan_, copies, existing), proto, store, policy)
    with gc_paused():  # 40,000 Permissions at 10,000 teams, each as values and a proto
        grants = policy_grants(policy)
        published = _policy_changes(policy, grants, managed_permission_protos(store, proto))
    plan_.changes = sorted(plan_.changes + published.changes, key=change_order)
    plan_.to_delete += published.to_delete
    # Every platform object is applied again (Feast's apply keeps the online tables in
    # step), but only the Permissions that changed: at 10,000 teams there are 40,000.
    changed_permissions = permissions_of(grants, published.to_write)
    plan_.to_apply = [_marked(obj) for obj in objects] + changed_permissions
    if plan_.has_changes and _only_permissions(plan_):
        # Only the policy changed: write only it, so no definition in the registry is
        # rewritten (an adopted registry is published into as it is).
        plan_.to_apply = changed_permissions
    plan_.protects, plan_.noun = policy, "sync"
    plan_.held = held
    plan_.definitions = digests(wanted) | published.definitions
    plan_.state = {
        **held_state({object_key(kind_of(obj), obj.name): obj for obj in existing}),
        **published.state,
        **_protecting_team_objects(proto, store.project, policy, plan_, held),
    }
    unfinished = unfinished_since(store)
    if unfinished:
        # The registry may already match the repo; the online tables may not exist. The
        # apply re-applies everything, which creates them, and then clears the mark.
        plan_.changes.insert(0, unfinished_sync(store.project, unfinished))
    return plan_


def _with_pins(plan_: Plan, proto, store, policy: Policy) -> Plan:
    """Each view the plan changes or deletes, with the team objects that pin its versions."""
    touched = {
        c.name: c for c in plan_.changes if c.action in (UPDATE, DELETE) and c.kind in VERSIONED
    }
    if not touched:
        return plan_
    pins: dict[str, set[str]] = {}
    for usage in registry.team_usages(proto, store.project, policy):
        if usage.version is not None and usage.view in touched:
            pins.setdefault(usage.view, set()).add(f"{usage} reads {version_tag(usage.version)}")
    plan_.changes = [
        replace(change, pinned_by=tuple(sorted(pins[change.name])))
        if change.name in pins and touched.get(change.name) is change
        else change
        for change in plan_.changes
    ]
    return plan_


@dataclass
class _PolicyChanges:
    changes: list[Change] = field(default_factory=list)
    to_write: set[str] = field(default_factory=set)  # Permission names
    to_delete: list = field(default_factory=list)  # stale Permissions, as Feast objects
    definitions: dict[str, str] = field(default_factory=dict)
    state: dict[str, str | None] = field(default_factory=dict)


def _policy_changes(policy: Policy, grants: list, stored: dict) -> _PolicyChanges:
    """The policy's Permissions (its ``policy_grants``) against the published ones
    (``stored``: managed Permission protos by name), compared as protos: at 10,000 teams,
    40,000 of them, nearly all unchanged, and a Feast object is built only for what is
    written or deleted."""
    found = _PolicyChanges()
    wanted = policy_permission_protos(policy, grants)
    for name, proto in wanted.items():
        key = object_key(PERMISSION, name)
        wanted_digest = digest_as_made(proto)
        found.definitions[key] = wanted_digest
        held = stored.get(name)
        if held is None:
            found.changes.append(Change(PERMISSION, name, ADD))
            found.to_write.add(name)
            continue
        values = {} if _same_spec(proto, held) else changed_values(proto, held)
        found.state[key] = wanted_digest if not values else digest(held)
        if values:
            found.changes.append(Change(PERMISSION, name, UPDATE, tuple(values), values))
            found.to_write.add(name)
        else:
            found.changes.append(Change(PERMISSION, name, UNCHANGED))
    for name in sorted(set(stored) - set(wanted)):
        found.changes.append(Change(PERMISSION, name, DELETE))
        found.to_delete.append(from_proto(PERMISSION, stored[name]))
        found.state[object_key(PERMISSION, name)] = digest(stored[name])
    return found


def _same_spec(wanted, stored) -> bool:
    """Whether a Permission proto made from the policy defines what the stored one does (the
    stored spec also names its project, which ``digest`` leaves out)."""
    spec = wanted.spec
    spec.project = stored.spec.project
    try:
        return spec == stored.spec
    finally:
        spec.project = ""


def _only_permissions(plan_: Plan) -> bool:
    return all(change.kind == PERMISSION for change in plan_.changes if change.action != UNCHANGED)


def _protecting_team_objects(proto, project: str, policy: Policy, plan_: Plan, held) -> dict:
    """Team services and ODFVs that read a view this plan changes or deletes (or whose
    entity or source it does): a new or changed one can turn the sync into a breaking one."""
    touched = {c.name for c in plan_.changes if c.action in (UPDATE, DELETE)}
    before = platform_state_of(held)
    views = {
        name
        for name, shape in before.views.items()
        if name in touched or (shape.entities | shape.sources) & touched
    }
    if not views:  # no team object can read what the plan changes: none is read
        return {}
    return {
        object_key(kind, name): digest(item)
        for (kind, name), item in registry.team_readers(proto, project, policy, views).items()
    }


def unfinished_sync(project: str, since: str) -> Change:
    return Change(PROJECT, project, UPDATE, (f"unfinished sync (started {since})",))


def _stored_project(store, wanted: list) -> list:
    if not any(kind_of(obj) == PROJECT for obj in wanted):
        return []
    stored = stored_project(store)
    if stored is not None:
        stored.tags = {k: v for k, v in stored.tags.items() if k != PENDING_TAG}
    return [stored] if stored is not None else []


def _marked(obj):
    """The repo's Project as the sync writes it: still marked unfinished (the apply writes
    it after ``record_sync_start`` and ``record_sync_end`` clears the mark)."""
    if kind_of(obj) != PROJECT:
        return obj
    marked = copy.copy(obj)
    marked.tags = {**obj.tags, PENDING_TAG: "a sync that rewrote the project"}
    return marked
