"""The ``feast-federation`` command, and the entry point of every generated ``apply.py``.

Commands that bake or register never import Feast; the ones that talk to a registry do,
inside the command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Annotated

import typer

from feast_federation import __version__
from feast_federation.cli.output import (
    note,
    out,
    print_changes,
    print_findings,
    print_json,
    print_log,
    print_problems,
    progress,
    report_error,
    show_plan,
    warn,
)
from feast_federation.errors import FederationError
from feast_federation.onboarding.specs import (
    DEFAULT_FEDERATION_REPO_URL,
    DEFAULT_FEDERATION_REQUIREMENT,
    DEFAULT_REGISTRY_SERVER_ADDRESS,
)
from feast_federation.rules.choices import OFFLINE_STORES, ONLINE_STORES, REGISTRIES, Backends

app = typer.Typer(
    help="Many teams, one Feast feature store: templates, safe applies, and a demo.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        print(f"feast-federation {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Many teams, one Feast feature store: templates, safe applies, and a demo."""


EXIT_ERROR, EXIT_CHANGES = 1, 2
_INHERITED_HELP = "Checked against the platform's: team repos share its stores."


def main() -> None:
    run_app(app, prog_name="feast-federation")


def run_app(command_app: typer.Typer, prog_name: str | None = None) -> None:
    """Run a command with terraform's exit codes: 0 no changes, 2 changes, 1 any error,
    usage errors included (click's own 2 would read as "changes" in a pipeline)."""
    try:
        code = command_app(standalone_mode=False, prog_name=prog_name)
    except typer.Abort:
        code = EXIT_ERROR
    except Exception as exc:
        # Typer ships its own copy of click, so its usage errors are known by class name.
        kinds = {cls.__name__ for cls in type(exc).__mro__}
        if "UsageError" not in kinds:
            raise
        if "NoArgsIsHelpError" not in kinds:  # typer has printed the help for that one
            hint = f" (see {exc.ctx.command_path} --help)" if exc.ctx else ""
            report_error(FederationError(exc.format_message() + hint))
        code = EXIT_ERROR
    sys.exit(code if isinstance(code, int) else 0)


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


# --- repos: plan and apply -------------------------------------------------------------

RepoArg = Annotated[Path, typer.Argument(help="A platform or team repo.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the plan as one JSON object.")]
FindingsJsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the findings as one JSON object.")
]
LogJsonOpt = Annotated[bool, typer.Option("--json", help="Print the entries as a JSON list.")]
RestoreJsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the restore plan as one JSON object.")
]
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

LockTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        min=0,
        metavar="SECONDS",
        help="Give up when another plan or apply holds the registry lock this long.",
    ),
]
_LOCK_TIMEOUT = 300.0  # the registry's DEFAULT_LOCK_TIMEOUT, without importing Feast here


OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        metavar="FILE",
        help="Save the plan to FILE; `apply FILE` carries out exactly it, or refuses if the "
        "registry or the repo changed since.",
    ),
]
YesOpt = Annotated[
    bool,
    typer.Option(
        "--yes", help="Carry out the plan's deletions without asking (required without a TTY)."
    ),
]


@app.command(
    "plan",
    help="Show what an apply would change, limited to what the repo owns. "
    "Exit 0 with nothing to change, 2 with changes, 1 on any error.",
)
@user_errors
def plan_command(
    repo: RepoArg,
    json_output: JsonOpt = False,
    markdown: MarkdownOpt = False,
    prune: PruneOpt = False,
    allow_breaking: BreakOpt = False,
    lock_timeout: LockTimeoutOpt = _LOCK_TIMEOUT,
    out_file: OutOpt = None,
) -> None:
    options = RunOptions(_format(json_output, markdown), prune, allow_breaking, lock_timeout)
    _plan_repo(repo, options, out_file)


