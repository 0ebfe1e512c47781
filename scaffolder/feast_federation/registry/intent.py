"""A platform sync's intent, as the registry's Feast ``Project`` holds it.

Feast's apply writes the registry and then creates the online tables; a sync killed in
between leaves a registry that matches the repo and an online store without the tables, and
nothing in the registry says so. The sync therefore tags the project's ``Project`` first and
clears the tag only after the online store is updated (``transaction.writes``): every
runner of the org reads the registry, so the next plan anywhere reports the unfinished sync
and the next apply finishes it.
"""

from __future__ import annotations

from collections.abc import Callable

from feast.constants import PROTECTED_PROJECT_TAG
from feast.errors import ProjectObjectNotFoundException
from feast.project import Project

from feast_federation.registry.feast067 import is_held
from feast_federation.registry.location import RegistryLocation

PENDING_TAG = "feast-federation/unfinished-sync"
# Feast's own mark: stock `feast teardown` from any repo refuses a project that has it.
PROTECTED_TAG = PROTECTED_PROJECT_TAG


def unfinished_since(store) -> str | None:
    """When and by whom an unfinished sync started, or None when the last one finished."""
    project = stored_project(store)
    return project.tags.get(PENDING_TAG) if project is not None else None


def stored_project(store) -> Project | None:
    """The registry's Project of this store's project, or None."""
    try:
        return store.registry.get_project(store.project, allow_cache=is_held(store))
    except ProjectObjectNotFoundException:
        return None


def project_with_tags(store, change: Callable[[dict], dict]) -> Project | None:
    """The project as it should be stored with its tags changed; None where the intent
    cannot be recorded.

    Feast 0.67's registry server fails every ApplyProject: its permission check hands the
    Project itself to a SQL query ("type 'Project' is not supported"). A sync through the
    server therefore records no intent; the platform's own pipeline syncs with direct
    access, which does.
    """
    if RegistryLocation.of(store).is_remote:
        return None
    project = stored_project(store) or Project(name=store.project)
    project.tags = change(project.tags)
    return project
