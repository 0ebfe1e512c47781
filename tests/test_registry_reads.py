"""What reads a SQL registry, and how often. A team plan: each object by name once, its own
ODFV as stored (the UDF neither unpickled nor pickled again), a UDF pickled once for the
ODFV and the copy its plan infers. The feature server's refresh: the registry read again
only after a write. One registered org of three teams on SQLite (``support.bulk``), shared
by the module."""

from __future__ import annotations

import copy
import time
from collections import Counter

import pytest

from support.bulk import build_registered_org

pytestmark = pytest.mark.slow

SERVICE_FILE = "feature_services.py"


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    from feast_federation.rules.repo import find_repo

    platform, team = build_registered_org(tmp_path_factory.mktemp("reads") / "org", 3)
    return find_repo(platform), find_repo(team)


@pytest.fixture
def edited_team(org):
    """The bench team with its service's description changed, put back after."""
    _, team = org
    path = team.path / SERVICE_FILE
    text = path.read_text()
    path.write_text(text.replace("Features of the campaign", "Revised features of the campaign"))
    yield team
    path.write_text(text)


def by_name_reads(monkeypatch) -> Counter:
    """Each (table, name) the SQL registry is asked for, counted."""
    from feast.infra.registry.sql import SqlRegistry

    asked: Counter = Counter()
    read = SqlRegistry._get_object

    def counted(self, table, name, *args, **kwargs):
        asked[(table.name, name)] += 1
        return read(self, table, name, *args, **kwargs)

    monkeypatch.setattr(SqlRegistry, "_get_object", counted)
    return asked


def test_a_team_plan_reads_each_registry_object_by_name_once(edited_team, monkeypatch):
    from feast_federation import sync

    asked = by_name_reads(monkeypatch)
    planned = sync.plan(edited_team)
    assert [change.action for change in planned.changes if change.action != "unchanged"] == [
        "update"
    ]
    # The platform view is fetched by the team's modules and again by the contract check.
    assert asked[("feature_views", "customer_features")] == 1
    assert ("on_demand_feature_views", "bench_purchase_propensity") in asked
    assert [key for key, count in asked.items() if count > 1] == []


def test_reads_outside_a_plan_go_to_the_registry_each_time(org, monkeypatch):
    from feast_federation.registry import get, open_store

    _, team = org
    store = open_store(team.path)
    asked = by_name_reads(monkeypatch)
    for _ in range(2):
        assert get(store, "FeatureView", "customer_features") is not None
    assert asked[("feature_views", "customer_features")] == 2


def test_an_odfv_read_as_stored_gives_back_the_proto_the_registry_holds(org, monkeypatch):
    import dill

    from feast_federation.registry import open_store, registry_proto
    from feast_federation.registry.feast067 import on_demand_view_as_stored
    from feast_federation.registry.protos import changed_values, stamp_project

    _, team = org
    store = open_store(team.path)
    [held] = [
        item
        for item in registry_proto(store).on_demand_feature_views
        if item.spec.name == "bench_purchase_propensity"
    ]
    monkeypatch.setattr(dill, "loads", pytest.fail)  # the UDF stays as stored
    monkeypatch.setattr(dill, "dumps", pytest.fail)
    found = on_demand_view_as_stored(store, "bench_purchase_propensity")
    made = stamp_project(found.to_proto(), store.project)
    assert changed_values(made, held) == {}  # what a plan's diff compares
    assert made.spec.feature_transformation == held.spec.feature_transformation  # the UDF
    assert made.spec.feature_transformation.user_defined_function.body


def test_an_odfv_and_its_copy_pickle_their_udf_once_within_a_plan(org, monkeypatch):
    import dill

    from feast_federation.registry import get, open_store
    from feast_federation.registry.kinds import proto_of, protos_remembered

    _, team = org
    odfv = get(open_store(team.path), "OnDemandFeatureView", "bench_purchase_propensity")
    outside = [odfv.to_proto(), copy.copy(odfv).to_proto()]
    pickled = []
    dumps = dill.dumps
    monkeypatch.setattr(dill, "dumps", lambda *a, **k: pickled.append(1) or dumps(*a, **k))
    with protos_remembered():
        inside = [proto_of(odfv), proto_of(copy.copy(odfv))]
    assert len(pickled) == 1
    assert [proto.spec for proto in inside] == [proto.spec for proto in outside]
    proto_of(odfv)  # outside again: pickled afresh
    assert len(pickled) == 2


@pytest.fixture
def serving_store(org, monkeypatch):
    """The platform's store as ``serve`` sets it up before its workers start, with a write
    taken as final after a second (not a minute)."""
    from feast_federation.registry import feast067, open_store

    monkeypatch.setattr(feast067, "SETTLED_SECONDS", 1)
    platform, _ = org
    store = open_store(platform.path)
    ttl = store.registry.cached_registry_proto_ttl
    feast067.serve_from_timer(store)
    yield store
    store.registry.reused, store.registry.cached_registry_proto_ttl = None, ttl


def test_a_serving_refresh_reads_the_registry_again_only_after_a_write(serving_store, edited_team):
    from feast_federation import sync

    registry = serving_store.registry
    time.sleep(2)  # the org's last write is settled
    serving_store.refresh_registry()
    first = registry.cached_registry_proto
    serving_store.refresh_registry()
    assert registry.cached_registry_proto is first  # nothing written: not read again
    sync.apply(edited_team)
    serving_store.refresh_registry()
    after = registry.cached_registry_proto
    assert after is not first
    [service] = [s for s in after.feature_services if s.spec.name == "bench_campaign_model"]
    assert service.spec.description.startswith("Revised features")


def test_a_read_within_a_second_of_a_write_is_read_again_while_it_settles(
    serving_store, edited_team
):
    """A second write in the same second leaves Feast's stamp as it was: a read taken
    then is not final until the stamp is older than SETTLED_SECONDS."""
    from feast_federation import sync

    registry = serving_store.registry
    sync.apply(edited_team)
    serving_store.refresh_registry()
    first = registry.cached_registry_proto
    serving_store.refresh_registry()
    settling = registry.cached_registry_proto
    assert settling is not first
    time.sleep(2.1)
    serving_store.refresh_registry()
    settled = registry.cached_registry_proto
    serving_store.refresh_registry()
    assert registry.cached_registry_proto is settled


def test_other_stores_read_the_registry_whole_on_every_refresh(org):
    from feast_federation.registry import open_store

    platform, _ = org
    store = open_store(platform.path)
    store.refresh_registry()
    first = store.registry.cached_registry_proto
    store.refresh_registry()
    assert store.registry.cached_registry_proto is not first
