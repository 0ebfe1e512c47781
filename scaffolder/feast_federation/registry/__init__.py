"""The Feast adapter: opening a store, the registry's location and lock, the kind table bound
to Feast classes, look-ups by name, the published policy, and registry-server errors.
Everything that touches Feast's registry API goes through this package."""

from feast_federation.registry.lookups import (
    get,
    list_platform_kinds,
    list_team_kinds,
    marked_for_removal,
    occupant,
    on_demand_shapes,
    registry_proto,
    team_readers,
    team_usages,
)
from feast_federation.registry.store import open_store

__all__ = [
    "get",
    "list_platform_kinds",
    "list_team_kinds",
    "marked_for_removal",
    "occupant",
    "on_demand_shapes",
    "open_store",
    "registry_proto",
    "team_readers",
    "team_usages",
]
