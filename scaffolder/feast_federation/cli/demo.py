"""The main job on the embedded local default: the seed's example org, working end to end."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from feast_federation.cli.output import report_error, summarize
from feast_federation.errors import FederationError
from feast_federation.rules.ownership import FEATURE_SERVICE, TEAM_KINDS

DEMO_TEAMS = (("marketing", "customer_features"), ("risk", "user_features"))
# Request data and entity keys for fetching each starter view's service online.
SAMPLE_ROWS = {
    "customer_features": [
        {"customer_id": 3001, "current_cart_value": 120.0},
        {"customer_id": 3002, "current_cart_value": 15.0},
        {"customer_id": 3003, "current_cart_value": 60.0},
    ],
    "user_features": [
        {"user_id": 1001, "transaction_amount": 80.0},
        {"user_id": 1002, "transaction_amount": 450.0},
        {"user_id": 1003, "transaction_amount": 12.5},
    ],
    "driver_stats": [
        {"driver_id": 2001, "trip_distance_km": 3.0},
        {"driver_id": 2002, "trip_distance_km": 42.0},
    ],
}
_VIOLATION_FILE = "demo_mistake.py"
_VIOLATION = '''"""A mistake the demo plants: another team's name, and a view teams may not own."""

from feast import FeatureService

from feast_federation import platform_view

risk_stolen_model = FeatureService(
    name="risk_stolen_model", features=[platform_view("customer_features")]
)
'''


def run_demo(directory: Path | None, console: Console) -> None:
    from feast_federation.onboarding import bootstrap_org

    started = time.perf_counter()
    org = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="feast-federation-demo-"))
    _step(
        console, "1. Bootstrap", f"platform + teams {', '.join(t for t, _ in DEMO_TEAMS)} in {org}"
    )
    platform_dir, team_dirs = bootstrap_org(
        org, project="acme", owners=["platform-team@example.com"], teams=DEMO_TEAMS
    )
    apply_org(platform_dir, team_dirs, console)
    _step(console, "5. Serve", "online features through each team's FeatureService")
    for team_dir in team_dirs:
        show_online_features(team_dir, console)
    show_refused_apply(team_dirs[0], console)
    show_platform_resync(platform_dir, team_dirs, console)
    console.print(
        f"\n[bold green]Done in {time.perf_counter() - started:.1f} s.[/bold green] "
        f"The org is in {org}: try `python apply.py --plan` in any repo."
    )


def apply_org(platform_dir: Path, team_dirs: Sequence[Path], console: Console) -> None:
    from feast_federation import sync
    from feast_federation.ops.materialize import materialize_repo
    from feast_federation.rules.repo import find_repo

    _step(console, "2. Platform sync", "entities, sources, views, and the policy as Permissions")
    _summarize(sync.apply(find_repo(platform_dir)), console)
    _step(console, "3. Materialize", "load the sample data into the online store")
    count = materialize_repo(platform_dir, quiet=True)
    console.print(f"  {count} feature views materialized")
    _step(console, "4. Team applies", "validated partial applies: own objects only")
    for team_dir in team_dirs:
        _summarize(sync.apply(find_repo(team_dir)), console)


def show_online_features(team_dir: Path, console: Console) -> None:
    from feast_federation.registry import open_store
    from feast_federation.registry.kinds import kind_of
    from feast_federation.rules.repo import find_repo
    from feast_federation.sync.collect import collect

    repo = find_repo(team_dir)
    store = open_store(repo.path)
    for service in (obj for obj in collect(repo) if kind_of(obj) == FEATURE_SERVICE):
        service = store.get_feature_service(service.name)
        platform_view = next(
            p.name for p in service.feature_view_projections if p.name in SAMPLE_ROWS
        )
        rows = SAMPLE_ROWS[platform_view]
        result = store.get_online_features(features=service, entity_rows=rows).to_dict()
        table = Table(title=f"{service.name} (team {repo.owner})", title_justify="left")
        for column in result:
            table.add_column(column, justify="right")
        for index in range(len(rows)):
            table.add_row(*(_cell(result[column][index]) for column in result))
        console.print(table)


def show_refused_apply(team_dir: Path, console: Console) -> None:
    from feast_federation import sync
    from feast_federation.rules.repo import find_repo

    repo = find_repo(team_dir)
    _step(console, "6. A refused apply", f"team {repo.owner} writes a FeatureService named risk_*")
    mistake = Path(team_dir) / _VIOLATION_FILE
    mistake.write_text(_VIOLATION, encoding="utf-8")
    try:
        sync.apply(repo)
    except FederationError as exc:
        report_error(exc)
    else:  # pragma: no cover - the demo's point is that this cannot happen
        raise FederationError("the planted mistake was applied; ownership checks are broken")
    finally:
        mistake.unlink()


def show_platform_resync(platform_dir: Path, team_dirs: Sequence[Path], console: Console) -> None:
    from feast_federation import sync
    from feast_federation.registry import open_store
    from feast_federation.rules.repo import find_repo
    from feast_federation.sync.collect import collect

    _step(console, "7. Platform re-sync", "a full sync that deletes nothing a team owns")
    platform = find_repo(platform_dir)
    _summarize(sync.apply(platform), console)
    store = open_store(platform.path)
    for team_dir in team_dirs:
        names = [obj.name for obj in collect(find_repo(team_dir))]
        kept = [name for name in names if _in_registry(store, name)]
        console.print(
            f"  team {find_repo(team_dir).owner}: {len(kept)} of {len(names)} objects kept"
        )


def _in_registry(store, name: str) -> bool:
    from feast_federation.registry import get

    return any(get(store, kind, name) is not None for kind in TEAM_KINDS)


def _summarize(result, console: Console) -> None:
    console.print(f"  {summarize(result)}")


def _step(console: Console, title: str, detail: str) -> None:
    console.print(Panel(f"[bold]{title}[/bold]  {detail}", expand=False))


def _cell(value: object) -> str:
    if value is None:
        return "[red]null[/red]"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
