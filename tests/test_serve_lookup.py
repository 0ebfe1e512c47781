"""The feature server's look-ups by name (issue 17, issue 31): one build per service and
registry version, found by an index rather than a scan whatever the number of teams, never
a stale service after a refresh, and every view found as Feast's own scan finds it. Registry
protos built in memory, no server (slow only because it imports Feast)."""

from __future__ import annotations

import pytest
from feast import FeatureService
from feast.errors import FeatureServiceNotFoundException
from feast.infra.registry import proto_registry_utils
from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto

from feast_federation.registry.feast067 import IndexedLookup, index_lookups_by_name
from feast_federation.registry.protos import changed_values

pytestmark = pytest.mark.slow


def service_proto(name: str, description: str = ""):
    proto = FeatureService(name=name, features=[], description=description).to_proto()
    proto.spec.project = "acme"
    return proto


def registry(teams: int, description: str = "") -> RegistryProto:
    proto = RegistryProto()
    for index in range(teams):
        proto.feature_services.append(service_proto(f"t{index:04d}_model", description))
    return proto


@pytest.fixture
def counted():
    calls: list[str] = []

    def lookup(registry_proto, name, project):
        calls.append(name)
        return proto_registry_utils.get_feature_service(registry_proto, name, project)

    return IndexedLookup(lookup, ("feature_services",)), calls


def test_a_service_is_built_once_per_registry_version(counted):
    cache, calls = counted
    proto = registry(1000)
    first = cache(proto, "t0999_model", "acme")
    assert all(cache(proto, "t0999_model", "acme") is first for _ in range(100))
    assert calls == ["t0999_model"]


def test_a_refreshed_registry_serves_the_new_definition(counted):
    cache, calls = counted
    assert cache(registry(10, "old"), "t0003_model", "acme").description == "old"
    assert cache(registry(10, "new"), "t0003_model", "acme").description == "new"
    assert len(calls) == 2


def test_a_missing_service_is_not_remembered(counted):
    cache, _ = counted
    proto = registry(3)
    for _ in range(2):
        with pytest.raises(FeatureServiceNotFoundException):
            cache(proto, "t0003_model", "acme")
    proto.feature_services.append(service_proto("t0003_model"))
    assert cache(proto, "t0003_model", "acme").name == "t0003_model"


def test_a_lookup_builds_from_a_registry_holding_only_the_one_found(counted):
    cache, _ = counted
    seen: list[int] = []
    cache.lookup = lambda proto, name, project: (
        seen.append(len(proto.feature_services))
        or (proto_registry_utils.get_feature_service(proto, name, project))
    )
    assert cache(registry(1000), "t0500_model", "acme").name == "t0500_model"
    assert seen == [1]


def views_registry() -> RegistryProto:
    """Views of every kind, names shared between kinds and projects, as Feast's scan meets
    them: a name's first holder in its order is the answer."""
    from datetime import timedelta

    from feast import Entity, FeatureView, Field, FileSource, RequestSource
    from feast.on_demand_feature_view import on_demand_feature_view
    from feast.types import Float64

    source = FileSource(name="src", path="data.parquet", timestamp_field="ts")
    entity = Entity(name="customer", join_keys=["customer_id"])
    request = RequestSource(name="req", schema=[Field(name="x", dtype=Float64)])
    proto = RegistryProto()

    def view(name, project="acme", description=""):
        made = FeatureView(
            name=name, entities=[entity], source=source, ttl=timedelta(days=1),
            schema=[Field(name="f", dtype=Float64)], description=description,
        )  # fmt: skip
        item = made.to_proto()
        item.spec.project = project
        return item

    @on_demand_feature_view(sources=[request], schema=[Field(name="y", dtype=Float64)],
                            mode="python")  # fmt: skip
    def shared(inputs):
        return {"y": inputs["x"]}

    odfv = shared.to_proto()
    odfv.spec.project = "acme"
    proto.feature_views.extend([view("plain"), view("shared", "other"),
                                view("twice", description="first"),
                                view("twice", description="second")])  # fmt: skip
    proto.on_demand_feature_views.append(odfv)
    return proto


@pytest.mark.parametrize(
    ("name", "project"),
    [("plain", "acme"), ("shared", "acme"), ("shared", "other"), ("twice", "acme")],
)
def test_an_indexed_view_lookup_finds_what_feasts_scan_finds(name, project):
    scan = proto_registry_utils.get_any_feature_view.__wrapped__
    proto = views_registry()
    indexed = IndexedLookup(scan, ("feature_views", "stream_feature_views",
                                   "on_demand_feature_views", "label_views"))  # fmt: skip
    found, expected = indexed(proto, name, project), scan(proto, name, project)
    assert type(found) is type(expected)
    assert changed_values(found.to_proto(), expected.to_proto()) == {}


def test_a_view_no_kind_holds_is_refused_as_feast_refuses_it():
    from feast.errors import FeatureViewNotFoundException

    scan = proto_registry_utils.get_any_feature_view.__wrapped__
    indexed = IndexedLookup(scan, ("feature_views", "on_demand_feature_views"))
    with pytest.raises(FeatureViewNotFoundException):
        indexed(views_registry(), "nowhere", "acme")


def test_serving_installs_the_indexes_once(monkeypatch):
    originals = {name: getattr(proto_registry_utils, name)
                 for name in ("get_feature_service", "get_any_feature_view")}  # fmt: skip
    for name, original in originals.items():
        monkeypatch.setattr(proto_registry_utils, name, original)
    index_lookups_by_name()
    index_lookups_by_name()
    for name, original in originals.items():
        installed = getattr(proto_registry_utils, name)
        assert isinstance(installed, IndexedLookup)
        assert installed.lookup is getattr(original, "__wrapped__", original)


def test_a_requests_service_is_resolved_in_its_own_coroutine_and_permission_checked(
    monkeypatch,
):
    import asyncio
    import threading
    from types import SimpleNamespace

    from feast import feature_server
    from feast.permissions import security_manager

    from feast_federation.registry.feast067 import resolve_services_inline

    stock = feature_server._get_features
    checked, threads = [], []
    monkeypatch.setattr(feature_server, "_get_features", stock)
    monkeypatch.setattr(security_manager, "assert_permissions",
                        lambda resource, actions: checked.append(resource))  # fmt: skip
    resolve_services_inline()
    resolve_services_inline()  # once
    inline = feature_server._get_features
    assert inline is not stock and getattr(inline, "inline", False)

    service = FeatureService(name="t_model", features=[])
    store = SimpleNamespace(
        get_feature_service=lambda name, allow_cache: (
            threads.append(threading.get_ident()) or service
        )
    )
    request = SimpleNamespace(feature_service="t_model", features=None)
    assert asyncio.run(inline(request, store)) is service
    assert threads == [threading.get_ident()] and checked == [service]
    by_features = SimpleNamespace(feature_service=None, features=["v:f"])
    assert asyncio.run(inline(by_features, store)) == ["v:f"]  # Feast's own path
