"""Maps Feast objects to the kinds the ownership rules speak of."""

from __future__ import annotations

from feast import Entity, FeatureService, FeatureView, OnDemandFeatureView, RequestSource
from feast.data_source import DataSource
from feast.stream_feature_view import StreamFeatureView

from .ownership import (
    DATA_SOURCE,
    ENTITY,
    FEATURE_SERVICE,
    FEATURE_VIEW,
    INTERNAL_NAMES,
    ON_DEMAND_FEATURE_VIEW,
    REQUEST_SOURCE,
    STREAM_FEATURE_VIEW,
    Definition,
    PlatformState,
    Usage,
    ViewShape,
)

# Order matters: subclasses before their bases.
_KINDS = (
    (FeatureService, FEATURE_SERVICE),
    (OnDemandFeatureView, ON_DEMAND_FEATURE_VIEW),
    (StreamFeatureView, STREAM_FEATURE_VIEW),
    (FeatureView, FEATURE_VIEW),
    (Entity, ENTITY),
    (RequestSource, REQUEST_SOURCE),
    (DataSource, DATA_SOURCE),
)


def kind_of(obj: object) -> str:
    for cls, kind in _KINDS:
        if isinstance(obj, cls):
            return kind
    return type(obj).__name__


def definition(obj: object, via: object | None = None) -> Definition:
    return Definition(kind_of(obj), obj.name, str(definition(via)) if via is not None else "")  # type: ignore[attr-defined]


def implicit_writes(obj: object) -> list:
    """The objects Feast's apply also writes when it applies ``obj`` (feature_store.apply)."""
    written = []
    if isinstance(obj, FeatureView):
        written += [obj.batch_source, getattr(obj, "stream_source", None)]
    if isinstance(obj, OnDemandFeatureView):
        written += list(obj.source_request_sources.values())
        if obj.write_to_online_store:
            written += [p.batch_source for p in obj.source_feature_view_projections.values()]
    written += [getattr(source, "batch_source", None) for source in written]
    return [source for source in written if source is not None]


def with_implicit_writes(objects: list) -> list:
    """``objects`` and everything Feast's apply writes along with them."""
    return [*objects, *(written for obj in objects for written in implicit_writes(obj))]


def platform_state(objects: list) -> PlatformState:
    """The views, entities and sources among ``objects``, as the dependency rules see them."""
    views = {
        obj.name: ViewShape(
            name=obj.name,
            features=frozenset(feature.name for feature in obj.features),
            entities=frozenset(name for name in obj.entities if name not in INTERNAL_NAMES),
            sources=frozenset(source.name for source in implicit_writes(obj)),
        )
        for obj in objects
        if kind_of(obj) in (FEATURE_VIEW, STREAM_FEATURE_VIEW)
    }
    return PlatformState(
        views=views,
        entities=frozenset(obj.name for obj in objects if kind_of(obj) == ENTITY),
        sources=frozenset(obj.name for obj in objects if kind_of(obj) == DATA_SOURCE),
    )


def usages(objects: list, owner: str) -> list[Usage]:
    """What the services and ODFVs among ``objects`` read from other views."""
    found = []
    for obj in objects:
        kind = kind_of(obj)
        if kind == FEATURE_SERVICE:
            projections = obj.feature_view_projections
        elif kind == ON_DEMAND_FEATURE_VIEW:
            projections = obj.source_feature_view_projections.values()
        else:
            continue
        found += [
            Usage(definition(obj), owner, p.name, frozenset(f.name for f in p.features))
            for p in projections
        ]
    return found


def view_shape(view) -> ViewShape:
    return ViewShape(view.name, frozenset(feature.name for feature in view.features))
