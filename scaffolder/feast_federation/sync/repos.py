"""Plans and applies one repo's objects into the shared registry, restricted to what it owns.

- The platform repo is a full sync: it upserts what it defines, publishes the policy as
  Permissions, and deletes the platform objects it no longer defines, never a team's. The
  transaction refuses changes that would break a team's services or ODFVs unless
  explicitly overridden.
- A team repo is a validated partial apply: it upserts its own objects and deletes only
  with ``prune``, and only its own.
Every rule comes from ``ownership``; every write goes through ``transaction``; nothing is
written when any check fails.
"""

from __future__ import annotations

from feast_federation import registry, transaction
from feast_federation.errors import FederationError, RefusedError
from feast_federation.registry.kinds import protos_remembered
from feast_federation.registry.location import DEFAULT_LOCK_TIMEOUT
from feast_federation.registry.resolution import resolve_string_references
from feast_federation.rules.environments import environment, previous, store_file
from feast_federation.rules.ownership import Policy
from feast_federation.rules.policy import load_policy, policy_section
from feast_federation.rules.repo import Repo
from feast_federation.sync.checkout import checkout_paths
from feast_federation.sync.checks import changed_odfv_problems
from feast_federation.sync.collect import collect
from feast_federation.sync.contract import publish_platform_contract, refuse_contract_drift
from feast_federation.sync.diff import refuse
from feast_federation.sync.platform import plan_platform
from feast_federation.sync.team import plan_team, published
from feast_federation.transaction import Promotion, Safeguards, Writer
from feast_federation.transaction.backups import per_environment
from feast_federation.transaction.plans import Plan
from feast_federation.transaction.saved import SavedPlan


def plan(
    repo: Repo,
    *,
    prune: bool = False,
    allow_breaking: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> Plan:
    """What an apply of ``repo`` would change; writes nothing."""
    store = registry.open_store(repo.path)
    return transaction.plan(
        store, _writer(repo), planner(repo, prune=prune), lock_timeout=lock_timeout,
        allow_breaking=allow_breaking,
    )  # fmt: skip


def apply(
    repo: Repo,
    *,
    prune: bool = False,
    allow_breaking: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    expected: SavedPlan | None = None,
    allow_delete: bool = True,
    skip_promotion_check: bool = False,
) -> Plan:
    """Apply ``repo`` and return the plan carried out.

    With ``expected``, only if the plan is still that saved plan; without ``allow_delete``,
    only if it deletes nothing. Into an environment after the first, only definitions the
    one before applied and verified (unless ``skip_promotion_check``, logged).
    """
    store = registry.open_store(repo.path)
    if expected is not None:
        expected.check_options(prune=prune, allow_breaking=allow_breaking)
    policy = load_policy(repo.path) if repo.is_platform else None
    env = environment(repo.path)
    snapshots = policy_section(repo.path, "backups") if repo.is_platform else None
    safeguards = Safeguards(
        lock_timeout=lock_timeout, allow_breaking=allow_breaking, allow_delete=allow_delete,
        expected=expected, backup=snapshots and per_environment(snapshots, env),
        promotion=_promotion(repo, env, skip_promotion_check),
        log={"environment": env} if env else {},
    )  # fmt: skip
    plans = planner(repo, prune=prune, policy=policy)
    carried_out = transaction.write(store, _writer(repo), plans, safeguards)
    if policy is not None:  # what team repos may read, committed with the platform repo
        transaction.read(
            store, repo.owner,
            lambda s: publish_platform_contract(s, repo.path, policy, carried_out.after),
            lock_timeout=lock_timeout,
        )  # fmt: skip
    return carried_out


def _promotion(repo: Repo, env: str | None, skip: bool) -> Promotion | None:
    before = previous(repo.path, env) if env else None
    if before is None:
        if skip:
            raise FederationError(
                "--skip-promotion-check is for environments after the first"
                + (f"; {env} is the first" if env else "; this org has no environments")
            )
        return None
    return Promotion(env, before, registry.open_store(repo.path, env=before), skip)


def check(repo: Repo) -> list[str]:
    """Every rule the repo's apply would refuse on, one line each; writes nothing."""
    try:
        plan(repo)
    except RefusedError as exc:
        return exc.problems
    except FederationError as exc:
        return [str(exc)]
    return []


def planner(repo: Repo, *, prune: bool = False, policy: Policy | None = None):
    """The function the transaction calls, under the registry's lock, to plan ``repo``;
    a platform repo's ``policy``, when the caller has loaded it already."""
    if repo.is_platform:
        return lambda store: platform_plan(repo, store, policy)
    return lambda store: _team_plan(repo, store, prune)


def platform_plan(repo: Repo, store, policy: Policy | None = None) -> Plan:
    """The platform repo's sync plan against ``store``; the caller holds the registry lock.
    ``policy``: its federation.yaml, when the caller has loaded it already."""
    policy = load_policy(repo.path) if policy is None else policy
    if store.project != policy.project:
        raise FederationError(
            f"{store_file(repo.path)}: project {store.project} differs from "
            f"federation.yaml's project {policy.project}"
        )
    objects = collect(repo)
    resolve_string_references(store, objects)
    plan_ = plan_platform(store, policy, objects)
    refuse(checkout_paths(repo, objects))
    return plan_


def _team_plan(repo: Repo, store, prune: bool) -> Plan:
    team = published(store, repo.owner)  # before the team's modules read the registry
    references: list = []
    objects = collect(repo, references)
    policy = Policy(project=store.project, teams={team.name: team})
    resolve_string_references(store, objects, lambda name: policy.owner_of(name) == team.name)
    refuse_contract_drift(store, repo, objects)
    with protos_remembered():  # each object's proto made once for the whole plan
        planned = plan_team(store, team, objects, prune=prune, references=references)
        refuse(checkout_paths(repo, objects))  # services' string references resolved by now
    # What `check` runs, for what this plan writes: every ODFV it adds or updates serves.
    problems = changed_odfv_problems(planned)
    if problems:
        raise RefusedError(problems)
    return planned


def _writer(repo: Repo) -> Writer:
    return Writer(repo.owner, repo.path)