@app.command(
    "apply",
    help="Apply the repo (a full sync for the platform, a validated partial apply for a team), "
    "or carry out a plan saved by `plan --out FILE`. Deleting asks first at a terminal; "
    "elsewhere it needs --yes.",
)
@user_errors
def apply_command(
    target: Annotated[
        Path,
        typer.Argument(help="A platform or team repo, or a saved plan file.", show_default=False),
    ],
    json_output: JsonOpt = False,
    markdown: MarkdownOpt = False,
    prune: PruneOpt = False,
    allow_breaking: BreakOpt = False,
    lock_timeout: LockTimeoutOpt = _LOCK_TIMEOUT,
    yes: YesOpt = False,
) -> None:
    options = RunOptions(_format(json_output, markdown), prune, allow_breaking, lock_timeout)
    if target.is_file():
        _apply_saved(target, None, options, yes)
    else:
        _apply_repo(target, options, yes)


def run_repo_script(script_file: str) -> None:
    """What a generated ``apply.py`` runs: plan or apply the repo that holds it."""
    repo_path = Path(script_file).resolve().parent

    @user_errors
    def script(
        saved: Annotated[
            Path | None,
            typer.Argument(
                metavar="[PLAN_FILE]", help="Apply this plan, saved by --plan --out PLAN_FILE."
            ),
        ] = None,
        plan_only: Annotated[
            bool, typer.Option("--plan", help="Show changes, write nothing.")
        ] = False,
        out_file: OutOpt = None,
        yes: YesOpt = False,
        json_output: JsonOpt = False,
        markdown: MarkdownOpt = False,
        prune: PruneOpt = False,
        allow_breaking: BreakOpt = False,
        lock_timeout: LockTimeoutOpt = _LOCK_TIMEOUT,
    ) -> None:
        options = RunOptions(_format(json_output, markdown), prune, allow_breaking, lock_timeout)
        if out_file is not None and not plan_only:
            raise FederationError("--out saves a plan: use it with --plan")
        if saved is not None and plan_only:
            raise FederationError(f"{saved}: a saved plan is applied, not planned; drop --plan")
        if plan_only:
            _plan_repo(repo_path, options, out_file)
        elif saved is not None:
            _apply_saved(saved, repo_path, options, yes)
        else:
            _apply_repo(repo_path, options, yes)

    script_app = typer.Typer(
        add_completion=False, context_settings={"help_option_names": ["-h", "--help"]}
    )
    script_app.command(help="Plan or apply this repo (exit 0 no changes, 2 changes, 1 error).")(
        script
    )
    run_app(script_app)


def _format(json_output: bool, markdown: bool) -> str:
    if json_output and markdown:
        raise FederationError("choose one of --json and --markdown")
    return "json" if json_output else "markdown" if markdown else "table"


@dataclass(frozen=True)
class RunOptions:
    output: str
    prune: bool
    allow_breaking: bool
    lock_timeout: float = _LOCK_TIMEOUT


def _loaded_repo(repo_path: Path, options: RunOptions):
    """The repo, with Feast loaded and the options checked against its kind."""
    from feast_federation.rules.repo import find_repo

    with progress("Loading Feast..."):
        import feast_federation.sync  # noqa: F401 - the slow import, under the spinner
    repo = find_repo(repo_path)
    if options.prune and repo.is_platform:
        raise FederationError("--prune is for team repos; the platform sync always deletes")
    if options.allow_breaking and not repo.is_platform:
        raise FederationError("--allow-breaking-teams is for the platform repo")
    return repo


def _plan_repo(repo_path: Path, options: RunOptions, out_file: Path | None) -> None:
    from feast_federation import sync
    from feast_federation.sync.saved import SavedPlan

    repo = _loaded_repo(repo_path, options)
    with progress(f"Planning {repo.path.name}..."):
        result = sync.plan(
            repo, prune=options.prune, allow_breaking=options.allow_breaking,
            lock_timeout=options.lock_timeout,
        )  # fmt: skip
    show_plan(result, applied=False, output=options.output)
    if out_file is not None:
        saved = SavedPlan.of(
            repo.path, result, prune=options.prune, allow_breaking=options.allow_breaking
        )
        saved.write(out_file)
        note(f"Saved the plan to {out_file}; carry it out with: feast-federation apply {out_file}")
    if result.has_changes:
        raise typer.Exit(EXIT_CHANGES)


