"""Drift detection: what the shared registry holds that the federation did not put there."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from feast_federation import registry, transaction
from feast_federation.files import gc_paused
from feast_federation.registry import versions
from feast_federation.registry.intent import unfinished_since
from feast_federation.registry.kinds import definition, kind_of_proto, platform_state
from feast_federation.registry.permissions import published_teams
from feast_federation.registry.protos import digest, project_objects
from feast_federation.rules.kinds import BY_NAME, PERMISSION, PLATFORM_KINDS, TEAM_KINDS
from feast_federation.rules.ownership import (
    DATA_SOURCE,
    INTERNAL_NAMES,
    PLATFORM,
    Definition,
    Policy,
    dangling,
    describe_owner,
    kinds_allowed,
)
from feast_federation.rules.policy import load_policy
from feast_federation.rules.repo import Repo
from feast_federation.sync.repos import platform_plan
from feast_federation.sync.team import published_for
from feast_federation.transaction import applylog
from feast_federation.transaction.plans import ADD, DELETE, UPDATE

UNOWNED = "unowned"
WRONG_KIND = "wrong-kind"
DANGLING = "dangling-reference"
POLICY_DRIFT = "policy-drift"
MODIFIED = "modified"
ADDED = "added"
DELETED = "deleted"
UNAPPLIED = "unapplied"
UNFINISHED = "unfinished-sync"
BROKEN_LOG = "broken-log"

PLATFORM_APPLY = "`python apply.py` in the platform repo"


@dataclass(frozen=True)
class Finding:
    rule: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.subject}: {self.detail}"

    def to_json(self) -> dict:
        return asdict(self)


def audit(repo: Repo) -> list[Finding]:
    """The platform repo: the whole registry. A team repo: its own objects, by the policy
    the platform published into the registry."""
    store = registry.open_store(repo.path)
    run = _audit if repo.is_platform else _team_audit
    # The same consistent view of the registry a plan gets; at 10,000 teams, every object's
    # digest, usages and owner in one go, which the collector would scan again and again.
    with gc_paused():
        return transaction.read(store, repo.owner, lambda s: run(repo, s))


def _team_audit(repo: Repo, store) -> list[Finding]:
    """The team's objects against its logged applies, and its users of missing features."""
    proto = registry.registry_proto(store)
    policy = published_for(store, repo.owner, proto)
    own = _team_kind_objects(proto, store.project, lambda name: policy.owner_of(name) == repo.owner)
    findings = []
    if applylog.kept(store):
        entries = applylog.read(store)
        logged = applylog.last_applied(entries)
        mine = {key: row for key, row in logged.items() if policy.owner_of(key[1]) == repo.owner}
        findings += _team_findings(policy, mine, own)
        findings += _broken_log(
            [item for item in applylog.chain_breaks(entries, links=False)
             if policy.owner_of(item.name) == repo.owner]
        )  # fmt: skip
    usages = registry.team_usages(proto, store.project, policy)
    usages = [usage for usage in usages if usage.owner == repo.owner]
    return findings + _dangling(proto, store, usages)


def _dangling(proto, store, usages: list) -> list[Finding]:
    views = {
        **platform_state(registry.list_platform_kinds(store, proto)).views,
        **registry.on_demand_shapes(proto, store.project),
    }
    pinned = versions.pinned_shapes(store, usages)  # a pin reads its version's snapshot
    return [
        Finding(DANGLING, str(usage), detail) for usage, detail in dangling(usages, views, pinned)
    ]


def _audit(repo: Repo, store) -> list[Finding]:
    policy = load_policy(repo.path)
    # One read of the registry for the whole audit: the transaction holds it.
    proto = registry.registry_proto(store)
    # The sync's own plan compares the registry with the platform repo's definitions.
    sync_plan = platform_plan(repo, store, policy)
    entries = applylog.read(store) if applylog.kept(store) else None
    logged = applylog.last_applied(entries) if entries is not None else None
    defined = {
        Definition(change.kind, change.name)
        for change in sync_plan.changes
        if change.action != DELETE
    }
    platform_objects = registry.list_platform_kinds(store, proto)
    team_kinds = _team_kind_objects(proto, store.project)
    held = [definition(obj) for obj in platform_objects] + list(team_kinds)
    findings = _platform_findings(sync_plan, logged)
    findings += _ownership_findings(policy, defined, held, repo)
    if logged is not None:
        findings += _team_findings(policy, logged, team_kinds)
        findings += _broken_log(applylog.chain_breaks(entries, links=False))
    findings += _dangling(proto, store, registry.team_usages(proto, store.project, policy))
    return findings + _policy_drift(policy, published_teams(store, proto)) + _unfinished(store)


def _broken_log(breaks: list) -> list[Finding]:
    """Objects whose last apply-log change holds images of another object: the log was
    edited (`restore --to` refuses to undo it)."""
    detail = (
        "{reason}: the log was edited; restore --to refuses to undo it (restore a backup "
        "instead: feast-federation restore --input FILE)"
    )
    return [
        Finding(BROKEN_LOG, f"apply-log entry {item.entry}: {item.kind} {item.name}",
                detail.format(reason=item.reason))
        for item in breaks
    ]  # fmt: skip


def _unfinished(store) -> list[Finding]:
    since = unfinished_since(store)
    if since is None:
        return []
    detail = (
        f"a platform sync started {since} did not finish: online tables may be missing; "
        "run the platform apply"
    )
    return [Finding(UNFINISHED, f"project {store.project}", detail)]


