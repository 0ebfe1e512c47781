"""Property-based: random syncs, team applies and prunes against a real SQL registry.

Invariants, after every step of every sequence:
- a step by one owner never deletes or changes another owner's objects;
- a step never breaks another owner's objects (no new reference to a missing view or feature);
- a refused step leaves the registry file byte-for-byte unchanged;
- what a successful step applied is in the registry, and a full sync or a prune leaves none
  of its owner's objects that it did not define.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from feast_federation import registry, sync, transaction
from feast_federation.errors import FederationError
from feast_federation.registry.kinds import with_implicit_writes
from feast_federation.registry.protos import fingerprint, spec_of
from feast_federation.rules.ownership import PLATFORM, Policy, Team
from support import file_digest

pytestmark = pytest.mark.slow

TEAMS = ("marketing", "risk")
POLICY = Policy(project="acme", teams={name: Team(name, (f"{name}@acme.io",)) for name in TEAMS})
VIEW_NAMES = ("user_features", "driver_stats", "shared_stats", "risk_view")  # risk_view: refused
FEATURES = ("f1", "f2", "f3")
STORE_YAML = """project: acme
provider: local
registry:
  registry_type: sql
  path: sqlite:///{path}/registry.db
  cache_ttl_seconds: 0
online_store:
  type: sqlite
  path: {path}/online.db
offline_store:
  type: file
