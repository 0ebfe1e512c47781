"""The platform contract bound to Feast: contract entries from feature views, and feature
views rebuilt from contract entries for team repos that do not reach the registry."""

from __future__ import annotations

import copy
from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast import types as feast_types
from feast.types import from_value_type

from feast_federation.errors import FederationError
from feast_federation.registry.feast067 import is_held
from feast_federation.registry.versions import contract_versions, pin_refusal_of

# Stands in for the platform's batch source: a contract view is read, never materialized.
_PLACEHOLDER_SOURCE = "platform-contract://{name}"


def view_entry(view: FeatureView, entities: dict[str, Entity]) -> dict:
    """A view as the contract records it: its entities' join keys and types, its fields."""
    return {
        "entities": [_entity_entry(view, name, entities) for name in sorted(view.entities)],
        "fields": {field.name: str(field.dtype) for field in view.features},
        "ttl_seconds": int(view.ttl.total_seconds()) if view.ttl else 0,
    }


def _entity_entry(view: FeatureView, name: str, entities: dict[str, Entity]) -> dict:
    entity = entities.get(name)
    columns = {column.name: column for column in view.entity_columns}
    if entity is not None:
        join_key = entity.join_key
    else:  # an entity the caller did not pass: its view's only key column, if it has one
        join_key = next(iter(columns)) if len(columns) == 1 else name
    value_type = entity.value_type.name if entity is not None else "UNKNOWN"
    if value_type == "UNKNOWN" and join_key in columns:
        value_type = columns[join_key].dtype.to_value_type().name
    return {"name": name, "join_key": join_key, "value_type": value_type}


def view_from_entry(name: str, entry: dict) -> FeatureView:
    """A FeatureView with the contract's entities and fields, for team code and tests."""
    entities = [
        Entity(name=e["name"], join_keys=[e["join_key"]], value_type=ValueType[e["value_type"]])
        for e in entry["entities"]
    ]
    schema = [
        Field(name=e["join_key"], dtype=from_value_type(ValueType[e["value_type"]]))
        for e in entry["entities"]
    ]
    schema += [Field(name=field, dtype=_dtype(text)) for field, text in entry["fields"].items()]
    source = FileSource(
        name=f"{name}__contract_source",
        path=_PLACEHOLDER_SOURCE.format(name=name),
        timestamp_field="event_timestamp",
    )
    return FeatureView(
        name=name, entities=entities, schema=schema, source=source,
        ttl=timedelta(seconds=int(entry.get("ttl_seconds") or 0)),
    )  # fmt: skip


def with_fields(view: FeatureView, fields: dict[str, str]) -> FeatureView:
    """A copy of ``view`` with ``fields`` (name: type as the contract writes it) added."""
    extended = copy.copy(view)
    added = [Field(name=name, dtype=_dtype(text)) for name, text in fields.items()]
    extended.features = [*view.features, *added]
    extended.projection.features = [*extended.projection.features, *added]
    return extended


def _dtype(text: str):
    if text.startswith("Array(") and text.endswith(")"):
        return feast_types.Array(_dtype(text[len("Array(") : -1]))
    dtype = getattr(feast_types, text, None)
    if dtype is None:
        raise FederationError(f"platform contract: unknown Feast type {text!r}")
    return dtype


def contract_views(views, entities) -> dict:
    by_name = {entity.name: entity for entity in entities}
    return {view.name: view_entry(view, by_name) for view in sorted(views, key=lambda v: v.name)}


def registry_contract_views(store) -> dict:
    """Every feature view of the project, as the contract records it; where the org serves
    pinned versions, with the ``versions`` teams may pin."""
    views = store.registry.list_feature_views(store.project, allow_cache=is_held(store))
    entries = contract_views(
        views, store.registry.list_entities(store.project, allow_cache=is_held(store))
    )
    if pin_refusal_of(store) is None:
        for name, versions in contract_versions(store, entries).items():
            entries[name]["versions"] = versions
    return entries


def entities_by_name(store) -> dict[str, Entity]:
    # Not the cache: after a write it is stale, and a cached read would re-read the whole
    # registry (70,000 objects at 10,000 teams) for a handful of entities.
    listed = store.registry.list_entities(store.project, allow_cache=is_held(store))
    return {entity.name: entity for entity in listed}
