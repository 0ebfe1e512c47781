"""A platform sync's intent, recorded in the registry before it writes.

Feast's apply writes the registry and then creates the online tables; a sync killed in
between leaves a registry that matches the repo and an online store without the tables, and
nothing in the registry says so. The sync therefore tags the project's Feast ``Project``
object first and clears the tag only after the online store is updated: every runner of
the org reads the registry, so the next plan anywhere reports the unfinished sync and the
next apply finishes it.
"""

from __future__ import annotations

from datetime import datetime, timezone

from feast.constants import PROTECTED_PROJECT_TAG
from feast.errors import ProjectObjectNotFoundException
from feast.project import Project

from feast_federation.registry.location import RegistryLocation

PENDING_TAG = "feast-federation/unfinished-sync"


def unfinished_since(store) -> str | None:
    """When and by whom an unfinished sync started, or None when the last one finished."""
    project = _project(store)
    return project.tags.get(PENDING_TAG) if project is not None else None


def record_sync_start(store, actor: str) -> None:
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    # Also Feast's own protection: stock `feast teardown` from any repo then refuses the project.
    protected = {PROTECTED_PROJECT_TAG: "true"}
    _set_tags(store, lambda tags: {**tags, **protected, PENDING_TAG: f"{started} by {actor}"})


def record_sync_end(store) -> None:
    if unfinished_since(store) is not None:
        _set_tags(store, lambda tags: {k: v for k, v in tags.items() if k != PENDING_TAG})


def stored_project(store) -> Project | None:
    """The registry's Project of this store's project, or None."""
    return _project(store)


def _project(store) -> Project | None:
    try:
        return store.registry.get_project(store.project, allow_cache=False)
    except ProjectObjectNotFoundException:
        return None


def _set_tags(store, change) -> None:
    if RegistryLocation.of(store).is_remote:
        # Feast 0.67's registry server fails every ApplyProject: its permission check hands
        # the Project itself to a SQL query ("type 'Project' is not supported"). A sync
        # through the server therefore records no intent; the platform's own pipeline syncs
        # with direct access, which does.
        return
    project = _project(store) or Project(name=store.project)
    project.tags = change(project.tags)
    store.registry.apply_project(project, commit=True)