def _platform_findings(sync_plan, logged: dict | None) -> list[Finding]:
    """Platform objects the registry holds differently from the repo, or not at all.

    Permissions are left to the policy-drift findings, which name the team they concern.
    """
    findings = []
    for change in sync_plan.changes:
        subject = f"{change.kind} {change.name}"
        if change.kind in (PERMISSION, "Project"):  # the Project: reported as unfinished-sync
            continue
        if change.action == UPDATE:
            detail = (
                f"the registry's differs from the platform repo's ({', '.join(change.fields)}): "
                f"{PLATFORM_APPLY} puts the repo's back"
            )
            findings.append(Finding(MODIFIED, subject, detail))
        elif (
            change.action == ADD
            and logged is not None
            and (applylog.table_key(change.kind, change.name) not in logged)
        ):
            detail = f"the platform repo defines it and it was never applied: {PLATFORM_APPLY}"
            findings.append(Finding(UNAPPLIED, subject, detail))
        elif change.action == ADD:
            detail = (
                f"the platform repo defines it; the registry lost it: {PLATFORM_APPLY} restores it"
            )
            findings.append(Finding(DELETED, subject, detail))
    return findings


def _team_findings(policy: Policy, logged: dict, held: dict) -> list[Finding]:
    """Team objects against what each team's logged applies left in the registry."""
    findings = []
    current = {applylog.table_key(item.kind, item.name): (item, dig) for item, dig in held.items()}
    for key in sorted(set(logged) | set(current)):
        owner = policy.owner_of(key[1])
        if owner == PLATFORM:
            continue
        kind, applied = logged.get(key, (None, None))
        if kind is not None and kind not in kinds_allowed(owner) | {DATA_SOURCE}:
            continue  # a wrong kind: reported as such
        team_apply = f"`python apply.py` in team {owner}'s repo"
        if key not in current:
            subject = f"{kind} {key[1]} (team {owner})"
            detail = (
                f"team {owner} applied it; the registry lost it: {team_apply} re-creates it, "
                "or `feast-federation restore` from a backup"
            )
            findings.append(Finding(DELETED, subject, detail))
            continue
        item, now = current[key]
        subject = f"{item} (team {owner})"
        if key not in logged:
            detail = (
                f"not applied by team {owner}'s apply.py (the apply log has no record of it): "
                f"`python apply.py --prune` in team {owner}'s repo removes it unless the repo "
                "defines it"
            )
            findings.append(Finding(ADDED, subject, detail))
        elif applied != now:
            detail = f"differs from what team {owner} last applied: {team_apply} puts it back"
            findings.append(Finding(MODIFIED, subject, detail))
    return findings


def _team_kind_objects(proto, project: str, keep=None) -> dict[Definition, str]:
    """Services, ODFVs and request sources (those whose name ``keep`` accepts) with their
    digests, read from the protos: no UDF is rebuilt."""
    collections = dict.fromkeys(BY_NAME[kind].collection for kind in sorted(TEAM_KINDS))
    return {
        Definition(kind, name): digest(item)
        for (collection, name), item in project_objects(proto, project, collections).items()
        if keep is None or keep(name)
        for kind in [kind_of_proto(collection, item)]
        if kind in TEAM_KINDS
    }


def _ownership_findings(
    policy: Policy, defined: set[Definition], held: list[Definition], repo: Repo
) -> list[Finding]:
    findings = []
    for item in held:
        if item.name in INTERNAL_NAMES:
            continue
        owner = policy.owner_of(item.name)
        if owner == PLATFORM and item not in defined:
            findings.append(
                Finding(UNOWNED, str(item), "no registered team owns it and the platform repo "
                        f"does not define it: {PLATFORM_APPLY} deletes it")
            )  # fmt: skip
        if item.kind not in kinds_allowed(owner):
            findings.append(
                Finding(
                    WRONG_KIND,
                    str(item),
                    f"{describe_owner(owner)} may not hold a {item.kind}: {_removal(item, repo)}",
                )
            )
    return findings


def _removal(item: Definition, repo: Repo) -> str:
    """The command that removes a wrong-kind object."""
    if item.kind in PLATFORM_KINDS:  # the platform sync deletes every platform kind it lacks
        return f"{PLATFORM_APPLY} deletes it"
    # A team kind in the platform's name space: no apply owns it, Feast's delete removes it.
    return f"`feast -c {repo.path} delete {item.name}` removes it"


def _policy_drift(policy: Policy, published: dict) -> list[Finding]:
    findings = []
    for name in sorted(set(policy.teams) | set(published)):
        in_file, in_registry = policy.teams.get(name), published.get(name)
        if in_registry is None:
            detail = "in federation.yaml but not published: run the platform apply"
        elif in_file is None:
            detail = "published in the registry but not in federation.yaml"
        elif (in_file.owners, in_file.effective_role) != (in_registry.owners, in_registry.role):
            detail = (
                f"federation.yaml says owners {list(in_file.owners)}, role "
                f"{in_file.effective_role}; the registry {list(in_registry.owners)}, role "
                f"{in_registry.role}"
            )
        elif in_file.names != in_registry.names:
            detail = (
                f"federation.yaml grandfathers names {list(in_file.names)}; the registry "
                f"{list(in_registry.names)}: run the platform apply"
            )
        else:
            continue
        findings.append(Finding(POLICY_DRIFT, f"team {name}", detail))
    return findings
