"""Reads the shared registry by name, the way a write path can afford at org scale.

Listing every ODFV rebuilds every UDF from source (about 1 s at 1,000 teams), so the team
path looks objects up one by one; only the platform sync and pruning list anything.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from feast import FeatureStore

from feast_federation.registry.feast067 import (
    cached_proto,
    is_held,
    on_demand_view_as_stored,
    sql_names,
)
from feast_federation.registry.kinds import (
    FEAST_NOT_FOUND,
    from_proto,
    kind_of,
    kind_of_proto,
    stored,
)
from feast_federation.registry.location import RegistryLocation
from feast_federation.registry.protos import name_of, project_objects, project_of
from feast_federation.rules.kinds import BY_NAME
from feast_federation.rules.ownership import (
    DATA_SOURCE,
    ENTITY,
    FEATURE_SERVICE,
    FEATURE_VIEW,
    LABEL_VIEW,
    ON_DEMAND_FEATURE_VIEW,
    REQUEST_SOURCE,
    STREAM_FEATURE_VIEW,
)


def get(store: FeatureStore, kind: str, name: str):
    """The registry object of ``kind`` named ``name``, or None."""
    found = _read(store, BY_NAME[kind].getter, name)
    return found if found is not None and kind_of(found) == kind else None


# Feature views of every kind share one name space, read with one call.
_TABLE_GETTERS = {"feature view": "get_any_feature_view"}


def occupant(store: FeatureStore, kind: str, name: str, *, udf: bool = True):
    """Whatever object holds ``name`` in ``kind``'s registry table (of any kind), or None.
    An ODFV found with ``udf=False`` keeps its UDF as stored (``on_demand_view_as_stored``):
    for comparing, not running."""
    if kind == ON_DEMAND_FEATURE_VIEW:  # usually the ODFV itself: one query, not three
        found = get(store, kind, name) if udf else _read(store, _AS_STORED, name)
        if found is not None:
            return found
    spec = BY_NAME[kind]
    return _read(store, _TABLE_GETTERS.get(spec.table, spec.getter), name)


_AS_STORED = "on_demand_view_as_stored"
# Feast's get_any_feature_view reads the feature_views table first: a view found there by
# get_feature_view is its answer too (the platform view a team plan reads twice).
_FIRST_ASKED = {"get_any_feature_view": "get_feature_view"}
_remembered: ContextVar[dict | None] = ContextVar("registry_reads_remembered", default=None)


@contextlib.contextmanager
def reads_remembered() -> Iterator[None]:
    """Within, each by-name read goes to the registry once and later ones get the same
    object: a team plan reads the platform view its modules fetched again for the
    contract check. Only where nothing is written: a transaction's planning step."""
    token = _remembered.set({})
    try:
        yield
    finally:
        _remembered.reset(token)


def _read(store: FeatureStore, getter: str, name: str):
    """``store.registry.<getter>(name)`` (or ``on_demand_view_as_stored``), None where
    Feast finds nothing; once per name within ``reads_remembered``."""
    remembered = _remembered.get()
    key = (id(store), getter, name)
    if remembered is not None:
        if key in remembered:
            return remembered[key]
        first = remembered.get((id(store), _FIRST_ASKED.get(getter), name))
        if first is not None:
            return first
    try:
        if getter == _AS_STORED:
            found = on_demand_view_as_stored(store, name)
        else:
            found = getattr(store.registry, getter)(name, store.project, allow_cache=is_held(store))
    except FEAST_NOT_FOUND:
        found = None
    if remembered is not None:
        remembered[key] = found
    return found


def list_platform_kinds(store: FeatureStore, proto) -> list:
    """Every entity, batch/stream source, feature view, stream view and label view in the
    project, built from ``proto`` (``registry_proto``): only these are rebuilt as Feast
    objects, not the thousands of team objects beside them."""
    kinds = (ENTITY, DATA_SOURCE, FEATURE_VIEW, STREAM_FEATURE_VIEW, LABEL_VIEW)
    return [from_proto(kind, item) for kind in kinds for item in protos_of_kind(store, proto, kind)]


