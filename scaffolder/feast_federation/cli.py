"""The ``feast-federation`` command, and the entry point of every generated ``apply.py``.

Commands that bake or register never import Feast; the ones that talk to a registry do,
inside the command.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .choices import OFFLINE_STORES, ONLINE_STORES, REGISTRIES
from .errors import FederationError

app = typer.Typer(
    help="Many teams, one Feast feature store: templates, safe applies, and a demo.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

EXIT_ERROR, EXIT_CHANGES = 1, 2
_INHERITED_HELP = "Checked against the platform's: team repos share its stores."
_ACTION_STYLES = {"add": "green", "update": "yellow", "delete": "red", "unchanged": "dim"}


def main() -> None:
    app()


def user_errors(command: Callable) -> Callable:
    """Turn a FederationError into one line on stderr and exit 1: no traceback for mistakes."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except FederationError as exc:
            report_error(exc)
            raise typer.Exit(EXIT_ERROR) from None

    return wrapper


def report_error(exc: FederationError) -> None:
    from .sync import RefusedError

    if isinstance(exc, RefusedError):
        err.print(f"error: {exc.summary}", style="red", markup=False, soft_wrap=True)
        for problem in exc.problems:
            err.print(f"  {problem}", markup=False, soft_wrap=True)
    else:
        err.print(f"error: {exc}", markup=False, soft_wrap=True, style="red")


# --- repos: plan and apply -------------------------------------------------------------

RepoArg = Annotated[Path, typer.Argument(help="A platform or team repo.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the plan as one JSON object.")]
MarkdownOpt = Annotated[
    bool, typer.Option("--markdown", help="Print the plan as a markdown table (CI job summaries).")
]
PruneOpt = Annotated[
    bool, typer.Option("--prune", help="Team repos: also delete own objects no longer defined.")
]
BreakOpt = Annotated[
    bool,
    typer.Option(
        "--allow-breaking-teams",
        help="Platform repo: carry out a sync that breaks team objects (reported and logged).",
    ),
]


@app.command()
@user_errors
def plan(
    repo: RepoArg,
    json_output: JsonOpt = False,
    markdown: MarkdownOpt = False,
    prune: PruneOpt = False,
    allow_breaking: BreakOpt = False,
) -> None:
    """Show what an apply would change, limited to what the repo owns. Exit 2 if anything."""
    _plan_or_apply(repo, True, _format(json_output, markdown), prune, allow_breaking)


@app.command()
@user_errors
def apply(
    repo: RepoArg,
    json_output: JsonOpt = False,
    markdown: MarkdownOpt = False,
    prune: PruneOpt = False,
    allow_breaking: BreakOpt = False,
) -> None:
    """Apply the repo: a full sync for the platform, a validated partial apply for a team."""
    _plan_or_apply(repo, False, _format(json_output, markdown), prune, allow_breaking)


def run_repo_script(script_file: str) -> None:
    """What a generated ``apply.py`` runs: plan or apply the repo that holds it."""
    repo_path = Path(script_file).resolve().parent

    @user_errors
    def script(
        plan_only: Annotated[
            bool, typer.Option("--plan", help="Show changes, write nothing.")
        ] = False,
        json_output: JsonOpt = False,
        markdown: MarkdownOpt = False,
        prune: PruneOpt = False,
        allow_breaking: BreakOpt = False,
    ) -> None:
        _plan_or_apply(repo_path, plan_only, _format(json_output, markdown), prune, allow_breaking)

    typer.run(script)


def _format(json_output: bool, markdown: bool) -> str:
    if json_output and markdown:
        raise FederationError("choose one of --json and --markdown")
    return "json" if json_output else "markdown" if markdown else "table"