entity_key_serialization_version: 3
"""

# Every sequence starts from this, so teams have views to read and later syncs can break them.
FULL_PLATFORM = {view: frozenset(FEATURES) for view in VIEW_NAMES[:3]}
feature_sets = st.frozensets(st.sampled_from(FEATURES), min_size=1)
platform_specs = st.dictionaries(st.sampled_from(VIEW_NAMES), feature_sets, max_size=3)


@st.composite
def team_specs(draw):
    team = draw(st.sampled_from(TEAMS))
    other = next(name for name in TEAMS if name != team)
    # Mostly good names, sometimes another team's or an unprefixed one, which must be refused.
    good = [f"{team}_a", f"{team}_b", f"{team}_c"]
    name = st.sampled_from(good * 8 + [f"{other}_a", "loose"])
    services = draw(
        st.dictionaries(name, st.tuples(st.sampled_from(VIEW_NAMES[:3]), feature_sets), max_size=2)
    )
    requests = draw(st.frozensets(name, max_size=2))
    odfvs = draw(
        st.frozensets(st.sampled_from([f"{team}_odfv"] * 8 + [f"{other}_odfv"]), max_size=1)
    )
    return ("team", team, services, requests, odfvs, draw(st.booleans()))


steps = st.lists(
    st.one_of(platform_specs.map(lambda spec: ("platform", spec)), team_specs()),
    min_size=1,
    max_size=6,
)


# --- building Feast objects from the specs ---------------------------------------------


def platform_objects(spec: dict) -> list:
    from feast import Entity, FeatureView, Field, FileSource
    from feast.types import Float64, Int64

    user = Entity(name="user", join_keys=["user_id"])
    objects = [user]
    for view, features in sorted(spec.items()):
        source = FileSource(
            name=f"{view}_source", path=f"/data/{view}.parquet", timestamp_field="ts"
        )
        schema = [Field(name="user_id", dtype=Int64)]
        schema += [Field(name=feature, dtype=Float64) for feature in sorted(features)]
        objects.append(
            FeatureView(
                name=view, entities=[user], schema=schema, source=source, ttl=timedelta(days=1)
            )
        )
    return objects


def team_objects(services: dict, requests: frozenset, odfvs: frozenset) -> list:
    from feast import FeatureService, Field, RequestSource
    from feast.on_demand_feature_view import on_demand_feature_view
    from feast.types import Float64

    objects = [
        FeatureService(name=name, features=[view_reference(view, features)])
        for name, (view, features) in sorted(services.items())
    ]
    for name in sorted(requests):
        objects.append(RequestSource(name=name, schema=[Field(name="amount", dtype=Float64)]))
    for name in sorted(odfvs):
        request = RequestSource(name=f"{name}_request", schema=[Field(name="x", dtype=Float64)])

        def doubled(inputs: dict) -> dict:
            return {"doubled": [2.0 * value for value in inputs["x"]]}

        doubled.__name__ = name
        objects.append(
            on_demand_feature_view(
                sources=[request], schema=[Field(name="doubled", dtype=Float64)], mode="python"
            )(doubled)
        )
    return objects


def view_reference(view: str, features: frozenset):
    """How a team reads a platform view: the view with a projection of some features."""
    [definition] = [obj for obj in platform_objects({view: features}) if obj.name == view]
    return definition[sorted(features)]


# --- the registry, seen by owner -------------------------------------------------------


def snapshot(store) -> dict[tuple[str, str], bytes]:
    """Every object in the registry: (kind, name) -> its spec without volatile fields."""
    proto = registry.registry_proto(store)
    items = {}
    for kind, collection in (
        ("Entity", proto.entities),
        ("DataSource", proto.data_sources),
        ("FeatureView", proto.feature_views),
        ("OnDemandFeatureView", proto.on_demand_feature_views),
        ("FeatureService", proto.feature_services),
        ("Permission", proto.permissions),
    ):
        for item in collection:
            items[(kind, spec_of(item).name)] = fingerprint(item)
    return items


def broken_references(store) -> set[tuple[str, str]]:
    """(team object, what it reads) pairs whose view or features the registry lacks."""
    from feast_federation.registry.kinds import platform_state
    from feast_federation.rules.ownership import dangling

    proto = registry.registry_proto(store)
    views = {
        **platform_state(registry.list_platform_kinds(store, proto)).views,
        **registry.on_demand_shapes(proto, store.project),
    }
    usages = registry.team_usages(proto, store.project, POLICY)
    return {(str(usage), detail) for usage, detail in dangling(usages, views)}


def owner_of(key: tuple[str, str]) -> str:
    kind, name = key
    return PLATFORM if kind == "Permission" else POLICY.owner_of(name)


def owned_by(items: dict, owner: str) -> dict:
    return {key: value for key, value in items.items() if owner_of(key) == owner}


def not_owned_by(items: dict, owner: str) -> dict:
    return {key: value for key, value in items.items() if owner_of(key) != owner}


# --- the property ------------------------------------------------------------------------


@settings(
    max_examples=int(__import__("os").environ.get("PROPERTY_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sequence=steps)
def test_no_owner_ever_touches_another_owners_objects(sequence):
    from feast import FeatureStore

    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch, "feature_store.yaml").write_text(STORE_YAML.format(path=scratch))
        store = FeatureStore(repo_path=scratch)
        snapshot(store)  # creates the registry's tables
        database = Path(scratch, "registry.db")
        for step in [("platform", FULL_PLATFORM), *sequence]:
            run_step(store, database, step)


def run_step(store, database: Path, step: tuple) -> None:
    owner = PLATFORM if step[0] == "platform" else step[1]
    before = snapshot(store)
    broken_before = broken_references(store)
    digest = file_digest(database)
    writer = transaction.Writer(owner, Path(store.repo_path))
    try:
        if owner == PLATFORM:
            objects = platform_objects(step[1])
            plan = transaction.write(
                store, writer, lambda s: sync.plan_platform(s, POLICY, objects)
            )
        else:
            _, team, services, requests, odfvs, prune = step
            objects = team_objects(services, requests, odfvs)
            plan = transaction.write(
                store, writer, lambda s: sync.plan_team(s, team, objects, prune=prune)
            )
    except FederationError:
        event(f"{'platform' if owner == PLATFORM else 'team'} step refused")
        assert file_digest(database) == digest, f"a refused {owner} step wrote to the registry"
        return
    event(f"{'platform' if owner == PLATFORM else 'team'} step applied")
    event(f"{len([c for c in plan.changes if c.action == 'delete'])} deletions")
    after = snapshot(store)
    assert not_owned_by(after, owner) == not_owned_by(before, owner) or _only_dummy_added(
        before, after, owner
    ), f"{owner} changed someone else's objects"
    assert broken_references(store) <= broken_before, f"{owner} broke a team object"
    defined = {(_kind(obj), obj.name) for obj in with_implicit_writes(objects)}
    mine_after = set(owned_by(after, owner)) - {("Entity", "__dummy")}
    if owner == PLATFORM:
        assert defined <= set(after)
        assert {key for key in mine_after if key[0] != "Permission"} == defined
    else:
        assert defined <= mine_after
        if step[-1]:  # pruned
            assert mine_after == defined


def _only_dummy_added(before: dict, after: dict, owner: str) -> bool:
    """The very first apply creates Feast's own __dummy entity, which nobody owns."""
    diff = set(not_owned_by(after, owner).items()) ^ set(not_owned_by(before, owner).items())
    return {key for key, _ in diff} == {("Entity", "__dummy")}


def _kind(obj) -> str:
    from feast_federation.registry.kinds import kind_of

    kind = kind_of(obj)
    return "DataSource" if kind == "RequestSource" else kind
