"""What awaits promotion: the objects one environment's registry holds differently from the
next's, per owner (``feast-federation diff-env PLATFORM --from staging --to production``)."""

from __future__ import annotations

from feast_federation import registry, transaction
from feast_federation.errors import FederationError
from feast_federation.registry.protos import digest, project_objects
from feast_federation.rules.environments import environment
from feast_federation.rules.kinds import BY_NAME, KINDS, PERMISSION, REQUEST_SOURCE
from feast_federation.rules.ownership import PLATFORM
from feast_federation.rules.policy import load_policy
from feast_federation.rules.repo import Repo
from feast_federation.transaction.plans import ADD, DELETE, UPDATE

POLICY_OWNER = "policy"  # the Permissions the platform sync publishes from federation.yaml
_KIND_OF_COLLECTION: dict[str, str] = {}
for _kind in KINDS:
    _KIND_OF_COLLECTION.setdefault(_kind.collection, _kind.name)


def diff_environments(repo: Repo, source: str, target: str) -> dict[str, list[dict]]:
    """Per owner, each object ``source`` holds that ``target`` lacks (``add``) or holds
    differently (``update``), and each ``target`` holds that ``source`` no longer does
    (``delete``): what promoting everything from ``source`` would change in ``target``."""
    if not repo.is_platform:
        raise FederationError(f"{repo.path}: diff-env compares whole registries; give the "
                              "platform repo")  # fmt: skip
    environment(repo.path, source), environment(repo.path, target)  # both known, or refused
    if source == target:
        raise FederationError(f"--from and --to are both {source}: name two environments")
    policy = load_policy(repo.path)
    held_from, held_to = (_held(repo, env) for env in (source, target))
    found: dict[str, list[dict]] = {}
    for key in sorted(held_from.keys() | held_to.keys()):
        before, after = held_to.get(key), held_from.get(key)
        if before is not None and after is not None and digest(before) == digest(after):
            continue
        action = ADD if before is None else DELETE if after is None else UPDATE
        kind = _kind(key[0], after if after is not None else before)
        owner = POLICY_OWNER if kind == PERMISSION else policy.owner_of(key[1])
        found.setdefault(owner, []).append({"kind": kind, "name": key[1], "action": action})
    return dict(sorted(found.items(), key=lambda item: (item[0] != PLATFORM, item[0])))


def _held(repo: Repo, env: str) -> dict:
    store = registry.open_store(repo.path, env=env)
    proto = transaction.read(store, PLATFORM, registry.registry_proto)
    return project_objects(proto, store.project)


def _kind(collection: str, proto) -> str:
    kind = _KIND_OF_COLLECTION.get(collection, collection)
    if kind == BY_NAME[REQUEST_SOURCE].name or collection == BY_NAME[REQUEST_SOURCE].collection:
        is_request = getattr(proto, "type", None) == getattr(proto, "REQUEST_SOURCE", -1)
        return REQUEST_SOURCE if is_request else kind
    return kind
