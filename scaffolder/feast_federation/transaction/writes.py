"""Carrying out a checked plan: the only code that writes the shared registry.

Objects are written kind by kind in the kind table's order (what is read before its
readers) and deleted in reverse, with one commit. A plan that touches platform kinds goes
through Feast's own apply, which also creates and drops the views' online tables. The
whole write holds one view of the registry (``feast067.held_registry``), and a file-backed
registry is read back afterwards: a write that did not land is an error, not a silence.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timezone

from feast_federation.errors import LostWrite
from feast_federation.registry import feast067
from feast_federation.registry.backends import Backend
from feast_federation.registry.intent import (
    PENDING_TAG,
    PROTECTED_TAG,
    project_with_tags,
    unfinished_since,
)
from feast_federation.registry.kinds import as_stored, kind_of, with_implicit_writes
from feast_federation.registry.protos import digest, project_objects
from feast_federation.rules.kinds import BY_NAME, PLATFORM_KINDS, delete_order, write_order
from feast_federation.rules.ownership import ON_DEMAND_FEATURE_VIEW, PLATFORM
from feast_federation.transaction.plans import Plan

REMOVAL_TAG = "feast-federation/remove"
_NAMED = 5  # objects a refusal names before it counts the rest


def carry_out(store, backend: Backend, plan: Plan) -> dict[tuple[str, str], object]:
    """Write ``plan`` and return what it wrote, as stored protos by (collection, name)."""
    with feast067.held_registry(store):  # held already by the transaction; for other callers
        feast067.wrote(store)  # from here on, a whole read of the registry reads it again
        if _needs_feast_apply(plan):
            store.apply(plan.to_apply, objects_to_delete=plan.to_delete, partial=False)
        else:
            _write_objects(store, plan.to_apply)
            if backend.can_delete:
                _delete_objects(store, plan.to_delete)
            else:
                _mark_for_removal(store, plan.to_delete)
            store.registry.commit()
    # Apply's inference has completed the objects: they are what the registry now holds.
    return as_stored(with_implicit_writes(plan.to_apply), store.project)


@contextlib.contextmanager
def one_commit(store, backend: Backend, plan: Plan) -> Iterator[bool]:
    """A team's write and its apply-log entry, made within, committed together on a SQL
    registry (``feast067.one_sql_transaction``): all or nothing, and one commit for the
    disk to wait on instead of one per object and one for the log. Yields whether they
    are. Not a platform sync: Feast's own apply creates online tables beside the registry,
    and the sync's marks in the registry are read back as it goes."""
    if plan.owner == PLATFORM or _needs_feast_apply(plan):
        yield False
        return
    log = backend.log()
    if log is not None:
        log.prepare()
    with feast067.one_sql_transaction(store) as together:
        yield together


def _needs_feast_apply(plan: Plan) -> bool:
    """Platform kinds have online tables and inference that only Feast's apply handles."""
    return any(kind_of(obj) in PLATFORM_KINDS for obj in [*plan.to_apply, *plan.to_delete])


def _write_objects(store, objects: list) -> None:
    """Team kinds and Permissions, one by one, as ``FeatureStore.apply(partial=True)``
    would write them, without its closing refresh of the whole registry (at org scale the
    refresh costs more than the write). The plan has validated and inferred them."""
    odfvs = [obj for obj in objects if kind_of(obj) == ON_DEMAND_FEATURE_VIEW]
    if odfvs:
        feast067.validate_on_demand_views(store, odfvs)
    for obj in sorted(objects, key=lambda o: write_order(kind_of(o))):
        writer = getattr(store.registry, BY_NAME[kind_of(obj)].writer)
        writer(obj, store.project, commit=False)


def _delete_objects(store, objects: list) -> None:
    # Services before the ODFVs they use, ODFVs before their request sources.
    for obj in sorted(objects, key=lambda o: delete_order(kind_of(o))):
        deleter = getattr(store.registry, BY_NAME[kind_of(obj)].deleter)
        deleter(obj.name, store.project, commit=False)


def _mark_for_removal(store, objects: list) -> None:
    """Through a registry server teams hold no DELETE: tag orphans for the platform sync.

    Marking is an UPDATE of the team's own objects, which its role may do; the next
    platform sync, the only deleter, removes them and logs it.
    """
    for obj in objects:
        obj.tags = {**obj.tags, REMOVAL_TAG: "true"}
    _write_objects(store, objects)


# --- a platform sync's intent, recorded in the registry before it writes -----------------


def record_sync_start(store, actor: str) -> None:
    """Tag the project before a sync writes: every runner of the org reads the registry,
    so the next plan anywhere reports a sync killed before its online tables existed."""
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    mark = {PROTECTED_TAG: "true", PENDING_TAG: f"{started} by {actor}"}
    _tag_project(store, lambda tags: {**tags, **mark})


def record_sync_end(store) -> None:
    if unfinished_since(store) is None:
        return
    _tag_project(store, lambda tags: {k: v for k, v in tags.items() if k != PENDING_TAG})


def _tag_project(store, change) -> None:
    project = project_with_tags(store, change)
    if project is not None:
        feast067.wrote(store)
        store.registry.apply_project(project, commit=True)


# --- reading back what was written --------------------------------------------------------


def verify_written(store, plan: Plan, written: dict) -> None:
    """Read the registry back, bypassing every cache, and refuse what did not land."""
    stored = project_objects(feast067.stored_proto(store), store.project)
    problems = [f"{_kind(key, item)} {key[1]} is missing" for key, item in written.items()
                if key not in stored]  # fmt: skip
    problems += [
        f"{_kind(key, item)} {key[1]} differs from what was written"
        for key, item in written.items()
        if key in stored and digest(stored[key]) != digest(item)
    ]
    for obj in plan.to_delete:
        key = (BY_NAME[kind_of(obj)].collection, obj.name)
        if key in stored and key not in written:
            problems.append(f"{kind_of(obj)} {obj.name} is still there")
    if problems:
        more = f" (and {len(problems) - _NAMED} more)" if len(problems) > _NAMED else ""
        raise LostWrite(
            f"the registry, read back after the write, does not hold what was written: "
            f"{'; '.join(problems[:_NAMED])}{more}"
        )


def _kind(key: tuple[str, str], proto) -> str:
    from feast_federation.registry.kinds import kind_of_proto

    return kind_of_proto(key[0], proto)