def _plan_or_apply(
    repo_path: Path, plan_only: bool, output: str, prune: bool, allow_breaking: bool
) -> None:
    from . import sync
    from .repo import find_repo

    repo = find_repo(repo_path)
    if prune and repo.is_platform:
        raise FederationError("--prune is for team repos; the platform sync always deletes")
    if allow_breaking and not repo.is_platform:
        raise FederationError("--allow-breaking-teams is for the platform repo")
    run = sync.plan if plan_only else sync.apply
    result = run(repo, prune=prune, allow_breaking=allow_breaking)
    for breakage in result.overridden:
        err.print(
            f"warning: --allow-breaking-teams: {breakage}",
            style="yellow",
            markup=False,
            soft_wrap=True,
        )
    if output == "json":
        print(json.dumps(result.to_json()))
    elif output == "markdown":
        print(markdown_plan(result, applied=not plan_only))
    else:
        print_plan(result, applied=not plan_only)
    if plan_only and result.has_changes:
        raise typer.Exit(EXIT_CHANGES)


def print_plan(result, *, applied: bool) -> None:
    from .ownership import describe_owner

    title = f"{'Applied' if applied else 'Plan'} for {describe_owner(result.owner)}"
    _print_changes([change.to_json() for change in result.changes], title)


def markdown_plan(result, *, applied: bool) -> str:
    """The plan as a GitHub-flavoured markdown table, for a CI job summary."""
    from .ownership import describe_owner

    changed = [c.to_json() for c in result.changes if c.action != "unchanged"]
    title = f"### {'Applied' if applied else 'Plan'} for {describe_owner(result.owner)}"
    if not changed:
        unchanged = len(result.changes)
        return f"{title}\n\nNothing to change ({unchanged} objects up to date)."
    rows = [
        f"| {c['action']} | {c['kind']} | `{c['name']}` | {', '.join(c.get('fields', []))} |"
        for c in changed
    ]
    header = "| action | kind | name | changed fields |\n| --- | --- | --- | --- |"
    return "\n".join([title, "", header, *rows])


def _print_changes(changes: list[dict], title: str) -> None:
    """A table of the changes, coloured by action, and a count of what stays as it is."""
    changed = [change for change in changes if change["action"] != "unchanged"]
    unchanged = len(changes) - len(changed)
    if not changed:
        out.print(f"{title}: nothing to change ({unchanged} objects up to date).")
        return
    table = Table(title=title, title_justify="left")
    for column in ("action", "kind", "name", "changed fields"):
        table.add_column(column)
    for change in changed:
        style = _ACTION_STYLES[change["action"]]
        action = f"[{style}]{change['action']}[/{style}]"
        table.add_row(action, change["kind"], change["name"], ", ".join(change.get("fields", [])))
    out.print(table)
    out.print(f"{len(changed)} to change, {unchanged} unchanged.")


@app.command()
@user_errors
def check(repo: RepoArg) -> None:
    """Check the repo's objects against the federation rules, writing nothing (pre-commit)."""
    from .repo import find_repo
    from .sync import check as check_repo

    problems = check_repo(find_repo(repo))
    for problem in problems:
        err.print(problem, markup=False, soft_wrap=True)
    if problems:
        raise typer.Exit(EXIT_ERROR)
    out.print("The repo follows the federation rules.")


@app.command()
@user_errors
def audit(repo: RepoArg, json_output: JsonOpt = False) -> None:
    """Report registry drift: unowned objects, wrong kinds, dangling references, policy drift.

    Exit 0 when clean, 2 when anything is found, 1 on error.
    """
    from .audit import audit as run_audit
    from .repo import find_repo

    findings = run_audit(find_repo(repo))
    if json_output:
        print(json.dumps({"findings": [finding.to_json() for finding in findings]}))
    elif findings:
        table = Table(title="Registry drift", title_justify="left")
        for column in ("rule", "object", "detail"):
            table.add_column(column)
        for finding in findings:
            table.add_row(f"[red]{finding.rule}[/red]", finding.subject, finding.detail)
        out.print(table)
    else:
        out.print("No drift: the registry holds what the federation put there.")
    if findings:
        raise typer.Exit(EXIT_CHANGES)


