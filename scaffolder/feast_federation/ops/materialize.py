"""Loading the platform's views into the online store."""

from __future__ import annotations

import contextlib
import io
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

from feast_federation.errors import FederationError
from feast_federation.registry import open_store
from feast_federation.registry.engines import check_engine
from feast_federation.registry.intent import unfinished_since
from feast_federation.registry.server_errors import translated
from feast_federation.registry.versions import unloaded_versions
from feast_federation.rules.ownership import PLATFORM
from feast_federation.rules.repo import find_repo


def materialize_repo(repo_path: Path, *, quiet: bool = False) -> int:
    """Materialize every feature view up to now; returns how many views were loaded."""
    return len(materialize_views(repo_path, quiet=quiet))


def materialize_views(repo_path: Path, *, quiet: bool = False) -> list[str]:
    """Materialize every feature view incrementally, up to now; returns the views' names
    (scheduled runs list them in their job summary)."""
    store = open_store(find_repo(repo_path).path)
    with translated(store, PLATFORM):  # an engine that fails says so in one line
        return _materialize(store, quiet)


def _materialize(store, quiet: bool) -> list[str]:
    check_engine(store.config)  # Spark without Java, a cluster that does not answer
    # The store is this process's one per config: its cached registry may predate a sync
    # this process made within the cache's TTL, and a view's new version would go unloaded.
    store.refresh_registry()
    since = unfinished_since(store)
    if since is not None:  # its online tables may be missing: materializing would fail
        raise FederationError(
            f"project {store.project}: a platform sync started {since} did not finish; "
            "run the platform apply, then materialize"
        )
    views = store.list_feature_views()
    now = datetime.now(timezone.utc)
    # Feast prints progress bars to stdout; a caller with its own output can silence them.
    # Outside a terminal (a CI log, a pipe) its colours would be raw escape codes.
    if quiet:
        shown = contextlib.redirect_stdout(io.StringIO())
    elif sys.stdout.isatty():
        shown = contextlib.nullcontext()
    else:
        shown = contextlib.redirect_stdout(_Uncoloured(sys.stdout))
    with shown:
        for name, start in unloaded_versions(store, views):  # a new version's empty table
            store.materialize(start_date=start, end_date=now, feature_views=[name])
        store.materialize_incremental(end_date=now)
    return sorted(view.name for view in views)


_ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class _Uncoloured(io.TextIOBase):
    """Writes to ``target`` without terminal escape codes."""

    def __init__(self, target):
        self.target = target

    def write(self, text: str) -> int:
        self.target.write(_ESCAPES.sub("", text))
        return len(text)

    def flush(self) -> None:
        self.target.flush()
