"""The steps every plan shares: what Feast writes along with each object, Feast's own
inference on copies, and the diff between what a repo wants and what the registry holds."""

from __future__ import annotations

import copy
from dataclasses import replace

from feast_federation.errors import FederationError, RefusedError
from feast_federation.registry.definitions import infer_on_demand_views, whole_line
from feast_federation.registry.feast067 import make_inferences
from feast_federation.registry.kinds import (
    definition,
    implicit_writes,
    kind_of,
    proto_of,
)
from feast_federation.registry.protos import changed_values, digest
from feast_federation.registry.versions import version_change
from feast_federation.rules.ownership import ON_DEMAND_FEATURE_VIEW, Definition
from feast_federation.transaction.plans import (
    ADD,
    DELETE,
    UNCHANGED,
    UPDATE,
    Change,
    Plan,
    change_order,
    object_key,
)


def with_implicit_writes(objects: list) -> list[tuple[Definition, object]]:
    """Each object Feast will write for ``objects``, once, with its Definition."""
    seen: dict[tuple[str, str], object] = {}
    result = []
    for obj in objects:
        for item, via in [(obj, None), *((written, obj) for written in implicit_writes(obj))]:
            key = (kind_of(item), item.name)
            if key in seen:
                if seen[key] is not item and seen[key] != item:
                    raise FederationError(f"{key[0]} {key[1]}: defined twice, differently")
                continue
            seen[key] = item
            result.append((definition(item, via), item))
    return result


def refuse(problems: list[str]) -> None:
    if problems:
        raise RefusedError(problems)


def inferred(store, objects: list) -> list:
    """Copies of ``objects`` after Feast's own inference, so they compare like stored ones.

    Copies, because inference mutates and apply will run it again on the originals.
    """
    copies = [copy.copy(obj) for obj in objects]
    by_kind: dict[str, list] = {}
    for obj in copies:
        by_kind.setdefault(kind_of(obj), []).append(obj)
    # One ODFV at a time first: a failure names the ODFV and the field.
    infer_on_demand_views(by_kind.get(ON_DEMAND_FEATURE_VIEW, []))
    try:
        make_inferences(store, by_kind)
    except Exception as exc:  # Feast rejects the definitions themselves: a user error
        raise FederationError(f"Feast cannot infer the definitions: {whole_line(exc)}") from None
    return copies


def diff(owner: str, wanted: list, existing: list) -> Plan:
    """The changes from ``existing`` to ``wanted``; ``to_apply`` holds what to add or update."""
    current = {(kind_of(obj), obj.name): obj for obj in existing}
    changes, to_apply, to_delete = [], [], []
    for obj in wanted:
        key = (kind_of(obj), obj.name)
        if key not in current:
            changes.append(Change(*key, ADD))
            to_apply.append(obj)
            continue
        changed = changed_values(proto_of(obj), proto_of(current.pop(key)))
        changes.append(
            Change(*key, UPDATE, tuple(changed), changed) if changed else Change(*key, UNCHANGED)
        )
        if changed:
            to_apply.append(obj)
    for key, obj in current.items():
        changes.append(Change(*key, DELETE))
        to_delete.append(obj)
    changes.sort(key=change_order)
    return Plan(owner=owner, changes=changes, to_apply=to_apply, to_delete=to_delete)


def with_versions(store, plan_: Plan, wanted: list, existing: list) -> Plan:
    """``plan_`` with each update Feast will record as a new version of a view or ODFV
    showing it: field ``version``, ``{"old": "v1", "new": "v2"}`` (Feast's own rule:
    ``feast067.schema_changed``). ``wanted``: the objects as inferred."""
    new = {(kind_of(obj), obj.name): obj for obj in wanted}
    old = {(kind_of(obj), obj.name): obj for obj in existing}
    changes = []
    for change in plan_.changes:
        key = (change.kind, change.name)
        found = None
        if change.action == UPDATE and key in new and key in old:
            found = version_change(store, new[key], old[key])
        if found is not None:
            values = {**change.values, "version": found}
            change = replace(change, fields=(*change.fields, "version"), values=values)
        changes.append(change)
    plan_.changes = changes
    return plan_


def digests(objects: list) -> dict[str, str]:
    """Each object by ``object_key``, with a digest of what it defines."""
    return {object_key(kind_of(obj), obj.name): digest(proto_of(obj)) for obj in objects}


def held_state(held: dict[str, object | None]) -> dict[str, str | None]:
    """Registry objects by ``object_key`` (None: absent) as digests, for a saved plan."""
    return {key: None if obj is None else digest(proto_of(obj)) for key, obj in held.items()}
