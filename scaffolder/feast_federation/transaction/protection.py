"""Delete protection: a write may not take away what a team's services and ODFVs read.

Checked on every write whose plan holds the whole project (a platform sync, a restore from
a snapshot or from the log, an adoption): the registry before the write against the
registry the write would leave. A team object the write leaves in place (or puts back)
that reads a view, a feature of it, or the entity or source a view needs, which the write
removes, is a breakage. A usage already broken before the write is audit's business.
"""

from __future__ import annotations

from feast_federation.registry.kinds import as_stored, kind_of, with_implicit_writes
from feast_federation.registry.lookups import platform_state_of, team_usages_of
from feast_federation.rules.kinds import BY_NAME
from feast_federation.rules.ownership import (
    DATA_SOURCE,
    ENTITY,
    FEATURE_SERVICE,
    FEATURE_VIEW,
    ON_DEMAND_FEATURE_VIEW,
    STREAM_FEATURE_VIEW,
    breakages,
    views_at_risk,
)
from feast_federation.transaction.plans import Plan

# What the dependency rules read: views, what they need, and what teams read them with.
_RELEVANT = frozenset(
    BY_NAME[kind].collection
    for kind in (
        FEATURE_VIEW, STREAM_FEATURE_VIEW, ENTITY, DATA_SOURCE, FEATURE_SERVICE,
        ON_DEMAND_FEATURE_VIEW,
    )
)  # fmt: skip


def broken_by(plan: Plan, project: str) -> list[str]:
    """One line per team breakage the plan's write would cause; none for team writes."""
    if plan.protects is None:
        return []
    before = {key: item for key, item in plan.held.items() if key[0] in _RELEVANT}
    after = dict(before)
    for obj in plan.to_delete:
        after.pop((_collection(obj), obj.name), None)
    relevant = [obj for obj in with_implicit_writes(plan.to_apply) if _collection(obj)]
    after.update(as_stored(relevant, project))
    old, new = platform_state_of(before), platform_state_of(after)
    at_risk = views_at_risk(old, new)
    if not at_risk:  # most syncs: no view loses anything, and no team usage is read
        return []
    usages = [usage for usage in team_usages_of(after, plan.protects) if usage.view in at_risk]
    return breakages(usages, before=old, after=new)


def _collection(obj) -> str | None:
    """The registry collection of ``obj`` where the dependency rules read it, else None."""
    kind = BY_NAME.get(kind_of(obj))
    return kind.collection if kind is not None and kind.collection in _RELEVANT else None