def _apply_saved(plan_file: Path, repo_path: Path | None, options: RunOptions, yes: bool):
    """Carry out a saved plan, in ``repo_path`` (apply.py's repo) or the repo it records."""
    from feast_federation.ops.reviewed import stale_plan_advice
    from feast_federation.sync.saved import SavedPlan, StalePlan

    saved = SavedPlan.read(plan_file)
    # Before loading Feast or asking about deletions; the engine checks again for its callers.
    saved.check_options(prune=options.prune, allow_breaking=options.allow_breaking)
    if repo_path is None and not Path(saved.repo).is_dir():
        raise FederationError(
            f"{plan_file}: its repo {saved.repo} is not here; run `python apply.py "
            f"{plan_file}` in the repo's checkout"
        )
    try:
        _apply_repo(repo_path or Path(saved.repo), options, yes, saved)
    except StalePlan as stale:
        advice = stale_plan_advice(os.environ, repo_changed=stale.repo_changed)
        if advice is None:
            raise
        raise stale.advising(advice) from None


def _apply_repo(repo_path: Path, options: RunOptions, yes: bool, saved=None) -> None:
    from feast_federation import sync
    from feast_federation.sync.saved import SavedPlan

    repo = _loaded_repo(repo_path, options)
    run = {"prune": options.prune, "allow_breaking": options.allow_breaking,
           "lock_timeout": options.lock_timeout}  # fmt: skip
    if not yes and _interactive():
        # Plan, ask without holding the registry lock, then apply exactly what was shown.
        if saved is None:
            with progress(f"Planning {repo.path.name}..."):
                planned = sync.plan(repo, **run)
            saved = SavedPlan.of(
                repo.path, planned, prune=options.prune, allow_breaking=options.allow_breaking
            )
        _confirm_deletions(saved.deletions())
        yes = True
    with progress(f"Applying {repo.path.name}..."):
        result = sync.apply(repo, **run, expected=saved, allow_delete=yes)
    for breakage in result.overridden:
        warn(f"--allow-breaking-teams: {breakage}")
    show_plan(result, applied=True, output=options.output)


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _confirm_deletions(deletions: list[dict]) -> None:
    if not deletions:
        return
    print_changes(deletions, "The plan deletes")
    from feast_federation.sync.engine import objects

    if not typer.confirm(f"Delete {objects(len(deletions))}?", default=False):
        raise FederationError("the deletions were not confirmed; nothing was written")


@app.command(
    "reviewed-plan",
    help="In CI on main: fetch the plan that the merged pull (merge) request's check saved, "
    "for `apply.py FILE` to carry out exactly (GitLab: the token is $FEAST_PLAN_TOKEN).",
)
@user_errors
def reviewed_plan(
    out_file: Annotated[
        Path, typer.Option("--out", metavar="FILE", help="Where to write the plan.")
    ],
    plan_job: Annotated[
        str, typer.Option("--plan-job", help="GitLab: the merge-request job that saved it.")
    ] = "check",
) -> None:
    from feast_federation.files import atomic_write
    from feast_federation.ops.reviewed import fetch_reviewed_plan

    plan, origin = fetch_reviewed_plan(os.environ, gitlab_job=plan_job)
    try:
        atomic_write(out_file, plan)
    except OSError as exc:
        raise FederationError(f"{out_file}: cannot write the plan ({exc.strerror})") from None
    note(f"Saved the plan reviewed in {origin} to {out_file}")


OfflineOpt = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Read names and kinds from the source and platform views from the contract: "
        "no Feast, no registry (the pre-commit hook).",
    ),
]


@app.command()
@user_errors
def check(repo: RepoArg, offline: OfflineOpt = False) -> None:
    """Check the repo's objects against the federation rules, writing nothing (pre-commit)."""
    problems = _offline_problems(repo) if offline else _registry_problems(repo)
    print_problems(problems)
    if problems:
        raise typer.Exit(EXIT_ERROR)
    out.print("The repo follows the federation rules.")


def _offline_problems(repo: Path) -> list[str]:
    from feast_federation.rules.source_check import source_problems

    return source_problems(repo)


