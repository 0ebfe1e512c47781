"""The feature server's FeatureService look-up (issue 17): one build per service and registry
version, whatever the number of teams, and never a stale service after a refresh. A registry
proto built in memory, no server (slow only because it imports Feast)."""

from __future__ import annotations

import pytest
from feast import FeatureService
from feast.errors import FeatureServiceNotFoundException
from feast.infra.registry import proto_registry_utils
from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto

from feast_federation.registry.feast067 import ServiceCache, cache_feature_service_lookups

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

    return ServiceCache(lookup), calls


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


def test_serving_installs_the_cache_once(monkeypatch):
    original = proto_registry_utils.get_feature_service
    monkeypatch.setattr(proto_registry_utils, "get_feature_service", original)
    cache_feature_service_lookups()
    cache_feature_service_lookups()
    installed = proto_registry_utils.get_feature_service
    assert isinstance(installed, ServiceCache) and installed.lookup is original
