"""Plans and applies one repo's objects into the shared registry, restricted to what it owns.

- The platform repo is a full sync: it upserts what it defines, publishes the policy as
  Permissions, and deletes the platform objects it no longer defines, never a team's. It
  refuses changes that would break a team's services or ODFVs unless explicitly overridden.
- A team repo is a validated partial apply: it upserts its own objects and deletes only
  with ``prune``, and only its own.
Every rule comes from ``ownership``; nothing is written when any check fails.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator

from feast import FeatureStore

from . import applylog, registry
from .backup import backup_before_sync
from .collect import collect
from .concurrency import exclusive, is_remote, retry_when_locked
from .errors import FederationError
from .kinds import definition, implicit_writes, kind_of, platform_state, usages, view_shape
from .ownership import (
    FEATURE_SERVICE,
    FEATURE_VIEW,
    INTERNAL_NAMES,
    ON_DEMAND_FEATURE_VIEW,
    PLATFORM,
    REQUEST_SOURCE,
    Definition,
    Policy,
    Team,
    breakages,
    conflict_with_existing,
    dangling,
    violations,
)
from .permissions import is_managed, policy_permissions, policy_published, published_team
from .plans import ADD, DELETE, UNCHANGED, UPDATE, Change, Plan
from .policy import load_policy, policy_section
from .protos import changed_fields
from .repo import Repo
from .server_errors import translated


class RefusedError(FederationError):
    """The change breaks ownership rules; ``problems`` has one line per violation."""

    def __init__(self, problems: list[str], summary: str = "refused; nothing was written:"):
        self.problems = problems
        self.summary = summary
        super().__init__("\n".join(problems))


# --- repos -----------------------------------------------------------------------------


def plan(repo: Repo, *, prune: bool = False, allow_breaking: bool = False) -> Plan:
    """What an apply of ``repo`` would change; writes nothing."""
    store = registry.open_store(repo.path)
    # A file registry read mid-write parses as empty, hence the lock even for reading.
    with exclusive(store), translated(store, repo.owner):
        return retry_when_locked(lambda: _plan(repo, store, prune, allow_breaking))


def apply(repo: Repo, *, prune: bool = False, allow_breaking: bool = False) -> Plan:
    """Apply ``repo`` under the registry's write lock and return the plan carried out."""
    store = registry.open_store(repo.path)

    def attempt() -> Plan:
        carried_out = _plan(repo, store, prune, allow_breaking)
        if carried_out.has_changes:
            if repo.is_platform:
                backup_before_sync(store, repo.path, policy_section(repo.path, "backups"))
            _write(store, lambda: carry_out(store, carried_out))
            action = "apply --prune" if prune else "apply"
            changes = [change.to_json() for change in carried_out.changes]
            extra = (
                {"overridden_breakages": carried_out.overridden} if carried_out.overridden else {}
            )
            applylog.record(store, repo.path, carried_out.owner, action, changes, **extra)
        return carried_out

    with exclusive(store), translated(store, repo.owner):
        return retry_when_locked(attempt)


def _plan(repo: Repo, store: FeatureStore, prune: bool, allow_breaking: bool) -> Plan:
    if not repo.is_platform:
        team = _published(store, repo.owner)  # before the team's modules read the registry
        references: list = []
        objects = collect(repo, references)
        return plan_team(store, team, objects, prune=prune, references=references)
    policy = load_policy(repo.path)
    if store.project != policy.project:
        raise FederationError(
            f"{repo.path}/feature_store.yaml: project {store.project} differs from "
            f"federation.yaml's project {policy.project}"
        )
    return plan_platform(store, policy, collect(repo), allow_breaking=allow_breaking)


def check(repo: Repo) -> list[str]:
    """Every rule the repo's apply would refuse on, one line each; writes nothing."""
    try:
        plan(repo)
    except RefusedError as exc:
        return exc.problems
    except FederationError as exc:
        return [str(exc)]
    return []


def carry_out(store: FeatureStore, plan_: Plan) -> None:
    if plan_.owner == PLATFORM:
        store.apply(plan_.to_apply, objects_to_delete=plan_.to_delete, partial=False)
        return
    with _deferred_cache_refresh(store.registry):
        _write_team_objects(store, plan_.to_apply)
        if is_remote(store):
            _mark_for_removal(store, plan_.to_delete)
        else:
            _delete_team_objects(store, plan_.to_delete)


@contextlib.contextmanager
def _deferred_cache_refresh(reg) -> Iterator[None]:
    """Stop the SQL registry re-reading itself whole after each object it writes.

    In its default "sync" cache mode, every write ends with a full refresh of the
    registry cache: at 1,000 teams that costs more than the write. Nothing here reads
    that cache (lookups use allow_cache=False), so the refresh waits: the cache is only
    marked stale, and the next cached read in this process reloads it.
    """
    if getattr(reg, "cache_mode", None) != "sync":
        yield
        return
    reg.cache_mode = "deferred"
    try:
        yield
    finally:
        reg.cache_mode = "sync"
        reg.cached_registry_proto_created = None