@app.command()
@user_errors
def catalog(
    repo: RepoArg,
    output_format: Annotated[
        str, typer.Option("--format", help="markdown, html (one page with search) or json.")
    ] = "markdown",
    output: Annotated[
        Path | None, typer.Option("--output", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """The feature catalog: platform views and their users, team services and ODFVs."""
    from . import catalog as catalogs
    from .repo import find_repo

    renderers = {
        "markdown": catalogs.to_markdown,
        "html": catalogs.to_html,
        "json": catalogs.to_json,
    }
    if output_format not in renderers:
        raise FederationError(f"--format {output_format}: choose markdown, html or json")
    found = find_repo(repo)
    if not found.is_platform:
        raise FederationError(f"{found.path}: the catalog is built from the platform repo")
    text = renderers[output_format](catalogs.build(found))
    if output is None:
        print(text)
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"Wrote the {output_format} catalog to {output}")


# --- backups and the apply log --------------------------------------------------------


@app.command()
@user_errors
def backup(
    repo: RepoArg,
    output: Annotated[Path, typer.Option("--output", help="File to write the snapshot to.")],
) -> None:
    """Write a snapshot of the shared registry's project to a file."""
    from .backup import snapshot
    from .registry import open_store
    from .repo import find_repo

    data = snapshot(open_store(find_repo(repo).path))
    output.write_bytes(data)
    out.print(f"Wrote {len(data)} bytes to {output}")


@app.command()
@user_errors
def restore(
    repo: RepoArg,
    input_file: Annotated[Path, typer.Option("--input", help="A snapshot from backup.")],
    yes: Annotated[bool, typer.Option("--yes", help="Carry out the restore.")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Restore the registry to a snapshot: shows the plan; --yes carries it out."""
    from .backup import restore_registry
    from .repo import find_repo

    if not input_file.is_file():
        raise FederationError(f"{input_file}: no such backup file")
    result = restore_registry(find_repo(repo), input_file.read_bytes(), confirm=yes)
    if json_output:
        print(json.dumps(result.to_json()))
    else:
        _print_changes([c.to_json() for c in result.changes], "Restored" if yes else "Restore plan")
        if result.rematerialize:
            out.print(
                "Re-materialize these views (their online rows are gone): "
                + ", ".join(result.rematerialize)
            )
        if not yes and result.has_changes:
            out.print("Nothing was written; run again with --yes to restore.")
    if not yes and result.has_changes:
        raise typer.Exit(EXIT_CHANGES)


@app.command("log")
@user_errors
def show_log(
    repo: RepoArg,
    json_output: JsonOpt = False,
    team: Annotated[str | None, typer.Option("--team", help="Only this team's entries.")] = None,
) -> None:
    """Show who applied what to the shared registry, oldest first."""
    from . import applylog
    from .registry import open_store
    from .repo import find_repo

    entries = applylog.read(open_store(find_repo(repo).path), owner=team)
    if json_output:
        print(json.dumps(entries))
        return
    table = Table(title="Apply log", title_justify="left")
    for column in ("when", "who", "owner", "action", "changes"):
        table.add_column(column)
    for entry in entries:
        counts = Counter(change["action"] for change in entry["changes"])
        summary = ", ".join(f"{count} {action}" for action, count in sorted(counts.items()))
        table.add_row(entry["at"], entry["actor"], entry["owner"], entry["action"], summary)
    out.print(table)


# --- onboarding: never imports Feast ---------------------------------------------------

OwnerOpt = Annotated[list[str] | None, typer.Option("--owner", help="An owner (repeat for more).")]


@app.command("add-team")
@user_errors
def add_team(
    name: Annotated[str, typer.Argument(help="Team name; its objects are named <name>_*.")],
    platform: Annotated[Path, typer.Option("--platform", help="The platform repo.")],
    owner: OwnerOpt = None,
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", help="Where to create the team repo.")
    ] = None,
    starter_view: Annotated[
        str, typer.Option(help="Platform view the starter ODFV builds on.")
    ] = "user_features",
    registry_server: Annotated[
        str, typer.Option(help="HOST:PORT of the registry server (default: direct access).")
    ] = "",
    ci: Annotated[str, typer.Option(help="github, gitlab or none.")] = "github",
    offline_schema: Annotated[
        str, typer.Option(help="The team's schema (dataset) in the offline store [team name].")
    ] = "",
    registry: Annotated[str | None, typer.Option(help=_INHERITED_HELP)] = None,
    online_store: Annotated[str | None, typer.Option(help=_INHERITED_HELP)] = None,
    offline_store: Annotated[str | None, typer.Option(help=_INHERITED_HELP)] = None,
) -> None:
    """Register a team in federation.yaml and create its repo with the platform's settings."""
    from .onboarding import bake_team

    owners = owner or [f"{name}-leads@example.com"]
    target_dir = output_dir or platform.resolve().parent / "teams"
    repo = bake_team(
        platform, name, owners, target_dir, starter_view, registry_server, ci, offline_schema,
        registry=registry, online_store=online_store, offline_store=offline_store,
    )  # fmt: skip
    out.print(f"Team [bold]{name}[/bold] registered in {platform / 'federation.yaml'}")
    out.print(f"Team repo created at {repo}")
    out.print(
        "Next: the platform applies federation.yaml (python apply.py), then the team applies."
    )


@app.command()
@user_errors
def bootstrap(
    org_dir: Annotated[Path, typer.Argument(help="Directory for the new org (created).")],
    team: Annotated[
        list[str],
        typer.Option(
            "--team", help="A team to create, as NAME or NAME:STARTER_VIEW (repeat for more)."
        ),
    ],
    project: Annotated[str, typer.Option(help="Feast project name.")] = "acme",
    owner: OwnerOpt = None,
    registry: Annotated[str, typer.Option(help=", ".join(REGISTRIES) + ".")] = "sqlite",
    online_store: Annotated[str, typer.Option(help=", ".join(ONLINE_STORES) + ".")] = "sqlite",
    offline_store: Annotated[str, typer.Option(help=", ".join(OFFLINE_STORES) + ".")] = "file",
    postgres_sslmode: Annotated[
        str, typer.Option(help="TLS to PostgreSQL: require, verify-full, prefer or disable.")
    ] = "require",
    registry_server: Annotated[
        str, typer.Option(help="none, oidc or kubernetes: ship a policy-enforcing registry server.")
    ] = "none",
    ci: Annotated[str, typer.Option(help="github, gitlab or none.")] = "github",
    apply_all: Annotated[
        bool, typer.Option("--apply", help="Also sync the platform, materialize, apply teams.")
    ] = False,
) -> None:
    """Create a platform repo and team repos on the embedded local default."""
    from .onboarding import bootstrap_org

    teams = [(name, view or "user_features") for name, _, view in (t.partition(":") for t in team)]
    platform_dir, team_dirs = bootstrap_org(
        org_dir, project, owner or [], teams, registry=registry, registry_server=registry_server,
        ci=ci, online_store=online_store, offline_store=offline_store,
        postgres_sslmode=postgres_sslmode,
    )  # fmt: skip
    out.print(f"Platform repo: {platform_dir}")
    for team_dir in team_dirs:
        out.print(f"Team repo:     {team_dir}")
    if apply_all:
        from .demo import apply_org

        apply_org(platform_dir, team_dirs, out)


@app.command()
@user_errors
def materialize(repo: RepoArg) -> None:
    """Load the latest values of the platform's views into the online store."""
    from .materialize import materialize_repo

    count = materialize_repo(repo)
    out.print(f"Materialized {count} feature views.")


@app.command()
@user_errors
def demo(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where to build the demo org (new).")
    ] = None,
) -> None:
    """Build the example org on the local default and show it working, end to end."""
    from .demo import run_demo

    run_demo(directory, out)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
