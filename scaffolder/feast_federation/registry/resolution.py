"""A FeatureService's string references (``"user_features"``, ``"user_features:age"``,
``"user_features@v1:age"``, ``"my_odfv"``), resolved once, right after a repo is collected.

Feast 0.67 resolves them inside its own apply (``FeatureService.resolve_pending_refs``);
until then the service has no projections and ``to_proto()`` raises. Resolved here, with
Feast's own resolution, every later step (ownership, the diff, delete protection, saved
plans, the apply log) reads a string-form service exactly as the object form. Unpinned
references resolve from the repo's own views and ODFVs first, then the registry; pinned ones
from the version's snapshot in the registry. A reference to a view, feature or version that
is not there is refused in one line naming the service, the reference and what is missing.
"""

from __future__ import annotations

from collections.abc import Callable

from feast_federation.errors import RefusedError
from feast_federation.registry import feast067, versions
from feast_federation.registry.kinds import kind_of
from feast_federation.registry.lookups import occupant
from feast_federation.rules.ownership import FEATURE_SERVICE, FEATURE_VIEW
from feast_federation.rules.references import Reference, parse_reference, version_tag
from feast_federation.rules.values import shown


def resolve_string_references(
    store, objects: list, is_own: Callable[[str], bool] = lambda name: False
) -> None:
    """Resolve the string references of every FeatureService among ``objects`` in place;
    ``is_own(name)``: whether a missing name would be the writer's own (no hint to apply
    the platform then)."""
    services = [
        obj
        for obj in objects
        if kind_of(obj) == FEATURE_SERVICE and feast067.pending_references(obj)
    ]
    if not services:
        return
    views = {obj.name: obj for obj in objects if kind_of(obj) in versions.VERSIONED}
    snapshots: dict[tuple[str, int], object] = {}
    problems = []
    for service in services:
        found = [
            _problem(store, service, parse_reference(text), views, snapshots, is_own)
            for text in feast067.pending_references(service)
        ]
        found = [problem for problem in found if problem]
        if found:
            problems += found
        else:
            feast067.resolve_references(service, store.project, views, snapshots)
    if problems:
        raise RefusedError(problems)


def _problem(store, service, ref: Reference, views: dict, snapshots: dict, is_own) -> str:
    """What is missing for ``ref`` to resolve, or ""; what it needs is added to ``views``
    and ``snapshots``."""
    subject = f"FeatureService {service.name}: reference {shown(ref.text)}"
    if ref.version is not None:
        refusal = versions.pin_refusal_of(store)
        if refusal:
            return f"{subject} pins a version, which this org cannot serve: {refusal}"
    if ref.view not in views:
        views[ref.view] = occupant(store, FEATURE_VIEW, ref.view)
    view = views[ref.view]
    if view is None:
        del views[ref.view]
        hint = "" if is_own(ref.view) else " (is the platform applied?)"
        return f"{subject}: no feature view or ODFV {ref.view} in the repo or the registry{hint}"
    read = view
    if ref.version is not None:
        key = (ref.view, ref.version)
        if key not in snapshots:
            snapshots[key] = versions.snapshot(store, ref.view, ref.version)
        read = snapshots[key]
        if read is None:
            del snapshots[key]
            held = ", ".join(version_tag(n) for n in versions.numbers(store, ref.view) or [])
            return (
                f"{subject}: {kind_of(view)} {ref.view} has no version "
                f"{version_tag(ref.version)} (it has {held or 'none'})"
            )
    features = [feature.name for feature in read.features]
    if ref.feature is not None and ref.feature not in features:
        return (
            f"{subject}: {kind_of(view)} {ref.target} has no feature {shown(ref.feature)} "
            f"(it has {', '.join(features) or 'none'})"
        )
    return ""
