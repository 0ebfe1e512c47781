"""The one table of Feast kinds: who may write each, and how the registry stores it.

Standard library only: the ownership rules and the template hooks read the owners and name
spaces; the registry adapter (``feast_federation.registry.kinds``) resolves the Feast class
and calls the registry methods named here. Every module that reads, writes, deletes, backs
up or lists objects by kind goes through this table.
"""

from __future__ import annotations

from dataclasses import dataclass

PLATFORM_OWNED, TEAM_OWNED, POLICY_OWNED = "platform", "team", "policy"

ENTITY = "Entity"
DATA_SOURCE = "DataSource"
REQUEST_SOURCE = "RequestSource"
FEATURE_VIEW = "FeatureView"
STREAM_FEATURE_VIEW = "StreamFeatureView"
ON_DEMAND_FEATURE_VIEW = "OnDemandFeatureView"
FEATURE_SERVICE = "FeatureService"
PERMISSION = "Permission"
LABEL_VIEW = "LabelView"
PROJECT = "Project"


@dataclass(frozen=True)
class Kind:
    """One Feast kind as this project treats it."""

    name: str
    owned_by: str  # PLATFORM_OWNED, TEAM_OWNED, or POLICY_OWNED (generated from federation.yaml)
    feast_class: str  # "module:Class"
    # Feast keeps one name space per registry table: a RequestSource named like a FileSource
    # replaces it, an ODFV named like a FeatureView clashes with it.
    table: str
    collection: str  # the RegistryProto field that holds these objects
    getter: str  # Registry methods, called with (name or object, project, ...)
    writer: str
    deleter: str
    order: int  # writes go in ascending order (what is read before its readers); deletes reverse
    # Whether backups snapshot and restore these objects. The Project is not restored: it
    # holds the project itself (and the sync's own intent mark), not a definition.
    backed_up: bool = True


# Subclasses come before their bases: the first class an object is an instance of names it.
KINDS = (
    Kind(FEATURE_SERVICE, TEAM_OWNED, "feast.feature_service:FeatureService",
         "feature service", "feature_services",
         "get_feature_service", "apply_feature_service", "delete_feature_service", 4),
    Kind(ON_DEMAND_FEATURE_VIEW, TEAM_OWNED, "feast.on_demand_feature_view:OnDemandFeatureView",
         "feature view", "on_demand_feature_views",
         "get_on_demand_feature_view", "apply_feature_view", "delete_feature_view", 3),
    Kind(STREAM_FEATURE_VIEW, PLATFORM_OWNED, "feast.stream_feature_view:StreamFeatureView",
         "feature view", "stream_feature_views",
         "get_stream_feature_view", "apply_feature_view", "delete_feature_view", 2),
    Kind(FEATURE_VIEW, PLATFORM_OWNED, "feast.feature_view:FeatureView",
         "feature view", "feature_views",
         "get_feature_view", "apply_feature_view", "delete_feature_view", 2),
    Kind(LABEL_VIEW, PLATFORM_OWNED, "feast.labeling.label_view:LabelView",
         "feature view", "label_views",
         "get_label_view", "apply_feature_view", "delete_label_view", 2),
    Kind(ENTITY, PLATFORM_OWNED, "feast.entity:Entity",
         "entity", "entities", "get_entity", "apply_entity", "delete_entity", 0),
    Kind(REQUEST_SOURCE, TEAM_OWNED, "feast.data_source:RequestSource",
         "data source", "data_sources",
         "get_data_source", "apply_data_source", "delete_data_source", 1),
    Kind(DATA_SOURCE, PLATFORM_OWNED, "feast.data_source:DataSource",
         "data source", "data_sources",
         "get_data_source", "apply_data_source", "delete_data_source", 0),
    Kind(PERMISSION, POLICY_OWNED, "feast.permissions.permission:Permission",
         "permission", "permissions", "get_permission", "apply_permission", "delete_permission", 5),
    # One per federation: the platform repo may define the policy's project, and only it.
    # Its registry calls take no project argument (get_project(name), apply_project(obj)).
    Kind(PROJECT, PLATFORM_OWNED, "feast.project:Project",
         "project", "projects", "get_project", "apply_project", "delete_project", -1,
         backed_up=False),
)  # fmt: skip
BY_NAME = {kind.name: kind for kind in KINDS}

PLATFORM_KINDS = frozenset(kind.name for kind in KINDS if kind.owned_by == PLATFORM_OWNED)
TEAM_KINDS = frozenset(kind.name for kind in KINDS if kind.owned_by == TEAM_OWNED)
# The registry collections a snapshot holds, each once, in write order.
COLLECTIONS = tuple(
    dict.fromkeys(
        kind.collection for kind in sorted(KINDS, key=lambda k: k.order) if kind.backed_up
    )
)


def same_table(kind_a: str, kind_b: str) -> bool:
    return BY_NAME[kind_a].table == BY_NAME[kind_b].table


def write_order(kind: str) -> int:
    return BY_NAME[kind].order


def delete_order(kind: str) -> int:
    return -BY_NAME[kind].order