def _registry_problems(repo: Path) -> list[str]:
    from feast_federation.rules.repo import find_repo
    from feast_federation.sync import check as check_repo
    from feast_federation.testing import odfv_serving_problems

    found = find_repo(repo)
    problems = check_repo(found)
    if not problems and not found.is_platform:
        problems = odfv_serving_problems(found.path)
    return problems


contract_app = typer.Typer(help="The platform contract a team repo reads platform views from.")
app.add_typer(contract_app, name="contract")


@contract_app.command("refresh")
@user_errors
def contract_refresh(repo: RepoArg) -> None:
    """Rewrite the team repo's platform_contract.json from the shared registry."""
    from feast_federation.rules.repo import find_repo
    from feast_federation.sync.contract import refresh_team_contract

    found = find_repo(repo)
    if found.is_platform:
        raise FederationError(
            f"{found.path} is the platform repo: its sync writes its contract; refresh a team repo"
        )
    out.print(f"Wrote {refresh_team_contract(found)}.")


@app.command()
@user_errors
def audit(repo: RepoArg, json_output: FindingsJsonOpt = False) -> None:
    """Report registry drift: unowned objects, wrong kinds, dangling references, policy drift.

    From a team repo: the team's own objects against its apply log, and its services and
    ODFVs that read missing views or features. Exit 0 when clean, 2 when anything is found,
    1 on error.
    """
    from feast_federation.ops.audit import audit as run_audit
    from feast_federation.rules.repo import find_repo

    findings = run_audit(find_repo(repo))
    if json_output:
        print_json({"findings": [finding.to_json() for finding in findings]})
    else:
        print_findings(findings)
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
    """The feature catalog: platform views and their users, team services and ODFVs.

    From a team repo it reads the policy the platform published into the registry.
    """
    from feast_federation.ops import catalog as catalogs
    from feast_federation.rules.repo import find_repo

    renderers = {
        "markdown": catalogs.to_markdown,
        "html": catalogs.to_html,
        "json": catalogs.to_json,
    }
    if output_format not in renderers:
        raise FederationError(f"--format {output_format}: choose markdown, html or json")
    text = renderers[output_format](catalogs.build(find_repo(repo)))
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
    from feast_federation.ops.backup import snapshot, write_backup
    from feast_federation.registry import open_store
    from feast_federation.rules.repo import find_repo

    data = snapshot(open_store(find_repo(repo).path))
    write_backup(output, data)
    out.print(f"Wrote {len(data)} bytes to {output}")


@app.command()
@user_errors
def restore(
    repo: RepoArg,
    input_file: Annotated[
        Path | None, typer.Option("--input", help="A snapshot from backup.")
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="POINT",
            help="An apply-log entry id (see `log`) or an ISO 8601 time: restore the registry "
            "as it was right after that entry, from the apply log.",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Carry out the restore.")] = False,
    json_output: RestoreJsonOpt = False,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Restore a snapshot that holds no object.")
    ] = False,
) -> None:
    """Restore the registry to a snapshot or to a point in the apply log: shows the plan;
    --yes carries it out."""
    from feast_federation.rules.repo import find_repo

    if (input_file is None) == (to is None):
        raise FederationError("restore needs one of --input FILE and --to POINT")
    if to is not None:
        from feast_federation.ops.rewind import restore_to_point

        if allow_empty:
            raise FederationError("--allow-empty is for --input snapshots")
        result = restore_to_point(find_repo(repo), to, confirm=yes)
    else:
        from feast_federation.ops.backup import restore_registry

        if not input_file.is_file():
            raise FederationError(f"{input_file}: no such backup file")
        backup = input_file.read_bytes()
        result = restore_registry(find_repo(repo), backup, confirm=yes, allow_empty=allow_empty)
    if json_output:
        print_json(result.to_json())
    else:
        title = "Restored" if yes else "Restore plan"
        print_changes([c.to_json() for c in result.changes], title, applied=yes)
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
    json_output: LogJsonOpt = False,
    team: Annotated[str | None, typer.Option("--team", help="Only this team's entries.")] = None,
) -> None:
    """Show who applied what to the shared registry, oldest first; `restore --to ID` puts
    the registry back as it was right after an entry."""
    from feast_federation.ops import applylog
    from feast_federation.registry import open_store
    from feast_federation.rules.repo import find_repo

    entries = applylog.read(open_store(find_repo(repo).path), owner=team)
    if json_output:
        print_json([applylog.summary(entry) for entry in entries])
    else:
        print_log(entries)


