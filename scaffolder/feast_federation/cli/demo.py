"""The main job on the embedded local default: the seed's example org, working end to end."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from rich.table import Table

from feast_federation.cli import output
from feast_federation.errors import FederationError

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


def run_demo(directory: Path | None) -> None:
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.ops.orgs import apply_org

    started = time.perf_counter()
    org = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="feast-federation-demo-"))
    teams = ", ".join(team for team, _ in DEMO_TEAMS)
    output.step("1. Bootstrap", f"platform + teams {teams} in {org}")
    platform_dir, team_dirs = bootstrap_org(
        org, project="acme", owners=["platform-team@example.com"], teams=DEMO_TEAMS
    )
    apply_org(platform_dir, team_dirs, output.step, output.step_done, first=2)
    output.step("5. Serve", "online features through each team's FeatureService")
    for team_dir in team_dirs:
        show_online_features(team_dir)
    show_refused_apply(team_dirs[0])
    show_platform_resync(platform_dir, team_dirs)
    output.out.print(
        f"\n[bold green]Done in {time.perf_counter() - started:.1f} s.[/bold green] The org is in ",
        end="",
    )
    output.plain(f"{org}: try `python apply.py --plan` in any repo.")


def show_online_features(team_dir: Path) -> None:
    from feast_federation.ops.orgs import online_features

    def rows_for(service) -> list[dict] | None:
        views = [p.name for p in service.feature_view_projections if p.name in SAMPLE_ROWS]
        return SAMPLE_ROWS[views[0]] if views else None

    for team, service, result in online_features(team_dir, rows_for):
        table = Table(title=f"{service.name} (team {team})", title_justify="left")
        for column in result:
            table.add_column(column, justify="right")
        for index in range(len(rows_for(service))):
            table.add_row(*(_cell(result[column][index]) for column in result))
        output.out.print(table)


def show_refused_apply(team_dir: Path) -> None:
    from feast_federation.ops.orgs import apply_repo_at
    from feast_federation.rules.repo import find_repo

    owner = find_repo(team_dir).owner
    output.step("6. A refused apply", f"team {owner} writes a FeatureService named risk_*")
    mistake = Path(team_dir) / _VIOLATION_FILE
    mistake.write_text(_VIOLATION, encoding="utf-8")
    try:
        apply_repo_at(team_dir)
    except FederationError as exc:
        output.report_error(exc)
    else:  # pragma: no cover - the demo's point is that this cannot happen
        raise FederationError("the planted mistake was applied; ownership checks are broken")
    finally:
        mistake.unlink()


def show_platform_resync(platform_dir: Path, team_dirs) -> None:
    from feast_federation.ops.orgs import apply_repo_at, kept_objects

    output.step("7. Platform re-sync", "a full sync that deletes nothing a team owns")
    output.step_done(apply_repo_at(platform_dir))
    for team_dir in team_dirs:
        team, kept, defined = kept_objects(platform_dir, team_dir)
        output.plain(f"  team {team}: {kept} of {defined} objects kept")


ENVIRONMENTS = ("staging", "production")


def run_environments_demo(directory: Path | None) -> None:
    """Two environments on the local default (two SQLite registries, two online stores): a
    change applied to staging, verified, refused in production before that, then promoted."""
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.ops.diff_env import diff_environments
    from feast_federation.ops.orgs import apply_repo_at, promote_org
    from feast_federation.ops.verify import verify
    from feast_federation.rules.environments import choose
    from feast_federation.rules.repo import find_repo

    started = time.perf_counter()
    org = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="feast-federation-demo-"))
    output.step("1. Bootstrap", f"staging and production, team marketing, in {org}")
    platform_dir, (team_dir,) = bootstrap_org(
        org, project="acme", owners=["platform-team@example.com"], teams=DEMO_TEAMS[:1],
        environments=ENVIRONMENTS,
    )  # fmt: skip
    promote_org(platform_dir, [team_dir], ENVIRONMENTS, output.step, _done)
    output.step("4. A change", "the team changes its service; applied to staging")
    services = team_dir / "feature_services.py"
    services.write_text(
        services.read_text(encoding="utf-8").replace('description="', 'description="v2: ', 1),
        encoding="utf-8",
    )
    choose("staging")
    output.step_done(apply_repo_at(team_dir))
    for owner, changes in diff_environments(find_repo(platform_dir), *ENVIRONMENTS).items():
        for change in changes:
            output.plain(f"  awaiting promotion ({owner}): {change['action']} "
                         f"{change['kind']} {change['name']}")  # fmt: skip
    output.step("5. Production before verification", "the promotion gate refuses it")
    choose("production")
    try:
        apply_repo_at(team_dir)
    except FederationError as exc:
        output.report_error(exc)
    output.step("6. Verify staging, then promote", "online, ODFVs, historical; then production")
    choose("staging")
    _done(verify(find_repo(team_dir)))
    choose("production")
    output.step_done(apply_repo_at(team_dir))
    output.out.print(
        f"\n[bold green]Done in {time.perf_counter() - started:.1f} s.[/bold green] The org is in ",
        end="",
    )
    output.plain(f"{org}: try `feast-federation log platform --env production`.")


def _done(result) -> None:
    if hasattr(result, "digest"):  # a verification
        output.verified(result)
    else:
        output.step_done(result)


def _cell(value: object) -> str:
    if value is None:
        return "[red]null[/red]"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
