"""Plans and applies one repo's objects into the shared registry, restricted to what it owns.

- The platform repo is a full sync: it upserts what it defines, publishes the policy as
  Permissions, and deletes the platform objects it no longer defines, never a team's. It
  refuses changes that would break a team's services or ODFVs unless explicitly overridden.
- A team repo is a validated partial apply: it upserts its own objects and deletes only
  with ``prune``, and only its own.
Every rule comes from ``ownership``; nothing is written when any check fails.
"""

from __future__ import annotations

from feast import FeatureStore

from feast_federation import registry
from feast_federation.errors import FederationError, RefusedError, first_line
from feast_federation.ops import applylog

# A module import: ops.backup imports sync.plans, which runs this package's __init__.
from feast_federation.ops import backup as backups
from feast_federation.registry.kinds import as_stored, with_implicit_writes
from feast_federation.registry.location import (
    DEFAULT_LOCK_TIMEOUT,
    RegistryLocation,
    exclusive,
    retry_when_locked,
)
from feast_federation.registry.server_errors import translated
from feast_federation.rules.kinds import BY_NAME
from feast_federation.rules.ownership import (
    PLATFORM,
)
from feast_federation.rules.policy import load_policy, policy_section
from feast_federation.rules.repo import Repo
from feast_federation.sync.collect import collect
from feast_federation.sync.contract import publish_platform_contract, refuse_contract_drift
from feast_federation.sync.intent import record_sync_end, record_sync_start
from feast_federation.sync.plans import DELETE, UNCHANGED, Plan
from feast_federation.sync.platform import plan_platform
from feast_federation.sync.saved import SavedPlan
from feast_federation.sync.team import (
    deferred_cache_refresh,
    delete_team_objects,
    mark_for_removal,
    plan_team,
    published,
    write_team_objects,
)


def plan(
    repo: Repo,
    *,
    prune: bool = False,
    allow_breaking: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> Plan:
    """What an apply of ``repo`` would change; writes nothing."""
    store = registry.open_store(repo.path)
    # The checks read before the apply writes: a plan sees the registry between applies.
    with translated(store, repo.owner), exclusive(store, lock_timeout):
        return retry_when_locked(lambda: _plan(repo, store, prune, allow_breaking))


def apply(
    repo: Repo,
    *,
    prune: bool = False,
    allow_breaking: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    expected: SavedPlan | None = None,
    allow_delete: bool = True,
) -> Plan:
    """Apply ``repo`` under the registry's write lock and return the plan carried out.

    With ``expected``, only if the plan is still that saved plan; without ``allow_delete``,
    only if it deletes nothing.
    """
    store = registry.open_store(repo.path)
    if expected is not None:
        expected.check_options(prune=prune, allow_breaking=allow_breaking)
        expected.check_target(repo.owner, store.project, repo.path)

    def attempt() -> tuple[Plan, dict]:
        carried_out = _plan(repo, store, prune, allow_breaking)
        if expected is not None:
            expected.verify(carried_out, repo.path)
        if carried_out.to_delete and not allow_delete:
            raise FederationError(unconfirmed_deletions(carried_out))
        if not carried_out.has_changes:
            return carried_out, carried_out.held
        # The log keeps field names and the objects themselves, not the values' diffs.
        changes = [change.to_json(with_values=False) for change in carried_out.changes]
        # Encoded now: a file registry's write edits the protos the plan read in place.
        before = applylog.images(changes, carried_out.held)
        if repo.is_platform:
            backups.backup_before_sync(store, repo.path, policy_section(repo.path, "backups"))
            record_sync_start(store, applylog.actor(repo.path))
        _write(store, lambda: carry_out(store, carried_out))
        if repo.is_platform:
            record_sync_end(store)  # only now are the online tables there too
        # Apply's inference has completed the objects: they are what the registry now holds.
        written = as_stored(with_implicit_writes(carried_out.to_apply), store.project)
        action = "apply --prune" if prune else "apply"
        extra = {"overridden_breakages": carried_out.overridden} if carried_out.overridden else {}
        after = applylog.images(changes, written)
        applylog.record(
            store, repo.path, carried_out.owner, action, changes, before, after, **extra
        )  # fmt: skip
        return carried_out, _held_after(carried_out.held, changes, written)

    with translated(store, repo.owner), exclusive(store, lock_timeout):
        carried_out, held = retry_when_locked(attempt)
        if repo.is_platform:  # what team repos may read, committed with the platform repo
            publish_platform_contract(store, repo.path, load_policy(repo.path), held)
        return carried_out


def _held_after(held: dict, changes: list[dict], written: dict) -> dict:
    """What the registry holds after a write: ``held`` without what it changed, and what
    it wrote."""
    changed = {
        (BY_NAME[change["kind"]].collection, change["name"])
        for change in changes
        if change["kind"] in BY_NAME and change["action"] != UNCHANGED
    }
    after = {key: proto for key, proto in held.items() if key not in changed}
    return after | {key: proto for key, proto in written.items() if key in changed}


def objects(count: int) -> str:
    return f"{count} object" if count == 1 else f"{count} objects"


def unconfirmed_deletions(plan_: Plan) -> str:
    deleted = [f"{c.kind} {c.name}" for c in plan_.changes if c.action == DELETE]
    return (
        f"the apply would delete {objects(len(deleted))} ({', '.join(deleted)}) and no one "
        "confirmed it; nothing was written: pass --yes to delete them"
    )


def _plan(repo: Repo, store: FeatureStore, prune: bool, allow_breaking: bool) -> Plan:
    if repo.is_platform:
        plan_ = platform_plan(repo, store, allow_breaking=allow_breaking)
    else:
        team = published(store, repo.owner)  # before the team's modules read the registry
        references: list = []
        objects = collect(repo, references)
        refuse_contract_drift(store, repo, objects)
        plan_ = plan_team(store, team, objects, prune=prune, references=references)
    plan_.project = store.project
    return plan_


def platform_plan(repo: Repo, store: FeatureStore, *, allow_breaking: bool = False) -> Plan:
    """The platform repo's sync plan against ``store``; the caller holds the registry lock."""
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
    with deferred_cache_refresh(store.registry):
        write_team_objects(store, plan_.to_apply)
        if RegistryLocation.of(store).is_remote:
            mark_for_removal(store, plan_.to_delete)
        else:
            delete_team_objects(store, plan_.to_delete)


def _write(store: FeatureStore, action) -> None:
    """Run a registry write; a failure part-way is reported with how to converge."""
    try:
        action()
    except Exception as exc:
        if "database is locked" in str(exc) or RegistryLocation.of(store).is_remote:
            raise  # retried by the caller, or explained by server_errors
        raise FederationError(
            f"the apply failed part-way ({first_line(exc)}); what was written stays written: run "
            "--plan to see it, then apply again to converge"
        ) from exc