def _write(store: FeatureStore, action) -> None:
    """Run a registry write; a failure part-way is reported with how to converge."""
    try:
        action()
    except Exception as exc:
        if "database is locked" in str(exc) or is_remote(store):
            raise  # retried by the caller, or explained by server_errors
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise FederationError(
            f"the apply failed part-way ({first_line}); what was written stays written: run "
            "--plan to see it, then apply again to converge"
        ) from exc


# --- the platform ----------------------------------------------------------------------


def plan_platform(
    store: FeatureStore, policy: Policy, objects: list, *, allow_breaking: bool = False
) -> Plan:
    desired = _with_implicit_writes(objects)
    _refuse(violations(PLATFORM, [item for item, _ in desired], policy))
    wanted = [obj for _, obj in desired]
    existing = [
        obj
        for obj in registry.list_platform_kinds(store)
        if policy.owner_of(obj.name) == PLATFORM and obj.name not in INTERNAL_NAMES
    ]
    proto = registry.registry_proto(store)
    broken = breakages(
        registry.team_usages(proto, store.project, policy),
        before=platform_state(existing),
        after=platform_state(wanted),
    )
    if broken and not allow_breaking:
        raise RefusedError(
            broken,
            "refused: the sync would break team objects; nothing was written "
            "(--allow-breaking-teams overrides):",
        )
    permissions = policy_permissions(policy)
    existing += [
        permission
        for permission in store.registry.list_permissions(store.project, allow_cache=False)
        if is_managed(permission)
    ]
    # Teams without DELETE rights mark their orphans; the platform sync deletes them.
    existing += registry.marked_for_removal(store, proto, REMOVAL_TAG)
    plan_ = _diff(PLATFORM, _inferred(store, wanted + permissions), existing)
    plan_.to_apply = objects + permissions
    plan_.overridden = broken
    return plan_


# --- a team ----------------------------------------------------------------------------


def plan_team(
    store: FeatureStore,
    team: str | Team,
    objects: list,
    *,
    prune: bool = False,
    references: list | None = None,
) -> Plan:
    """The team's changes; ``references`` are the platform views its modules fetched."""
    team = _published(store, team) if isinstance(team, str) else team
    policy = Policy(project=store.project, teams={team.name: team})
    desired = _with_implicit_writes(objects)
    definitions = [item for item, _ in desired]
    _refuse(violations(team.name, definitions, policy))
    wanted = [obj for _, obj in desired]
    # One lookup per name serves both the conflict check and the diff.
    occupants = [registry.occupant(store, kind_of(obj), obj.name) for obj in wanted]
    _refuse(
        [
            problem
            for item, held in zip(definitions, occupants, strict=True)
            if held is not None
            for problem in [conflict_with_existing(team.name, item, kind_of(held))]
            if problem
        ]
    )
    _refuse(_missing_references(store, team.name, wanted, references or []))
    existing = [
        held
        for obj, held in zip(wanted, occupants, strict=True)
        if held is not None and kind_of(held) == kind_of(obj)
    ]
    if prune:
        existing += registry.list_team_kinds(store, team.prefix)
    plan_ = _diff(team.name, _inferred(store, wanted), existing)
    if not prune:
        plan_.to_delete = []
        plan_.changes = [change for change in plan_.changes if change.action != DELETE]
    return plan_


def _published(store: FeatureStore, team_name: str) -> Team:
    team = published_team(store, team_name)
    if team is None:
        raise FederationError(_unknown_team_message(store, team_name))
    return team


def _unknown_team_message(store: FeatureStore, team: str) -> str:
    if not policy_published(store):
        return (
            f"project {store.project} has no published federation policy: the platform has "
            "not applied yet, or feature_store.yaml points at another project"
        )
    return (
        f"team {team} is not registered in the registry's policy: "
        "the platform must apply federation.yaml first"
    )


def _missing_references(
    store: FeatureStore, team: str, objects: list, references: list
) -> list[str]:
    """Services and ODFVs that read views or features neither the registry nor the repo has."""
    reads = usages(objects, team)
    views = {obj.name: view_shape(obj) for obj in objects if kind_of(obj) == ON_DEMAND_FEATURE_VIEW}
    # What platform_view fetched during this collection is the registry's current view.
    views.update({ref.name: view_shape(ref) for ref in references})
    for name in {usage.view for usage in reads} - set(views):
        view = registry.occupant(store, FEATURE_VIEW, name)
        if view is not None:
            views[name] = view_shape(view)
    return [
        f"{usage.user} {detail} in the registry (is the platform applied?)"
        for usage, detail in dangling(reads, views)
    ]


# Request sources before the ODFVs that read them, ODFVs before the services that use them.
_WRITE_ORDER = {REQUEST_SOURCE: 0, ON_DEMAND_FEATURE_VIEW: 1, FEATURE_SERVICE: 2}


