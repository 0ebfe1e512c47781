"""Feature-view versions as Feast 0.67 keeps them, read for plans, checks and the contract.

Feast records a version of every view (and ODFV) whenever its schema changes (v0, v1, ...;
the rule is ``feast067.schema_changed``); a service may pin one (``view@v1``), and then
reads that version's snapshot and its online table. History is append-only: nothing here
writes it. Deleting a view deletes its history in Feast, which is why delete protection
counts a pinned service as a reader of the view.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from feast.errors import FeatureViewVersionNotFound

from feast_federation.errors import FederationError
from feast_federation.registry import feast067
from feast_federation.registry.kinds import from_proto, kind_of, view_shape
from feast_federation.rules.kinds import BY_NAME, KINDS
from feast_federation.rules.ownership import ViewShape
from feast_federation.rules.references import pin_refusal, version_tag

# Kinds Feast versions: every kind of the feature-view table (apply_feature_view).
VERSIONED = frozenset(kind.name for kind in KINDS if kind.table == "feature view")


def pin_refusal_of(store) -> str | None:
    """Why this store cannot serve a pinned version (``rules.references.pin_refusal``)."""
    config = store.config
    online = str(getattr(config.online_store, "type", "sqlite"))
    return pin_refusal(
        _short_store_type(online),
        str(getattr(config.registry, "registry_type", "file")),
        bool(getattr(config.registry, "enable_online_feature_view_versioning", False)),
    )


def _short_store_type(online: str) -> str:
    """An online store's ``type`` as Feast's short name where it is a known class path."""
    from feast.repo_config import ONLINE_STORE_CLASS_FOR_TYPE

    by_class = {path: name for name, path in ONLINE_STORE_CLASS_FOR_TYPE.items()}
    return by_class.get(online, online)


def active_version(view) -> int:
    """The version a view's unpinned readers read (Feast reads ``None`` as v0)."""
    return getattr(view, "current_version_number", None) or 0


def numbers(store, name: str) -> list[int] | None:
    """The versions Feast holds of view ``name``; None where the registry cannot say (a
    registry server, in Feast 0.67)."""
    try:
        found = store.registry.list_feature_view_versions(name, store.project)
    except NotImplementedError:
        return None
    return sorted(record["version_number"] for record in found)


def snapshot(store, name: str, number: int):
    """View ``name`` as its version ``number`` defined it, or None if Feast has no such
    version."""
    try:
        return store.registry.get_feature_view_by_version(
            name, store.project, number, allow_cache=feast067.is_held(store)
        )
    except FeatureViewVersionNotFound:
        return None
    except NotImplementedError:
        raise FederationError(
            f"{name}@{version_tag(number)}: this registry cannot read a view's versions "
            "(a registry server, in Feast 0.67)"
        ) from None


def pinned_shapes(store, usages) -> dict[tuple[str, int], ViewShape | None]:
    """What each pinned version among ``usages`` offers (None: Feast has no such version)."""
    found: dict[tuple[str, int], ViewShape | None] = {}
    for usage in usages:
        key = (usage.view, usage.version)
        if usage.version is not None and key not in found:
            view = snapshot(store, usage.view, usage.version)
            found[key] = None if view is None else view_shape(view)
    return found


def next_version(store, name: str) -> int | None:
    """The number Feast gives view ``name``'s next schema change (a view with no history
    yet becomes v1: Feast records the old definition as v0 first)."""
    held = numbers(store, name)
    if held is None:
        return None
    return held[-1] + 1 if held else 1


def keep_active_versions(objects: list, compared: list, held: dict) -> None:
    """Give each view in ``objects`` the registry's active version where its schema does not
    change (``compared``: the objects as inferred, in the same order; ``held``: the
    registry's objects by collection and name).

    Feast 0.67 applies a change that keeps the schema (a description, a TTL) in place and
    sets the stored view's active version from the applied object, which a repo's fresh
    object leaves unset: the view would drop back to v0, and with versioned reads enabled
    every unpinned reader would read the v0 online table.
    """
    for obj, inferred in zip(objects, compared, strict=True):
        kind = kind_of(obj)
        if kind not in VERSIONED:
            continue
        proto = held.get((BY_NAME[kind].collection, obj.name))
        if proto is None:
            continue
        current = from_proto(kind, proto, skip_udf=True)
        if not feast067.schema_changed(inferred, current):
            obj.current_version_number = current.current_version_number


def version_change(store, new, old) -> dict | None:
    """``{"old": "v1", "new": "v2"}`` when applying ``new`` over the registry's ``old``
    makes Feast record a new version; None when it does not (or the registry cannot say)."""
    if kind_of(new) not in VERSIONED or not feast067.schema_changed(new, old):
        return None
    upcoming = next_version(store, new.name)
    if upcoming is None:
        return None
    return {"old": version_tag(active_version(old)), "new": version_tag(upcoming)}


def contract_versions(store, names) -> dict[str, dict[str, dict[str, str]]]:
    """Each version of each view in ``names`` with its fields and Feast types, as the
    contract records the versions teams may pin."""
    recorded = {}
    for name in names:
        versions = {}
        for number in numbers(store, name) or []:
            view = snapshot(store, name, number)
            if view is not None:
                versions[version_tag(number)] = {f.name: str(f.dtype) for f in view.features}
        recorded[name] = versions
    return recorded


# Feast stores a version's creation time in whole seconds (truncated). A load whose window
# ends within that second may have read the view before the version existed and written
# the old table: only a load ending a second later or more surely loaded the new one (a
# load ends at the moment its command began, before it read the view).
CREATED_TO_THE_SECOND = timedelta(seconds=1)


def unloaded_versions(store, views: list) -> list[tuple[str, datetime]]:
    """Views whose active version's online table nothing has loaded yet, each with where its
    load starts (as Feast's ``materialize_incremental`` starts a view never materialized).

    With versioned reads each version has its own online table, but Feast 0.67 carries a
    view's materialization intervals over to its new version: an incremental load after a
    schema change loads only rows newer than the last load, and the new table stays empty.
    """
    if not getattr(store.config.registry, "enable_online_feature_view_versioning", False):
        return []
    now = datetime.now(timezone.utc)
    found = []
    for view in views:
        active = active_version(view)
        records = {
            record["version_number"]: record["created_timestamp"]
            for record in _records(store, view.name)
        }
        created, loaded = records.get(active), view.most_recent_end_time
        if active == 0 or created is None or loaded is None:
            continue
        if _aware(loaded) >= _aware(created) + CREATED_TO_THE_SECOND:
            continue
        ttl = view.ttl if view.ttl and view.ttl.total_seconds() > 0 else timedelta(weeks=52)
        found.append((view.name, now - ttl))
    return found


def _records(store, name: str) -> list[dict]:
    try:
        return store.registry.list_feature_view_versions(name, store.project)
    except NotImplementedError:
        return []


def _aware(moment: datetime) -> datetime:
    """A time with its zone; Feast reads some registry times back without one (UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
