"""The kind table (``rules.kinds``) bound to Feast: classes, registry calls, protos."""

from __future__ import annotations

import contextlib
import functools
import importlib
from collections.abc import Iterator
from contextvars import ContextVar

from feast import FeatureView, OnDemandFeatureView
from feast.errors import FeastObjectNotFoundException, PermissionNotFoundException
from feast.labeling.label_view import LabelView
from feast.protos.feast.core.DataSource_pb2 import DataSource as DataSourceProto

from feast_federation.registry.feast067 import transformations_remembered
from feast_federation.registry.protos import stamp_project
from feast_federation.rules.kinds import BY_NAME, KINDS, Kind
from feast_federation.rules.ownership import (
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

# What a registry getter raises for a name it does not hold.
FEAST_NOT_FOUND = (FeastObjectNotFoundException, PermissionNotFoundException)


@functools.cache
def feast_class(kind: Kind) -> type:
    module, name = kind.feast_class.split(":")
    return getattr(importlib.import_module(module), name)


def is_feast_object(value: object) -> bool:
    """Whether ``value`` is an object of one of the kinds a repo defines."""
    return isinstance(value, tuple(feast_class(kind) for kind in KINDS))


def kind_of(obj: object) -> str:
    for kind in KINDS:
        if isinstance(obj, feast_class(kind)):
            return kind.name
    return type(obj).__name__


def stored(proto, kind_name: str):
    """The protos of ``kind_name`` in a RegistryProto (data sources: every kind of source)."""
    return getattr(proto, BY_NAME[kind_name].collection)


def kind_of_proto(collection: str, proto) -> str:
    """The kind of an object stored in a RegistryProto ``collection`` (data sources: a
    RequestSource or any other source)."""
    if collection == _SOURCES:
        return REQUEST_SOURCE if proto.type == _REQUEST_SOURCE_TYPE else DATA_SOURCE
    return _KIND_OF_COLLECTION[collection]


_SOURCES = BY_NAME[REQUEST_SOURCE].collection
_REQUEST_SOURCE_TYPE = DataSourceProto.SourceType.REQUEST_SOURCE
# Each collection's kind, the first of the table's that is stored there (a call per object
# of a 10,000-team registry: looked up, not searched).
_KIND_OF_COLLECTION = {kind.collection: kind.name for kind in reversed(KINDS)}


def as_stored(objects: list, project: str) -> dict[tuple[str, str], object]:
    """``objects`` as the registry stores them: protos stamped with the project, by
    collection and name (the first of two objects with one name wins)."""
    found: dict[tuple[str, str], object] = {}
    for obj in objects:
        key = (BY_NAME[kind_of(obj)].collection, obj.name)
        if key not in found:
            made = proto_of(obj)
            stored_proto = type(made)()
            stored_proto.CopyFrom(made)  # stamped, not the proto others are given
            found[key] = stamp_project(stored_proto, project)
    return found


# --- each object's proto, made once while a plan is made ---------------------------------

_remembered: ContextVar[dict | None] = ContextVar("feast_federation_protos", default=None)


@contextlib.contextmanager
def protos_remembered() -> Iterator[None]:
    """Within, ``proto_of`` makes each object's proto once. For a team plan: its diff, its
    digests, the state a saved plan checks, the log's before-images and the checkout check
    each need the protos of the same few objects, and an ODFV's ``to_proto`` pickles its
    UDF each time (within, once per UDF: its inferred copy shares it). Only while no
    object is changed: not around a write, whose Feast calls stamp timestamps on what
    they write."""
    token = _remembered.set({})
    try:
        with transformations_remembered():
            yield
    finally:
        _remembered.reset(token)


def proto_of(obj):
    """``obj.to_proto()``, made once per object within ``protos_remembered``; callers read
    the proto they get and never change it (``as_stored`` stamps a copy)."""
    made = _remembered.get()
    if made is None:
        return obj.to_proto()
    found = made.get(id(obj))
    if found is None:
        found = made[id(obj)] = (obj, obj.to_proto())  # the object kept: its id stays its own
    return found[1]


def from_proto(kind_name: str, proto, *, skip_udf: bool = False):
    """The Feast object of ``kind_name`` stored as ``proto``; ODFV UDFs rebuilt unless skipped."""
    cls = feast_class(BY_NAME[kind_name])
    if kind_name == ON_DEMAND_FEATURE_VIEW:
        return cls.from_proto(proto, skip_udf=skip_udf)
    return cls.from_proto(proto)


def definition(obj: object, via: object | None = None) -> Definition:
    return Definition(kind_of(obj), obj.name, str(definition(via)) if via is not None else "")  # type: ignore[attr-defined]


def implicit_writes(obj: object) -> list:
    """The objects Feast's apply also writes when it applies ``obj`` (feature_store.apply)."""
    written = []
    if isinstance(obj, FeatureView):
        written += [obj.batch_source, getattr(obj, "stream_source", None)]
    if isinstance(obj, LabelView):
        written += [obj.source]
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
            Usage(
                definition(obj), owner, p.name, frozenset(f.name for f in p.features),
                p.version_tag,
            )
            for p in projections
        ]  # fmt: skip
    return found


def view_shape(view) -> ViewShape:
    return ViewShape(view.name, frozenset(feature.name for feature in view.features))
