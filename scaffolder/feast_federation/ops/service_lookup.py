"""A FeatureService look-up per request that does not grow with the number of teams.

Feast 0.67's cached look-up of a FeatureService (``proto_registry_utils.get_feature_service``,
what ``/get-online-features`` calls for ``feature_service``) scans every service of the
registry and rebuilds the one it finds from its proto on each request; with 1,000 teams the
scan is most of the difference to 10 teams, and the rebuild (type-checked projections) is
half of a request at any size. The feature server keeps the services it built for the
registry it holds: the first request after each refresh builds a service, the others reuse
it. The cache holds the registry proto itself, not its ``id()``: an SQL registry's protos
have no version id, and a freed proto's address can be reused by a later one.
"""

from __future__ import annotations

from feast.infra.registry import proto_registry_utils


class ServiceCache:
    """``lookup(registry_proto, name, project)``, remembered per registry proto."""

    def __init__(self, lookup):
        self.lookup = lookup
        self.current: tuple[object, dict] = (None, {})  # replaced whole: threads read one pair

    def __call__(self, registry_proto, name: str, project: str):
        proto, services = self.current
        if proto is not registry_proto:
            proto, services = registry_proto, {}
            self.current = (proto, services)
        key = (project, name)
        if key not in services:
            services[key] = self.lookup(registry_proto, name, project)
        return services[key]


def cache_feature_service_lookups() -> None:
    """Remember Feast's FeatureService look-ups per registry proto (in this process, once)."""
    if not isinstance(proto_registry_utils.get_feature_service, ServiceCache):
        proto_registry_utils.get_feature_service = ServiceCache(
            proto_registry_utils.get_feature_service
        )