# --- onboarding: never imports Feast ---------------------------------------------------

OwnerOpt = Annotated[list[str] | None, typer.Option("--owner", help="An owner (repeat for more).")]
_REQUIREMENT_HELP = (
    "How the generated requirements.txt installs feast-federation: a PEP 508 requirement, "
    "e.g. 'feast-federation @ git+https://github.com/acme/feast-federation@v0.2.0'"
)
_REPO_URL_HELP = "Git URL the generated pre-commit hooks come from (tag v<version>)"


def _platform_views(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of --starter-view: the views of the --platform given before it."""
    from feast_federation.onboarding.starters import platform_views

    try:
        views = platform_views(ctx.params.get("platform") or ".")
    except FederationError:
        return []
    return [view for view in views if view.startswith(incomplete)]


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
        str,
        typer.Option(
            help="Platform view the starter ODFV and FeatureService build on: any view of the "
            "platform's platform_contract.json [the first with a bespoke starter, else the "
            "first the generic starter can be built on].",
            show_default=False,
            autocompletion=_platform_views,
        ),
    ] = "",
    registry_server: Annotated[
        str,
        typer.Option(
            help="HOST:PORT of the registry server [the address federation.yaml records, where "
            "the platform runs one; else direct access]."
        ),
    ] = "",
    ci: Annotated[str, typer.Option(help="github, gitlab or none.")] = "github",
    offline_schema: Annotated[
        str, typer.Option(help="The team's schema (dataset) in the offline store [team name].")
    ] = "",
    registry: Annotated[str | None, typer.Option(help=_INHERITED_HELP)] = None,
    online_store: Annotated[str | None, typer.Option(help=_INHERITED_HELP)] = None,
    offline_store: Annotated[str | None, typer.Option(help=_INHERITED_HELP)] = None,
    federation_requirement: Annotated[
        str, typer.Option(help=_REQUIREMENT_HELP + " [the platform repo's].", show_default=False)
    ] = "",
    federation_repo_url: Annotated[
        str, typer.Option(help=_REPO_URL_HELP + " [the platform repo's].", show_default=False)
    ] = "",
) -> None:
    """Register a team in federation.yaml and create its repo with the platform's settings."""
    from feast_federation.onboarding import TeamSpec, bake_team_repo

    spec = TeamSpec.build(
        platform, team=name, owners=owner or [f"{name}-leads@example.com"],
        starter_view=starter_view, registry_server=registry_server, ci=ci,
        offline_schema=offline_schema, registry=registry, online_store=online_store,
        offline_store=offline_store, federation_requirement=federation_requirement,
        federation_repo_url=federation_repo_url,
    )  # fmt: skip
    repo = bake_team_repo(spec, output_dir or spec.platform_dir.parent / "teams")
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
        list[str] | None,
        typer.Option(
            "--team", help="A team to create, as NAME or NAME:STARTER_VIEW (repeat for more)."
        ),
    ] = None,
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
    registry_server_address: Annotated[
        str, typer.Option(help="HOST:PORT where team repos reach the registry server.")
    ] = DEFAULT_REGISTRY_SERVER_ADDRESS,
    ci: Annotated[str, typer.Option(help="github, gitlab or none.")] = "github",
    federation_requirement: Annotated[
        str, typer.Option(help=_REQUIREMENT_HELP + "; team repos inherit it.")
    ] = DEFAULT_FEDERATION_REQUIREMENT,
    federation_repo_url: Annotated[
        str, typer.Option(help=_REPO_URL_HELP + "; team repos inherit it.")
    ] = DEFAULT_FEDERATION_REPO_URL,
    apply_all: Annotated[
        bool, typer.Option("--apply", help="Also sync the platform, materialize, apply teams.")
    ] = False,
) -> None:
    """Create a platform repo and team repos on the embedded local default."""
    from feast_federation.onboarding import PlatformSpec, bake_org

    teams = [
        name if not view else (name, view)
        for name, _, view in (t.partition(":") for t in team or [])
    ]
    spec = PlatformSpec(
        project=project, owners=owner or ["platform-team@example.com"],
        backends=Backends(registry, online_store, offline_store, registry_server), ci=ci,
        postgres_sslmode=postgres_sslmode, registry_server_address=registry_server_address,
        federation_requirement=federation_requirement, federation_repo_url=federation_repo_url,
    )  # fmt: skip
    platform_dir, team_dirs = bake_org(org_dir, spec, teams)
    out.print(f"Platform repo: {platform_dir}")
    for team_dir in team_dirs:
        out.print(f"Team repo:     {team_dir}")
    if apply_all:
        from feast_federation.cli.demo import apply_org

        apply_org(platform_dir, team_dirs, out)