def list_team_kinds(store: FeatureStore, prefix: str, names=()) -> list:
    """The services, ODFVs and request sources in the project named with ``prefix``, or
    one of ``names`` (a team's grandfathered names)."""
    registry, project, cached = store.registry, store.project, is_held(store)
    candidates = [
        *registry.list_feature_services(project, allow_cache=cached),
        *registry.list_on_demand_feature_views(project, allow_cache=cached),
        *(
            source
            for source in registry.list_data_sources(project, allow_cache=cached)
            if kind_of(source) == REQUEST_SOURCE
        ),
    ]
    return [obj for obj in candidates if obj.name.startswith(prefix) or obj.name in names]


def team_names(
    store: FeatureStore, prefix: str, names=(), besides: set[tuple[str, str]] = frozenset()
) -> set[tuple[str, str]] | None:
    """(kind, name) of each service, ODFV and request source in the project named with
    ``prefix`` or one of ``names``, but those in ``besides``; read by name: nothing rebuilt,
    so a team plan can afford it at any org size. None through a registry server, where it
    would cost a read of the whole registry."""
    location = RegistryLocation.of(store)
    if location.is_remote:
        return None
    kinds = (FEATURE_SERVICE, ON_DEMAND_FEATURE_VIEW, REQUEST_SOURCE)
    if location.is_sql and not is_held(store):
        collections = [BY_NAME[kind].collection for kind in kinds[:2]] + ["data_sources"]
        listed = sql_names(store, collections, prefix, names)
        found = {
            (kind, name)
            for kind, collection in zip(kinds[:2], collections, strict=False)
            for name in listed[collection]
        }
        sources = {name for name in listed["data_sources"] if (REQUEST_SOURCE, name) not in besides}
        return (found - set(besides)) | {  # of the sources left, the request sources
            (REQUEST_SOURCE, name)
            for name in sources
            if (held := occupant(store, REQUEST_SOURCE, name)) is not None
            and kind_of(held) == REQUEST_SOURCE
        }
    proto = cached_proto(store)
    return {
        (kind, name_of(item))
        for kind in kinds
        for item in stored(proto, kind)
        if project_of(item) == store.project
        and kind_of_proto(BY_NAME[kind].collection, item) == kind
        and (name_of(item).startswith(prefix) or name_of(item) in names)
    } - set(besides)


def registry_proto(store: FeatureStore):
    """The whole registry as protos, read once; ODFV UDFs are not rebuilt."""
    if RegistryLocation.of(store).is_remote:
        return store.registry.proto()  # one RPC; the server reads its registry
    return cached_proto(store)


def marked_for_removal(store: FeatureStore, proto, tag: str) -> list:
    """Team services, ODFVs and request sources their team tagged for removal."""
    kinds = (FEATURE_SERVICE, REQUEST_SOURCE, ON_DEMAND_FEATURE_VIEW)
    return [
        from_proto(kind, item, skip_udf=True)
        for kind in kinds
        for item in protos_of_kind(store, proto, kind)
        if (item.spec if "spec" in item.DESCRIPTOR.fields_by_name else item).tags.get(tag)
    ]


def protos_of_kind(store: FeatureStore, proto, kind: str) -> list:
    """The protos of ``kind`` in the project (data sources: of that kind only)."""
    collection = BY_NAME[kind].collection
    if RegistryLocation.of(store).is_remote:
        # A registry server rebuilds its proto with each object's to_proto, which leaves
        # the project out of some kinds: only its per-project lists say which are ours.
        lister = getattr(store.registry, f"list_{collection}")
        listed = lister(store.project, allow_cache=False)
        return [item.to_proto() for item in listed if kind_of(item) == kind]
    return [
        item
        for item in stored(proto, kind)
        if project_of(item) == store.project and kind_of_proto(collection, item) == kind
    ]


def team_usages(proto, project: str, policy) -> list:
    """What every team FeatureService and ODFV in ``proto`` reads from other views."""
    return team_usages_of(project_objects(proto, project, _USERS), policy)


