"""Every Feast internal this project relies on, and every patch it makes, in one place.

Checked against Feast 0.67 (``FEAST_SERIES``; pyproject pins ``feast>=0.67,<0.68``). Each
entry says what it reaches into and why; a Feast upgrade starts by re-reading this module
against the new release. Nothing here is installed at import time: the code that opens a
store calls ``install()``, and the feature server calls ``cache_feature_service_lookups()``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime, timedelta, timezone

import feast
from feast import on_demand_feature_view
from feast.infra.registry import proto_registry_utils
from feast.infra.registry.file import FileRegistryStore
from feast.infra.registry.sql import SqlRegistry
from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto

from feast_federation.files import atomic_write, gc_paused

FEAST_SERIES = "0.67"
_installed = False


def install() -> None:
    """Install the patches every store of this process needs (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    FileRegistryStore._write_registry = _write_registry_atomically
    # Feast logs every registry miss at WARNING; a lookup that may miss is normal here.
    logging.getLogger("feast.infra.registry").setLevel(logging.ERROR)
    # A registry server's refusal of a token reaches the client as an unparseable error
    # detail, which Feast logs before server_errors explains it in one line.
    logging.getLogger("feast.errors").setLevel(logging.ERROR)
    # Feast resets warning filters as its modules load, so this comes after them: every
    # apply would otherwise warn that ODFVs are experimental.
    warnings.filterwarnings("ignore", message="On demand feature view is an experimental feature")
    for cls in (feast.FeatureView, feast.StreamFeatureView, feast.OnDemandFeatureView):
        cls.__copy__ = _copy_keeping_version(cls.__copy__)
    on_demand_feature_view.transformation_to_proto = _pickled_once(
        on_demand_feature_view.transformation_to_proto
    )
    # ... and every Spark source or Ray read that their APIs are experimental or will change.
    warnings.filterwarnings("ignore", message="The spark (data source API|offline store) is an")
    warnings.filterwarnings("ignore", message="`columns=` on `read_parquet` is deprecated")


def installed_series() -> str:
    return ".".join(feast.__version__.split(".")[:2])


# --- the file registry's writer ----------------------------------------------------------


def _write_registry_atomically(self: FileRegistryStore, registry_proto) -> None:
    """Feast's own writer (``FileRegistryStore._write_registry``) opens registry.pb "wb" and
    rewrites it in place: a process killed there leaves it empty, and an empty file parses
    as an empty registry. This one writes beside it, fsyncs and renames, so a reader or a
    crash sees the old or the new registry. Installed on the class, not on each store:
    Feast opens further stores of its own (for materialization, for the CLI)."""
    registry_proto.version_id = str(uuid.uuid4())
    registry_proto.last_updated.FromDatetime(datetime.now(timezone.utc))
    self._filepath.parent.mkdir(exist_ok=True)
    atomic_write(self._filepath, registry_proto.SerializeToString())


# --- an ODFV's UDF, pickled once while a plan is made ----------------------------------

_transformations: ContextVar[dict | None] = ContextVar("feast_federation_udfs", default=None)


@contextlib.contextmanager
def transformations_remembered() -> Iterator[None]:
    """Within, ``OnDemandFeatureView.to_proto`` pickles each transformation once: a plan's
    ODFV and the copy it infers share theirs (``OnDemandFeatureView.__copy__``), and each
    ``to_proto`` pickled the UDF again (dill, about 1 ms). Only while no UDF changes."""
    token = _transformations.set({})
    try:
        yield
    finally:
        _transformations.reset(token)


def _pickled_once(transformation_to_proto):
    def remembered(transformation):
        made = _transformations.get()
        if made is None or transformation is None:
            return transformation_to_proto(transformation)
        found = made.get(id(transformation))
        if found is None:  # the transformation kept: its id stays its own
            found = (transformation, transformation_to_proto(transformation))
            made[id(transformation)] = found
        return found[1]

    return remembered


# --- feature-view versions ---------------------------------------------------------------


def _copy_keeping_version(copy_view):
    """``__copy__`` of Feast 0.67's view classes leaves ``current_version_number`` out, and
    ``with_projection`` (every FeatureService and ODFV read) copies the view: with
    ``enable_online_feature_view_versioning`` on, an unpinned read then goes to the v0
    online table, stale after a schema change. The copy keeps the number."""

    def copy_keeping_version(self):
        copied = copy_view(self)
        copied.current_version_number = getattr(self, "current_version_number", None)
        return copied

    return copy_keeping_version


def schema_changed(new, old) -> bool:
    """Feast's own rule for a new version (``_schema_or_udf_changed``): features, entities,
    entity columns, source views; an ODFV's UDF, mode and sources."""
    return new._schema_or_udf_changed(old)


def pending_references(service) -> list[str]:
    """The string references of a FeatureService not yet resolved (``_pending_feature_refs``,
    filled by ``__init__`` and emptied by ``resolve_pending_refs``)."""
    return list(getattr(service, "_pending_feature_refs", None) or [])


class _Found:
    """The registry calls ``FeatureService.resolve_pending_refs`` makes, answered from views
    already looked up (and checked) by the caller."""

    def __init__(self, views: dict, snapshots: dict):
        self.views, self.snapshots = views, snapshots

    def get_any_feature_view(self, name, project, allow_cache=False):
        return self.views[name]

    def get_feature_view_by_version(self, name, project, version_number, allow_cache=False):
        return self.snapshots[(name, version_number)]


def resolve_references(service, project: str, views: dict, snapshots: dict) -> None:
    """Feast's own resolution of the service's string references into projections, from
    ``views`` (by name) and ``snapshots`` (by name and version number) the caller found."""
    service.resolve_pending_refs(project, _Found(views, snapshots), views)


# --- inference and validation, on objects not yet applied --------------------------------


def make_inferences(store, by_kind: dict[str, list]) -> None:
    """``FeatureStore._make_inferences``: what apply infers (entity columns, schemas), run
    on copies so that a plan compares them with what the registry stores."""
    store._make_inferences(
        by_kind.get("DataSource", []) + by_kind.get("RequestSource", []),
        by_kind.get("Entity", []),
        by_kind.get("FeatureView", []),
        by_kind.get("OnDemandFeatureView", []),
        by_kind.get("StreamFeatureView", []),
        by_kind.get("FeatureService", []),
        by_kind.get("LabelView", []),
    )


def odfv_sample_input(odfv) -> dict:
    """The random input Feast's inference runs an ODFV's UDF on
    (``OnDemandFeatureView._construct_random_input``): one column per input field."""
    return odfv._construct_random_input(singleton=odfv.singleton)


def odfv_returned_fields(odfv) -> list:
    """The fields an ODFV's UDF returns on Feast's random input, typed as inference types
    them (``feature_transformation.infer_features``)."""
    return odfv.feature_transformation.infer_features(
        random_input=odfv_sample_input(odfv), singleton=odfv.singleton
    )


def odfv_returns_field(odfv, field, returned: list) -> bool:
    """Whether inference accepts declared ``field`` among ``returned``
    (``OnDemandFeatureView._feature_exists_in_inferred``: lists match by name)."""
    return odfv._feature_exists_in_inferred(field, returned)


def odfv_as_served(odfv):
    """``odfv`` rebuilt from its proto as a feature server rebuilds it, or None when its
    UDF's source does not rebuild (Feast then falls back to the pickled function, which a
    server without the repo's modules cannot load). Feast execs the source in a namespace
    holding only pandas and numpy (``transformation.udf_rehydrate``, whose namespace is
    named ``feast_udf_rehydrate``), in this process as in any other: a module-level name
    fails here as it fails when served."""
    from feast.on_demand_feature_view import OnDemandFeatureView

    rebuilt = OnDemandFeatureView.from_proto(odfv.to_proto())
    namespace = getattr(rebuilt.feature_transformation.udf, "__globals__", {})
    return rebuilt if namespace.get("__name__") == "feast_udf_rehydrate" else None


def validate_on_demand_views(store, odfvs: list) -> None:
    """``FeatureStore._validate_all_feature_views`` for ODFVs, as apply runs it, for writes
    that go object by object instead of through ``FeatureStore.apply``."""
    store._validate_all_feature_views([], odfvs, [], [])


# --- reading a SQL registry whole only when a command needs it --------------------------


def read_registry_on_first_use(store) -> None:
    """Give ``store`` a SQL registry that is not read whole as it is created.

    Feast's ``CachingRegistry.__init__`` fills its cache with ``proto()``, every row of
    every table: at 10,000 teams 70,000 objects, about a second, paid by every command,
    and again by those that then read the registry under its lock (audit, the platform
    plan). A team's plan and apply read objects by name and need none of it. Here the
    cache starts empty and stale, so the first cached read fills it (``cache_mode``
    "sync", the default; other modes keep Feast's own registry). The registry is still
    created where Feast creates it, on first use (``FeatureStore.registry``)."""
    config = store.config.registry
    if getattr(config, "registry_type", None) != "sql":
        return
    if getattr(config, "cache_mode", "sync") != "sync":
        return

    def create():
        registry = _SqlRegistryReadOnFirstUse(config, store.config.project, None)
        registry.opening = False
        registry.cached_registry_proto_created = None  # stale: the first cached read fills it
        return registry

    store._create_registry = create


class _SqlRegistryReadOnFirstUse(SqlRegistry):
    opening = True
    # Once reads may be skipped (reread_only_when_changed): the stamps a read saw before
    # its rows, the time it began, and what it read.
    reused: tuple[tuple | None, float, object] | None = None

    def proto(self):
        if self.opening:
            return RegistryProto()
        if self.reused is None or self.purge_feast_metadata:
            with gc_paused():  # 70,000 rows at 10,000 teams
                return _sql_registry_proto(self)
        stamps = _change_stamps(self)
        seen, began, found = self.reused
        if stamps == seen and all(began - second > SETTLED_SECONDS for _, second in stamps):
            return found
        began = time.time()
        with gc_paused():
            found = _sql_registry_proto(self)
        self.reused = (stamps, began, found)
        return found


# How long after a registry's last write a read of it is taken as final. Feast stamps each
# write with its second only: a second write within the same second as a read leaves the
# stamp as that read saw it. Read again until the stamp is older than this (by this
# machine's clock: it also covers writers whose clocks differ from it by up to as much).
SETTLED_SECONDS = 60


def reread_only_when_changed(store) -> None:
    """A refresh of ``store``'s SQL registry gives back the proto it holds, unchanged, when
    no write has stamped the registry since (``feast_metadata``'s last-updated second,
    which Feast sets in the transaction of every object applied or deleted, every
    materialization and infra update) and the read came ``SETTLED_SECONDS`` after the last
    stamp. For the feature server: at 10,000 teams each of its workers re-read 70,000 rows
    every ``registry_ttl_sec`` and on every start, a third of a second holding the GIL
    while requests waited; the same proto also keeps Feast's look-up caches warm (they are
    per proto). Where Feast keeps no stamps (``purge_feast_metadata``) every refresh reads."""
    registry = store.registry
    if isinstance(registry, _SqlRegistryReadOnFirstUse) and registry.reused is None:
        registry.reused = (None, 0.0, None)  # nothing read yet: the first refresh reads


def _change_stamps(registry) -> tuple:
    """Each project's last-updated second, as Feast's writes leave it in ``feast_metadata``."""
    from feast.infra.registry import sql
    from sqlalchemy import select

    table = sql.feast_metadata
    query = select(table.c.project_id, table.c.last_updated_timestamp).where(
        table.c.metadata_key == sql.FeastMetadataKeys.LAST_UPDATED_TIMESTAMP.value
    )
    with registry.read_engine.connect() as connection:
        return tuple(sorted((row[0], int(row[1])) for row in connection.execute(query)))


# The SQL registry's tables in the order ``SqlRegistry.proto`` reads them
# (feast.infra.registry.sql, ``process_project``): each one's proto column and the
# RegistryProto field its objects go in.
_SQL_TABLES = (
    ("entities", "entity_proto", "entities"),
    ("feature_views", "feature_view_proto", "feature_views"),
    ("data_sources", "data_source_proto", "data_sources"),
    ("on_demand_feature_views", "feature_view_proto", "on_demand_feature_views"),
    ("stream_feature_views", "feature_view_proto", "stream_feature_views"),
    ("feature_services", "feature_service_proto", "feature_services"),
    ("saved_datasets", "saved_dataset_proto", "saved_datasets"),
    ("validation_references", "validation_reference_proto", "validation_references"),
    ("permissions", "permission_proto", "permissions"),
    ("label_views", "feature_view_proto", "label_views"),
)


def _sql_registry_proto(registry: SqlRegistry):
    """What ``SqlRegistry.proto`` returns, read at a third of its cost.

    Feast parses each row into a message of its own and then copies it into the
    RegistryProto (``extend``): at 10,000 teams 70,000 messages made twice, most of a
    second. Here each project's rows are laid out as the RegistryProto's own wire format
    (each row's bytes are one element of its repeated field) and parsed in one call, in
    C; then each object is stamped with its project, as Feast stamps it. Held equal to
    Feast's own ``proto()`` by the tests."""
    from feast.infra.registry import sql
    from sqlalchemy import select

    fields = RegistryProto.DESCRIPTOR.fields_by_name
    found = RegistryProto()
    updated = []
    for project in registry.list_projects(allow_cache=False):
        found.projects.extend([project.to_proto()])
        updated.append(project.last_updated_timestamp)
        parts: list[bytes] = []
        with registry.read_engine.begin() as connection:
            for table_name, column, field in _SQL_TABLES:
                table = getattr(sql, table_name)
                key = _varint(fields[field].number << 3 | 2)  # a length-delimited field
                query = select(table.c[column]).where(table.c.project_id == project.name)
                for (data,) in connection.execute(query):
                    parts += (key, _varint(len(data)), data)
        before = {field: len(getattr(found, field)) for _, _, field in _SQL_TABLES}
        found.MergeFromString(b"".join(parts))  # appended after the earlier projects'
        for field, start in before.items():
            _stamp(getattr(found, field)[start:], project.name)
        found.infra.CopyFrom(registry.get_infra(project.name).to_proto())
    if updated:
        found.last_updated.FromDatetime(max(updated))
    # Feast's look-ups cache their answers per (id(proto), version_id, project)
    # (proto_registry_utils): a SQL registry's proto has no version id, and the next
    # refresh's proto may take the freed one's address, so look-ups would answer from the
    # registry as it was (after a schema change, a view without its new version). Each read
    # is told apart.
    found.version_id = str(uuid.uuid4())
    return found


def _varint(value: int) -> bytes:
    """``value`` as a protobuf varint: seven bits a byte, low bits first."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _stamp(items, project: str) -> None:
    """Each object of one RegistryProto field stamped with ``project`` (a spec's, or the
    object's own field for flat protos such as DataSource)."""
    if not items:
        return
    if "spec" in items[0].DESCRIPTOR.fields_by_name:
        for item in items:
            if item.spec.project != project:
                item.spec.project = project
    else:
        for item in items:
            if item.project != project:
                item.project = project


# --- holding one view of the registry for a whole write ----------------------------------


@contextlib.contextmanager
def held_registry(store) -> Iterator[None]:
    """Hold the registry as read now for the duration of a transaction, committed once.

    A file registry (local, S3, GCS) keeps every uncommitted change in its cached proto,
    and each ``apply_*`` first calls ``_prepare_registry_for_changes`` →
    ``get_project(allow_cache=True)``, which reloads the proto from its store once
    ``cache_ttl_seconds`` has passed: a write longer than the TTL silently drops what it
    wrote before (Feast 0.67; a TTL of 0 means "never expires"). Held, the proto is read
    once (the caller holds the registry's lock, so it is the registry) and look-ups read
    it instead of the file (``is_held``). A SQL registry writes each object eagerly and, in
    its "sync" cache mode, re-reads the whole registry after every object: deferred here,
    the cache is marked stale once at the end. Its whole-registry reads (``cached_proto``)
    read the database once for the hold, until a write (``wrote``): at 10,000 teams each
    read is 70,000 rows, and an audit or a platform plan needs the registry several times.
    """
    reg = store.registry
    if getattr(reg, _HELD, False) or getattr(reg, _SNAPSHOT, _NOT_HELD) is not _NOT_HELD:
        yield  # already held by an enclosing transaction step
        return
    is_file = hasattr(reg, "_registry_store")
    deferred = not is_file and getattr(reg, "cache_mode", None) == "sync"
    ttl = reg.cached_registry_proto_ttl if is_file else None
    if is_file:
        reg.refresh(store.project)
        reg.cached_registry_proto_ttl = timedelta(0)
        setattr(reg, _HELD, True)
    if deferred:
        reg.cache_mode = "deferred"
        setattr(reg, _SNAPSHOT, None)  # read on first use
    try:
        yield
    finally:
        if is_file:
            reg.cached_registry_proto_ttl = ttl
            setattr(reg, _HELD, False)
        if deferred:
            reg.cache_mode = "sync"
            reg.cached_registry_proto_created = None  # the next cached read reloads
            setattr(reg, _SNAPSHOT, _NOT_HELD)


_HELD = "_feast_federation_held"
_SNAPSHOT = "_feast_federation_snapshot"
_NOT_HELD = object()


@contextlib.contextmanager
def one_sql_transaction(store) -> Iterator[bool]:
    """Every write to a SQL registry within, made in one database transaction and committed
    once at the end (or none of them, on an error); yields whether it does (False for
    other registries, and within an enclosing one).

    Feast's SQL registry opens a transaction of its own for each object it writes
    (``_apply_object``: ``with self.write_engine.begin()``), and a SQLite commit waits for
    the disk: a team apply's objects and its apply-log entry were a commit each, and the
    log's alone cost as much as the rest of a small apply. Here the registry's write
    engine is, for the duration, one connection whose ``begin()`` joins the transaction
    already open. Reads through the read engine see only what is committed; the callers
    (team writes) read nothing they wrote. The apply-log table must exist before (DDL
    inside the transaction would be undone with it)."""
    registry = store.registry
    engine = getattr(registry, "write_engine", None)
    if engine is None or isinstance(engine, _OneConnection):
        yield False
        return
    with engine.begin() as connection:
        registry.write_engine = _OneConnection(engine, connection)
        try:
            yield True
        finally:
            registry.write_engine = engine


class _OneConnection:
    """A SQL registry's write engine, as ``one_sql_transaction`` lends it: ``begin()`` and
    ``connect()`` give the one connection, inside the transaction already begun; anything
    else is the engine's own."""

    def __init__(self, engine, connection):
        self.engine, self.connection = engine, connection

    @contextlib.contextmanager
    def begin(self):
        yield self.connection

    @contextlib.contextmanager
    def connect(self):
        yield self.connection

    def __getattr__(self, name: str):
        return getattr(self.engine, name)


def wrote(store) -> None:
    """The registry was written: a held SQL registry's next whole read reads the database."""
    reg = store.registry
    if getattr(reg, _SNAPSHOT, _NOT_HELD) is not _NOT_HELD:
        setattr(reg, _SNAPSHOT, None)


def is_held(store) -> bool:
    """Whether look-ups may read the held proto instead of the registry's store."""
    return getattr(store.registry, _HELD, False)


def cached_proto(store):
    """The whole registry as protos, read once (``refresh`` then the cached proto; the held
    proto, in a transaction: a held SQL registry is read on the first call and not again
    until it is written); ODFV UDFs are not rebuilt."""
    reg = store.registry
    if is_held(store):
        return reg.cached_registry_proto
    snapshot = getattr(reg, _SNAPSHOT, _NOT_HELD)
    if snapshot is not _NOT_HELD and snapshot is not None:
        return snapshot
    reg.refresh(store.project)
    if snapshot is None:
        setattr(reg, _SNAPSHOT, reg.cached_registry_proto)
    return reg.cached_registry_proto


def sql_names(store, collections: list[str], prefix: str, names=()) -> dict[str, list[str]]:
    """The names starting with ``prefix`` (or among ``names``) of the project's objects in
    the SQL registry's tables for ``collections`` (``feast.infra.registry.sql``:
    ``feature_services``, ``on_demand_feature_views``, ``data_sources``), read as names
    alone, as a range of the tables' (name, project) key: no object built, no UDF rebuilt,
    no other team's rows read."""
    from feast.infra.registry import sql
    from sqlalchemy import and_, or_, select

    columns = {
        "feature_services": sql.feature_services.c.feature_service_name,
        "on_demand_feature_views": sql.on_demand_feature_views.c.feature_view_name,
        "data_sources": sql.data_sources.c.data_source_name,
    }
    after_prefix = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # the first name past the prefix
    found: dict[str, list[str]] = {}
    with store.registry.read_engine.connect() as connection:
        for collection in collections:
            column = columns[collection]
            named = and_(column >= prefix, column < after_prefix)
            query = select(column).where(
                column.table.c.project_id == store.project,
                or_(named, column.in_(list(names))) if names else named,
            )
            found[collection] = [row[0] for row in connection.execute(query)]
    return found


def on_demand_view_as_stored(store, name: str):
    """The project's ODFV ``name`` with its UDF left as stored (Feast's ``skip_udf``: its
    ``to_proto`` gives the stored transformation back), or FeatureViewNotFoundException.
    A plan compares it and never runs it: unpickling the UDF and pickling it again was
    two thirds of reading it. Through a registry server, Feast's own look-up."""
    from feast.errors import FeatureViewNotFoundException
    from feast.on_demand_feature_view import OnDemandFeatureView

    reg, project = store.registry, store.project
    if isinstance(reg, SqlRegistry):
        from feast.infra.registry import sql
        from feast.protos.feast.core.OnDemandFeatureView_pb2 import (
            OnDemandFeatureView as OnDemandFeatureViewProto,
        )

        return reg._get_object(
            table=sql.on_demand_feature_views, name=name, project=project,
            proto_class=OnDemandFeatureViewProto, python_class=_StoredUdf,
            id_field_name="feature_view_name", proto_field_name="feature_view_proto",
            not_found_exception=FeatureViewNotFoundException,
        )  # fmt: skip
    if getattr(reg, "_registry_store", None) is not None:  # a file registry: read whole anyway
        for item in cached_proto(store).on_demand_feature_views:
            if item.spec.name == name and item.spec.project == project:
                return OnDemandFeatureView.from_proto(item, skip_udf=True)
        raise FeatureViewNotFoundException(name, project=project)
    return reg.get_on_demand_feature_view(name, project, allow_cache=is_held(store))


class _StoredUdf:
    """What ``SqlRegistry._get_object`` builds an ODFV row with: ``from_proto``, UDF kept."""

    @staticmethod
    def from_proto(proto):
        from feast.on_demand_feature_view import OnDemandFeatureView

        return OnDemandFeatureView.from_proto(proto, skip_udf=True)


def stored_proto(store):
    """The registry as its store holds it now, bypassing every cache: what a write left."""
    reg = store.registry
    registry_store = getattr(reg, "_registry_store", None)
    if registry_store is not None:  # a file registry: local, S3 or GCS
        return registry_store.get_registry_proto()
    return reg.proto()  # SQL: built from the database; remote: one RPC


def sql_engines(store):
    """The SQL registry's SQLAlchemy engines (write, read), where the apply log's table lives."""
    return store.registry.write_engine, store.registry.read_engine


def serve_from_timer(store) -> None:
    """Requests never refresh the registry themselves (a 1,000-team refresh would stall
    one): the feature server's own timer does, every ``registry_ttl_sec``. The registry is
    read now if it has not been (``read_registry_on_first_use``), before any request."""
    registry = store.registry
    reread_only_when_changed(store)
    if getattr(registry, "cached_registry_proto_created", True) is None:
        registry.refresh(store.project)
    registry.cached_registry_proto_ttl = timedelta(0)


# --- the feature server's look-ups by name --------------------------------------------------


class IndexedLookup:
    """``lookup(registry_proto, name, project)``, one of Feast 0.67's cached look-ups by name
    (``proto_registry_utils``), answered from an index of the registry proto's names and
    remembered per registry proto.

    Feast's look-up scans every object of its collections and rebuilds the one it finds:
    what ``/get-online-features`` calls for a ``feature_service`` (every service) and for
    each view a service reads (every view, stream view and ODFV before the one it wants).
    With 10,000 teams that was 40 ms on the first request of each service in each worker
    and after each refresh. Here the names of ``collections`` (in Feast's order: the first
    holder of a name wins, as in its scan) are indexed once per registry proto, and the
    object is built by Feast's own look-up from a registry holding only the one found. A
    name the index lacks goes to Feast's scan and is not remembered (an error, or a proto
    changed in place). The proto itself is kept, not its ``id()``: a freed proto's address
    can be reused by a later one.
    """

    def __init__(self, lookup, collections: tuple[str, ...]):
        self.lookup = getattr(lookup, "__wrapped__", lookup)  # Feast's own cache left out
        self.collections = collections
        self.current: tuple[object, dict, dict] = (None, {}, {})  # replaced whole, for threads

    def __call__(self, registry_proto, name: str, project: str):
        index, built = self.indexed(registry_proto)
        key = (project, name)
        if key not in built:
            found = index.get(key)
            if found is None:
                return self.lookup(registry_proto, name, project)
            only = RegistryProto()
            getattr(only, found[0]).append(found[1])
            built[key] = self.lookup(only, name, project)
        return built[key]

    def indexed(self, registry_proto) -> tuple[dict, dict]:
        """The index of ``registry_proto``'s names and the objects built from it so far."""
        current = self.current
        if current[0] is not registry_proto:
            index: dict = {}
            for collection in self.collections:
                for item in getattr(registry_proto, collection):
                    spec = item.spec
                    index.setdefault((spec.project, spec.name), (collection, item))
            current = self.current = (registry_proto, index, {})
        return current[1], current[2]


# What each look-up Feast's feature server makes by name scans, in its order.
_INDEXED = {
    "get_feature_service": ("feature_services",),
    "get_any_feature_view": (
        "feature_views", "stream_feature_views", "on_demand_feature_views", "label_views",
    ),
}  # fmt: skip


def index_lookups_by_name() -> None:
    """Feast's look-ups by name of services and views, indexed (``IndexedLookup``), in this
    process, once."""
    for name, collections in _INDEXED.items():
        lookup = getattr(proto_registry_utils, name)
        if not isinstance(lookup, IndexedLookup):
            setattr(proto_registry_utils, name, IndexedLookup(lookup, collections))


def resolve_services_inline() -> None:
    """Feast's feature server looks a request's ``feature_service`` up in a worker thread
    (``feature_server._get_features``), a thread hop more than a request naming features
    (about 0.2 ms of its 1.7 ms, one client, nothing else running). Served from the
    registry the server holds (``IndexedLookup``, no refresh in a request:
    ``serve_from_timer``) the look-up is a dictionary's, made here in the request's own
    coroutine; the permission check after it is Feast's, as before."""
    from feast import feature_server
    from feast.permissions.action import AuthzedAction
    from feast.permissions.security_manager import assert_permissions

    stock = feature_server._get_features
    if getattr(stock, "inline", False):
        return

    async def _get_features(request, store):
        if not request.feature_service:
            return await stock(request, store)
        service = store.get_feature_service(request.feature_service, allow_cache=True)
        assert_permissions(resource=service, actions=[AuthzedAction.READ_ONLINE])
        return service

    _get_features.inline = True
    feature_server._get_features = _get_features


def prepare_to_serve(store) -> None:
    """What every worker of the feature server would do on its first request, done once
    before they are forked from this process: index the registry's names
    (``IndexedLookup``, the registry read and kept: ``reread_only_when_changed``), resolve
    a request's service in its own coroutine (``resolve_services_inline``), and settle
    whether the online store can read versioned views, which Feast decides by
    importing seven online stores' modules (half a second) on the first read of each
    process. Nothing connects to the online store here."""
    index_lookups_by_name()
    resolve_services_inline()
    registry_proto = store.registry.cached_registry_proto
    if registry_proto is not None:
        for name in _INDEXED:
            getattr(proto_registry_utils, name).indexed(registry_proto)
    online_store = store._get_provider().online_store
    if getattr(online_store, "_versioned_read_supported", None) is None:
        online_store._versioned_read_supported = online_store._is_versioned_read_supported()


# --- Spark and Ray sessions -----------------------------------------------------------------


def configure_spark(config, local_dir) -> None:
    """Make the first Spark session of this process the offline store's, whoever starts it.

    Feast 0.67 starts a session in two places, and the first one of a process wins: the
    offline store from ``offline_store.spark_conf`` (``get_spark_session_or_start_new_with_
    repoconfig``), and the compute engine (``compute_engines/spark/utils.py``,
    ``get_or_create_new_spark_session``), which hands its whole config to ``SparkConf.setAll``
    so that Spark ignores ``batch_engine.spark_conf`` ("Ignoring non-Spark config property:
    spark_conf") and a materialization ran on ``local[*]``, 200 shuffle partitions, the UI on
    port 4040, whatever the offline store said. Both build on ``SparkSession.builder``, which
    starts the JVM with ``PYSPARK_SUBMIT_ARGS``: set here from the offline store's settings
    (nothing is started), unless the caller set it (a session already running keeps its own).

    On this machine (``spark.master`` local), Spark also binds to 127.0.0.1 only, runs
    without its UI, keeps a hive metastore and warehouse under ``local_dir`` (not in the
    working directory, which differs between repos), and runs Python workers with this
    interpreter (which has Feast). Settings the file gives are never overridden.
    """
    if "PYSPARK_SUBMIT_ARGS" in os.environ:
        return
    conf = dict(getattr(config.offline_store, "spark_conf", None) or {})
    master = conf.pop("spark.master", "") or "local[*]"
    # No progress bars or INFO lines between a command's own lines, on a cluster too.
    conf = {"spark.ui.showConsoleProgress": "false", "spark.log.level": "ERROR", **conf}
    if master == "local" or master.startswith("local["):
        conf = {**_local_spark_conf(conf, local_dir), **conf}
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    arguments = ["--master", master]
    for key, value in conf.items():
        arguments += ["--conf", f"{key}={value}"]
    os.environ["PYSPARK_SUBMIT_ARGS"] = shlex.join([*arguments, "pyspark-shell"])


def _local_spark_conf(conf: dict, local_dir) -> dict[str, str]:
    local = {
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": str(os.cpu_count() or 2),
        "spark.default.parallelism": str(os.cpu_count() or 2),
    }
    if conf.get("spark.sql.catalogImplementation") == "hive":
        local_dir.mkdir(parents=True, exist_ok=True)
        metastore = f"jdbc:derby:;databaseName={local_dir / 'metastore_db'};create=true"
        local.update({
            "spark.sql.warehouse.dir": str(local_dir / "spark-warehouse"),
            "spark.hadoop.javax.jdo.option.ConnectionURL": metastore,
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={local_dir}",
        })  # fmt: skip
    return local