@app.command()
@user_errors
def materialize(repo: RepoArg) -> None:
    """Load the latest values of the platform's views into the online store."""
    from feast_federation.ops.materialize import materialize_views

    views = materialize_views(repo)
    out.print(f"Materialized {len(views)} feature views: {', '.join(views)}", markup=False)


@app.command()
@user_errors
def serve(
    repo: Annotated[Path, typer.Argument(help="The platform repo.", show_default=False)],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 6566,
    workers: Annotated[
        int, typer.Option(min=0, help="Worker processes [0: one per CPU, at least 2].")
    ] = 0,
    max_requests: Annotated[
        int,
        typer.Option(min=0, help="Replace a worker after this many requests (0: never)."),
    ] = 1000,
    max_requests_jitter: Annotated[
        int, typer.Option(min=0, help="Up to this many more, drawn per worker.")
    ] = 500,
    refresh_seconds: Annotated[
        int,
        typer.Option(
            help="Re-read the registry this often: a team's apply is served within about this."
        ),
    ] = 10,
    keep_alive_seconds: Annotated[
        int, typer.Option(min=0, help="Keep idle client connections open this long.")
    ] = 30,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
) -> None:
    """Run Feast's feature server for every team's services, set up for many teams.

    Workers are replaced one at a time without a dropped request; the registry is re-read
    every --refresh-seconds (printed at start); where the org runs a registry server, its
    auth (registry_server.yaml) guards the feature server too.
    """
    from feast_federation.ops.serve import ServeSettings
    from feast_federation.ops.serve import serve as run_server

    settings = ServeSettings(
        host=host, port=port, workers=workers, max_requests=max_requests,
        max_requests_jitter=max_requests_jitter, refresh_seconds=refresh_seconds,
        keep_alive_seconds=keep_alive_seconds, access_log=access_log,
    )  # fmt: skip
    settings.check()  # before Feast loads: a mistake costs no 3 s
    run_server(repo, settings, announce=lambda line: out.print(line, markup=False))


@app.command()
@user_errors
def demo(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where to build the demo org (new).")
    ] = None,
) -> None:
    """Build the example org on the local default and show it working, end to end."""
    from feast_federation.cli.demo import run_demo

    run_demo(directory, out)


@app.command()
@user_errors
def adopt(
    feature_repo: Annotated[Path, typer.Argument(help="The existing feature repo.")],
    org: Annotated[Path, typer.Option("--org", help="Where to write the org (new or empty).")],
    team: Annotated[
        list[str] | None,
        typer.Option("--team", help="NAME=GLOB[,GLOB...]: the team owning matching objects."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the split only.")] = False,
) -> None:
    """Split an existing feature repo into a platform repo and team repos, names kept."""
    from feast_federation.ops.adopt import adopt_repo

    split, platform = adopt_repo(feature_repo, org, team or [], dry_run=dry_run)
    for line in split.lines():
        out.print(line, markup=False)
    if platform is not None:
        out.print(f"Platform repo: {platform}")
        for name in split.teams:
            out.print(f"Team repo:     {org / 'teams' / name}")