def _write_team_objects(store: FeatureStore, objects: list) -> None:
    """Write a team's changed objects one by one, as FeatureStore.apply(partial=True) would.

    Team kinds have no online tables, so apply's infrastructure step has nothing to do,
    and its closing refresh re-reads the whole registry: at org scale that refresh costs
    more than the write. The objects are already validated and inferred by the plan.
    """
    if not objects:
        return
    odfvs = [obj for obj in objects if kind_of(obj) == ON_DEMAND_FEATURE_VIEW]
    store._validate_all_feature_views([], odfvs, [], [])
    reg, project = store.registry, store.project
    writers = {
        REQUEST_SOURCE: reg.apply_data_source,
        ON_DEMAND_FEATURE_VIEW: reg.apply_feature_view,
        FEATURE_SERVICE: reg.apply_feature_service,
    }
    for obj in sorted(objects, key=lambda o: _WRITE_ORDER[kind_of(o)]):
        writers[kind_of(obj)](obj, project, commit=False)
    reg.commit()


REMOVAL_TAG = "feast-federation/remove"


def _mark_for_removal(store: FeatureStore, objects: list) -> None:
    """Through a registry server teams hold no DELETE: tag orphans for the platform sync.

    Marking is an UPDATE of the team's own objects, which its role may do; the next
    platform sync, the only deleter, removes them and logs it.
    """
    for obj in objects:
        obj.tags = {**obj.tags, REMOVAL_TAG: "true"}
    if objects:
        store.apply(objects, partial=True)


# Services go before the ODFVs they use, ODFVs before their request sources.
_DELETE_ORDER = {FEATURE_SERVICE: 0, ON_DEMAND_FEATURE_VIEW: 1}


def _delete_team_objects(store: FeatureStore, objects: list) -> None:
    for obj in sorted(objects, key=lambda o: _DELETE_ORDER.get(kind_of(o), 2)):
        kind = kind_of(obj)
        if kind == FEATURE_SERVICE:
            store.registry.delete_feature_service(obj.name, store.project)
        elif kind == ON_DEMAND_FEATURE_VIEW:
            store.registry.delete_feature_view(obj.name, store.project)
        else:
            store.registry.delete_data_source(obj.name, store.project)
    if objects:
        store.registry.commit()


# --- shared steps ----------------------------------------------------------------------


def _with_implicit_writes(objects: list) -> list[tuple[Definition, object]]:
    """Each object Feast will write for ``objects``, once, with its Definition."""
    seen: dict[tuple[str, str], object] = {}
    result = []
    for obj in objects:
        for item, via in [(obj, None), *((written, obj) for written in implicit_writes(obj))]:
            key = (kind_of(item), item.name)
            if key in seen:
                if seen[key] is not item and seen[key] != item:
                    raise FederationError(f"{key[0]} {key[1]}: defined twice, differently")
                continue
            seen[key] = item
            result.append((definition(item, via), item))
    return result


def _refuse(problems: list[str]) -> None:
    if problems:
        raise RefusedError(problems)


def _inferred(store: FeatureStore, objects: list) -> list:
    """Copies of ``objects`` after Feast's own inference, so they compare like stored ones.

    Copies, because inference mutates and apply will run it again on the originals.
    """
    copies = [copy.copy(obj) for obj in objects]
    by_kind: dict[str, list] = {}
    for obj in copies:
        by_kind.setdefault(kind_of(obj), []).append(obj)
    try:
        store._make_inferences(
            by_kind.get("DataSource", []) + by_kind.get("RequestSource", []),
            by_kind.get("Entity", []),
            by_kind.get("FeatureView", []),
            by_kind.get("OnDemandFeatureView", []),
            by_kind.get("StreamFeatureView", []),
            by_kind.get("FeatureService", []),
            [],
        )
    except Exception as exc:  # Feast rejects the definitions themselves: a user error
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise FederationError(f"Feast cannot infer the definitions: {first_line}") from None
    return copies


def _diff(owner: str, wanted: list, existing: list) -> Plan:
    """The changes from ``existing`` to ``wanted``; ``to_apply`` holds what to add or update."""
    current = {(kind_of(obj), obj.name): obj for obj in existing}
    changes, to_apply, to_delete = [], [], []
    for obj in wanted:
        key = (kind_of(obj), obj.name)
        if key not in current:
            changes.append(Change(*key, ADD))
            to_apply.append(obj)
            continue
        changed = _changed_fields(obj, current.pop(key))
        changes.append(Change(*key, UPDATE, changed) if changed else Change(*key, UNCHANGED))
        if changed:
            to_apply.append(obj)
    for key, obj in current.items():
        changes.append(Change(*key, DELETE))
        to_delete.append(obj)
    changes.sort(key=lambda change: (change.action == UNCHANGED, change.kind, change.name))
    return Plan(owner=owner, changes=changes, to_apply=to_apply, to_delete=to_delete)


def _changed_fields(wanted, stored) -> tuple[str, ...]:
    return changed_fields(wanted.to_proto(), stored.to_proto())