def team_usages_of(objects: dict, policy) -> list:
    """What every team FeatureService and ODFV among ``objects`` (``project_objects``'
    form) reads from other views."""
    from feast_federation.rules.ownership import Definition, Usage

    return [
        Usage(Definition(kind, item.spec.name), owner, view, features, version)
        for kind, item, owner in _team_users(objects, policy)
        for view, features, version in _reads(item)
    ]


def team_readers(proto, project: str, policy, views: set[str]) -> dict[tuple[str, str], object]:
    """The team FeatureServices and ODFVs in ``proto`` that read any of ``views``, as protos."""
    return {
        (kind, item.spec.name): item
        for kind, item, _ in _team_users(project_objects(proto, project, _USERS), policy)
        if {read[0] for read in _reads(item)} & views
    }


_USERS = {
    BY_NAME[FEATURE_SERVICE].collection: FEATURE_SERVICE,
    BY_NAME[ON_DEMAND_FEATURE_VIEW].collection: ON_DEMAND_FEATURE_VIEW,
}


def _team_users(objects: dict, policy):
    """Each team FeatureService and ODFV among ``objects``: (kind, proto, owning team)."""
    from feast_federation.rules.ownership import PLATFORM

    for (collection, name), item in objects.items():
        kind = _USERS.get(collection)
        if kind is not None:
            owner = policy.owner_of(name)
            if owner != PLATFORM:
                yield kind, item, owner


def platform_state_of(objects: dict):
    """The views, entities and sources among ``objects`` (``project_objects``' form), as
    the dependency rules see them: read from the protos, nothing rebuilt."""
    from feast_federation.rules.ownership import INTERNAL_NAMES, PlatformState, ViewShape

    views = {}
    for collection in (BY_NAME[FEATURE_VIEW].collection, BY_NAME[STREAM_FEATURE_VIEW].collection):
        for (where, name), item in objects.items():
            if where != collection:
                continue
            spec = item.spec
            views[name] = ViewShape(
                name=name,
                features=frozenset(feature.name for feature in spec.features),
                entities=frozenset(e for e in spec.entities if e not in INTERNAL_NAMES),
                sources=frozenset(_source_names(spec)),
            )
    entities = BY_NAME[ENTITY].collection
    sources = BY_NAME[DATA_SOURCE].collection
    return PlatformState(
        views=views,
        entities=frozenset(name for (where, name) in objects if where == entities),
        sources=frozenset(
            name
            for (where, name), item in objects.items()
            if where == sources and kind_of_proto(where, item) == DATA_SOURCE
        ),
    )


def _source_names(spec) -> list[str]:
    """The sources a view's apply writes: its batch and stream sources and theirs."""
    names = []
    for field in ("batch_source", "stream_source"):
        if spec.HasField(field):
            source = getattr(spec, field)
            names.append(source.name)
            if source.HasField("batch_source"):
                names.append(source.batch_source.name)
    return [name for name in names if name]


def on_demand_shapes(proto, project: str) -> dict:
    """Each ODFV's output features, read from its proto (the UDF is not rebuilt)."""
    from feast_federation.rules.ownership import ViewShape

    return {
        item.spec.name: ViewShape(item.spec.name, frozenset(f.name for f in item.spec.features))
        for item in proto.on_demand_feature_views
        if item.spec.project == project
    }


def _reads(item) -> list[tuple[str, frozenset[str], int | None]]:
    """What a service or ODFV proto reads: each view, its features and its pinned version."""
    if hasattr(item.spec, "sources"):  # an ODFV: a map of named sources
        reads = []
        for source in item.spec.sources.values():
            which = source.WhichOneof("source")
            if which == "feature_view_projection":
                reads.append(_projection(source.feature_view_projection))
            elif which == "feature_view":
                spec = source.feature_view.spec
                reads.append((spec.name, frozenset(f.name for f in spec.features), None))
        return reads
    return [_projection(projection) for projection in item.spec.features]


def _projection(projection) -> tuple[str, frozenset[str], int | None]:
    version = projection.version_tag if projection.HasField("version_tag") else None
    features = frozenset(c.name for c in projection.feature_columns)
    return projection.feature_view_name, features, version
