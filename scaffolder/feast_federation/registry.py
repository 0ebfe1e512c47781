"""Reads the shared registry by name, the way a write path can afford at org scale.

Listing every ODFV rebuilds every UDF from source (about 1 s at 1,000 teams), so the team
path looks objects up one by one; only the platform sync and pruning list anything.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

from feast import FeatureStore
from feast.errors import FeastObjectNotFoundException

from .errors import FederationError
from .kinds import kind_of
from .ownership import (
    DATA_SOURCE,
    ENTITY,
    FEATURE_SERVICE,
    FEATURE_VIEW,
    ON_DEMAND_FEATURE_VIEW,
    REQUEST_SOURCE,
    STREAM_FEATURE_VIEW,
)

_stores: dict[tuple[Path, float], FeatureStore] = {}
_UNREACHABLE = ("unable to open database file", "could not connect", "Connection refused")

# Feast logs every registry miss at WARNING; a lookup that may miss is normal here.
logging.getLogger("feast.infra.registry").setLevel(logging.ERROR)
# A registry server's refusal of a token reaches the client as an unparseable error detail,
# which Feast logs before server_errors explains it in one line.
logging.getLogger("feast.errors").setLevel(logging.ERROR)
# Feast resets warning filters as its modules load, so this must come after them: every
# apply would otherwise warn that ODFVs are experimental.
warnings.filterwarnings("ignore", message="On demand feature view is an experimental feature")


def open_store(repo_path: Path) -> FeatureStore:
    """The repo's FeatureStore, one per repo and config version in this process."""
    repo_path = Path(repo_path).resolve()
    config = repo_path / "feature_store.yaml"
    try:
        key = (repo_path, config.stat().st_mtime)
    except FileNotFoundError:
        raise FederationError(f"{config}: not found") from None
    if key not in _stores:
        try:
            _stores[key] = FeatureStore(repo_path=str(repo_path))
        except Exception as exc:  # Feast raises many types for a bad config; all are user errors
            first_line = _first_problem(exc)
            if any(sign in first_line for sign in _UNREACHABLE):
                raise FederationError(
                    f"{config}: the registry is unreachable ({first_line})"
                ) from None
            raise FederationError(f"{config}: Feast cannot load it: {first_line}") from None
    return _stores[key]


def _first_problem(exc: Exception) -> str:
    """One line that says what is wrong: the field for a config validation error."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            return f"{'.'.join(str(part) for part in first['loc']) or 'config'}: {first['msg']}"
        except Exception:
            pass
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if len(lines) >= 3 and re.match(r"\d+ validation errors? for", lines[0]):
        return f"{lines[1]}: {lines[2]}"  # pydantic's text, wrapped by Feast: field, then problem
    return lines[0] if lines else type(exc).__name__


def get(store: FeatureStore, kind: str, name: str):
    """The registry object of ``kind`` named ``name``, or None."""
    registry, project = store.registry, store.project
    getters = {
        ENTITY: registry.get_entity,
        DATA_SOURCE: registry.get_data_source,
        REQUEST_SOURCE: registry.get_data_source,
        FEATURE_VIEW: registry.get_feature_view,
        STREAM_FEATURE_VIEW: registry.get_stream_feature_view,
        ON_DEMAND_FEATURE_VIEW: registry.get_on_demand_feature_view,
        FEATURE_SERVICE: registry.get_feature_service,
    }
    try:
        found = getters[kind](name, project, allow_cache=False)
    except FeastObjectNotFoundException:
        return None
    return found if kind_of(found) == kind else None


def occupant(store: FeatureStore, kind: str, name: str):
    """Whatever object holds ``name`` in ``kind``'s registry table (of any kind), or None."""
    registry, project = store.registry, store.project
    if kind == ON_DEMAND_FEATURE_VIEW:  # usually the ODFV itself: one query, not three
        found = get(store, kind, name)
        if found is not None:
            return found
    lookups = {
        DATA_SOURCE: registry.get_data_source,
        REQUEST_SOURCE: registry.get_data_source,
        FEATURE_VIEW: registry.get_any_feature_view,
        STREAM_FEATURE_VIEW: registry.get_any_feature_view,
        ON_DEMAND_FEATURE_VIEW: registry.get_any_feature_view,
        FEATURE_SERVICE: registry.get_feature_service,
        ENTITY: registry.get_entity,
    }
    try:
        return lookups[kind](name, project, allow_cache=False)
    except FeastObjectNotFoundException:
        return None


