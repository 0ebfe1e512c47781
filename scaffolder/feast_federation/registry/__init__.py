"""The Feast adapter, the only package that imports Feast: opening a store (``store``), where
a registry lives and what each kind can do for a write (``location``, ``backends``), the kind
table bound to Feast classes (``kinds``), look-ups by name (``lookups``), references by name
resolved (``resolution``), feature-view versions (``versions``), protos compared by what they
define (``protos``), the published policy (``permissions``), a sync's intent (``intent``),
the platform contract's views (``contract``), one-line engine and server errors
(``engine_errors``, ``server_errors``), the S3 lease (``s3_lock``), Feast's feature server
(``feature_server``), and every Feast internal and patch (``feast067``). It reads; only
``transaction`` writes."""

from feast_federation.registry.lookups import (
    get,
    list_platform_kinds,
    list_team_kinds,
    marked_for_removal,
    occupant,
    on_demand_shapes,
    reads_remembered,
    registry_proto,
    team_names,
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
    "reads_remembered",
    "registry_proto",
    "team_names",
    "team_readers",
    "team_usages",
]
