"""Drift detection: what the shared registry holds that the federation did not put there."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from feast_federation import registry
from feast_federation.errors import FederationError
from feast_federation.registry.kinds import (
    definition,
    kind_of,
    platform_state,
    with_implicit_writes,
)
from feast_federation.registry.permissions import published_teams
from feast_federation.rules.ownership import (
    FEATURE_SERVICE,
    INTERNAL_NAMES,
    ON_DEMAND_FEATURE_VIEW,
    PLATFORM,
    REQUEST_SOURCE,
    Definition,
    Policy,
    dangling,
    describe_owner,
    kinds_allowed,
)
from feast_federation.rules.policy import load_policy
from feast_federation.rules.repo import Repo
from feast_federation.sync.collect import collect
from feast_federation.sync.intent import unfinished_since

UNOWNED = "unowned"
WRONG_KIND = "wrong-kind"
DANGLING = "dangling-reference"
POLICY_DRIFT = "policy-drift"
UNFINISHED = "unfinished-sync"


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
    if not repo.is_platform:
        raise FederationError(f"{repo.path}: audit reads the platform repo (with federation.yaml)")
    store = registry.open_store(repo.path)
    policy = load_policy(repo.path)
    proto = registry.registry_proto(store)
    defined = {definition(obj) for obj in with_implicit_writes(collect(repo))}
    platform_objects = registry.list_platform_kinds(store)
    held = [definition(obj) for obj in platform_objects] + _team_kind_definitions(store, proto)
    findings = _ownership_findings(policy, defined, held)
    usages = registry.team_usages(proto, store.project, policy)
    views = {
        **platform_state(platform_objects).views,
        **registry.on_demand_shapes(proto, store.project),
    }
    findings += [Finding(DANGLING, str(usage), detail) for usage, detail in dangling(usages, views)]
    return findings + _policy_drift(policy, published_teams(store)) + _unfinished(store)


def _unfinished(store) -> list[Finding]:
    since = unfinished_since(store)
    if since is None:
        return []
    detail = (
        f"a platform sync started {since} did not finish: online tables may be missing; "
        "run the platform apply"
    )
    return [Finding(UNFINISHED, f"project {store.project}", detail)]


def _team_kind_definitions(store, proto) -> list[Definition]:
    """Services, ODFVs and request sources, named from the protos: no UDF is rebuilt."""
    in_project = [
        *((FEATURE_SERVICE, item) for item in proto.feature_services),
        *((ON_DEMAND_FEATURE_VIEW, item) for item in proto.on_demand_feature_views),
    ]
    definitions = [
        Definition(kind, item.spec.name)
        for kind, item in in_project
        if item.spec.project == store.project
    ]
    definitions += [
        definition(source)
        for source in store.registry.list_data_sources(store.project, allow_cache=False)
        if kind_of(source) == REQUEST_SOURCE
    ]
    return [item for item in definitions if item.name not in INTERNAL_NAMES]


def _ownership_findings(
    policy: Policy, defined: set[Definition], held: list[Definition]
) -> list[Finding]:
    findings = []
    for item in held:
        if item.name in INTERNAL_NAMES:
            continue
        owner = policy.owner_of(item.name)
        if owner == PLATFORM and item not in defined:
            findings.append(
                Finding(UNOWNED, str(item), "no registered team owns it and the platform repo "
                        "does not define it")
            )  # fmt: skip
        if item.kind not in kinds_allowed(owner):
            findings.append(
                Finding(
                    WRONG_KIND, str(item), f"{describe_owner(owner)} may not hold a {item.kind}"
                )
            )
    return findings


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
        else:
            continue
        findings.append(Finding(POLICY_DRIFT, f"team {name}", detail))
    return findings