def list_platform_kinds(store: FeatureStore) -> list:
    """Every entity, batch/stream source, feature view and stream view in the project."""
    registry, project = store.registry, store.project
    sources = [
        source
        for source in registry.list_data_sources(project, allow_cache=False)
        if kind_of(source) == DATA_SOURCE
    ]
    return [
        *registry.list_entities(project, allow_cache=False),
        *sources,
        *registry.list_feature_views(project, allow_cache=False),
        *registry.list_stream_feature_views(project, allow_cache=False),
    ]


def list_team_kinds(store: FeatureStore, prefix: str) -> list:
    """The services, ODFVs and request sources in the project named with ``prefix``."""
    registry, project = store.registry, store.project
    candidates = [
        *registry.list_feature_services(project, allow_cache=False),
        *registry.list_on_demand_feature_views(project, allow_cache=False),
        *(
            source
            for source in registry.list_data_sources(project, allow_cache=False)
            if kind_of(source) == REQUEST_SOURCE
        ),
    ]
    return [obj for obj in candidates if obj.name.startswith(prefix)]


def registry_proto(store: FeatureStore):
    """The whole registry as protos, read once; ODFV UDFs are not rebuilt."""
    if store.config.registry.registry_type == "remote":
        return store.registry.proto()  # one RPC; the server reads its registry
    store.registry.refresh(store.project)
    return store.registry.cached_registry_proto


def marked_for_removal(store: FeatureStore, proto, tag: str) -> list:
    """Team services, ODFVs and request sources their team tagged for removal."""
    from feast.on_demand_feature_view import OnDemandFeatureView

    reg, project = store.registry, store.project
    marked = [
        *(s for s in reg.list_feature_services(project, allow_cache=False) if s.tags.get(tag)),
        *(
            source
            for source in reg.list_data_sources(project, allow_cache=False)
            if kind_of(source) == REQUEST_SOURCE and source.tags.get(tag)
        ),
        *(
            OnDemandFeatureView.from_proto(item, skip_udf=True)
            for item in proto.on_demand_feature_views
            if item.spec.project == project and item.spec.tags.get(tag)
        ),
    ]
    return marked


def team_usages(proto, project: str, policy) -> list:
    """What every team FeatureService and ODFV in ``proto`` reads from other views."""
    from .ownership import PLATFORM, Definition, Usage

    usages = []
    for kind, items in (
        (FEATURE_SERVICE, proto.feature_services),
        (ON_DEMAND_FEATURE_VIEW, proto.on_demand_feature_views),
    ):
        for item in items:
            owner = policy.owner_of(item.spec.name)
            if item.spec.project != project or owner == PLATFORM:
                continue
            user = Definition(kind, item.spec.name)
            usages += [Usage(user, owner, view, features) for view, features in _reads(item)]
    return usages


def on_demand_shapes(proto, project: str) -> dict:
    """Each ODFV's output features, read from its proto (the UDF is not rebuilt)."""
    from .ownership import ViewShape

    return {
        item.spec.name: ViewShape(item.spec.name, frozenset(f.name for f in item.spec.features))
        for item in proto.on_demand_feature_views
        if item.spec.project == project
    }


def _reads(item) -> list[tuple[str, frozenset[str]]]:
    if hasattr(item.spec, "sources"):  # an ODFV: a map of named sources
        reads = []
        for source in item.spec.sources.values():
            which = source.WhichOneof("source")
            if which == "feature_view_projection":
                reads.append(_projection(source.feature_view_projection))
            elif which == "feature_view":
                spec = source.feature_view.spec
                reads.append((spec.name, frozenset(f.name for f in spec.features)))
        return reads
    return [_projection(projection) for projection in item.spec.features]


def _projection(projection) -> tuple[str, frozenset[str]]:
    return projection.feature_view_name, frozenset(c.name for c in projection.feature_columns)
