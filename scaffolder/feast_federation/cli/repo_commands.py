"""Commands on one repo: plan, apply, check, contract refresh, and the generated apply.py.

Thin: parse the options, call ``ops.runs`` (plan → confirm → apply), show the result.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from feast_federation.cli import output
from feast_federation.cli.app import EXIT_CHANGES, EXIT_ERROR, app, run_app, user_errors
from feast_federation.cli.options import (
    LOCK_TIMEOUT,
    NO_PROMOTE_REFUSAL,
    BreakOpt,
    EnvOpt,
    JsonOpt,
    LockTimeoutOpt,
    MarkdownOpt,
    NoPromoteOpt,
    OutOpt,
    PruneOpt,
    RepoArg,
    SkipPromotionOpt,
    SummaryOpt,
    YesOpt,
    output_format,
)
from feast_federation.errors import FederationError


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
    lock_timeout: LockTimeoutOpt = LOCK_TIMEOUT,
    out_file: OutOpt = None,
    summary: SummaryOpt = None,
    no_promote: NoPromoteOpt = False,
    env: EnvOpt = None,
) -> None:
    shown = output_format(json_output, markdown)
    _start_summary(summary)
    _plan(repo, _options(prune, allow_breaking, lock_timeout, no_promote), shown, out_file, summary)


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
    lock_timeout: LockTimeoutOpt = LOCK_TIMEOUT,
    yes: YesOpt = False,
    summary: SummaryOpt = None,
    no_promote: NoPromoteOpt = False,
    env: EnvOpt = None,
    skip_promotion_check: SkipPromotionOpt = False,
) -> None:
    shown = output_format(json_output, markdown)
    _start_summary(summary)
    options = _options(prune, allow_breaking, lock_timeout, no_promote, skip_promotion_check)
    if target.is_file():
        _apply_saved(target, None, options, shown, yes, summary)
    else:
        _apply(target, options, shown, yes, summary)


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
        lock_timeout: LockTimeoutOpt = LOCK_TIMEOUT,
        summary: SummaryOpt = None,
        no_promote: NoPromoteOpt = False,
        env: EnvOpt = None,
        skip_promotion_check: SkipPromotionOpt = False,
    ) -> None:
        shown = output_format(json_output, markdown)
        _start_summary(summary)
        options = _options(prune, allow_breaking, lock_timeout, no_promote, skip_promotion_check)
        if out_file is not None and not plan_only:
            raise FederationError("--out saves a plan: use it with --plan")
        if saved is not None and plan_only:
            raise FederationError(f"{saved}: a saved plan is applied, not planned; drop --plan")
        if plan_only:
            _plan(repo_path, options, shown, out_file, summary)
        elif saved is not None:
            _apply_saved(saved, repo_path, options, shown, yes, summary)
        else:
            _apply(repo_path, options, shown, yes, summary)

    script_app = typer.Typer(
        add_completion=False, rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )  # fmt: skip
    script_app.command(help="Plan or apply this repo (exit 0 no changes, 2 changes, 1 error).")(
        script
    )
    run_app(script_app)


def _options(
    prune: bool, allow_breaking: bool, lock_timeout: float, no_promote: bool = False,
    skip_promotion: bool = False,
):  # fmt: skip
    if no_promote:
        raise FederationError(NO_PROMOTE_REFUSAL)
    with output.progress("Loading Feast..."):
        from feast_federation.ops.runs import RunOptions  # the slow import, under the spinner

    return RunOptions(prune, allow_breaking, lock_timeout, skip_promotion)


def _start_summary(summary: Path | None) -> None:
    """Remove a summary file left from before: after this run it exists only if the run
    finished (a definition module that ends the process early leaves none)."""
    if summary is not None:
        output.remove_summary(summary)


def _plan(
    repo_path: Path, options, shown: str, out_file: Path | None, summary: Path | None = None
) -> None:
    from feast_federation.ops import runs

    repo = runs.load_repo(repo_path, options)
    with output.progress(f"Planning {repo.path.name}..."):
        result = runs.plan_repo(repo, options, out_file)
    output.show_plan(result, applied=False, output=shown)
    if out_file is not None:
        output.saved_plan_written(out_file)
    output.write_summary(result, summary, applied=False)
    if result.has_changes:
        raise typer.Exit(EXIT_CHANGES)


def _apply(repo_path: Path, options, shown: str, yes: bool, summary: Path | None = None) -> None:
    from feast_federation.ops import runs

    repo = runs.load_repo(repo_path, options)
    with output.progress(f"Applying {repo.path.name}..."):
        result = runs.apply_repo(repo, options, yes=yes, confirm=_confirm())
    output.show_applied(result, output=shown)
    note = _caught_up(result)
    output.write_summary(result, summary, applied=True, note=note)


def _caught_up(result) -> str | None:
    """A scheduled or manual CI run that applied changes says that no push applied them
    (a `[skip ci]` commit, a cancelled pending run)."""
    from feast_federation.ci.reviewed import reconcile_note

    note = reconcile_note(os.environ) if result.has_changes else None
    if note:
        output.warn(note)
    return note


def _apply_saved(
    plan_file: Path, repo_path: Path | None, options, shown: str, yes: bool,
    summary: Path | None = None,
):  # fmt: skip
    from feast_federation.ops import runs

    result = runs.apply_saved_plan(plan_file, repo_path, options, yes=yes, confirm=_confirm())
    output.show_applied(result, output=shown)
    output.write_summary(result, summary, applied=True)


def _confirm():
    """Asking before deleting, at a terminal only; elsewhere deleting needs --yes."""
    return output.confirm_deletions if _interactive() else None


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


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
def check(repo: RepoArg, offline: OfflineOpt = False, env: EnvOpt = None) -> None:
    """Check the repo's objects against the federation rules, writing nothing (pre-commit)."""
    from feast_federation.rules.source_check import platform_folder_notes

    for note in platform_folder_notes(repo):  # a monorepo's team folder, ahead of the registry
        output.note(note)
    problems = _offline_problems(repo) if offline else _registry_problems(repo)
    output.print_problems(problems)
    if problems:
        raise typer.Exit(EXIT_ERROR)
    output.repo_follows_rules()


def _offline_problems(repo: Path) -> list[str]:
    from feast_federation.rules.source_check import source_problems

    return source_problems(repo)


def _registry_problems(repo: Path) -> list[str]:
    from feast_federation.rules.repo import find_repo
    from feast_federation.sync import check as check_repo
    from feast_federation.sync.checks import odfv_serving_problems

    found = find_repo(repo)
    problems = check_repo(found)
    if not problems and not found.is_platform:
        problems = odfv_serving_problems(found.path)
    return problems


contract_app = typer.Typer(help="The platform contract a team repo reads platform views from.")
app.add_typer(contract_app, name="contract")


@contract_app.command("refresh")
@user_errors
def contract_refresh(repo: RepoArg, env: EnvOpt = None) -> None:
    """Rewrite the team repo's platform_contract.json from the shared registry."""
    from feast_federation.rules.repo import find_repo
    from feast_federation.sync.contract import refresh_team_contract

    found = find_repo(repo)
    if found.is_platform:
        raise FederationError(
            f"{found.path} is the platform repo: its sync writes its contract; refresh a team repo"
        )
    output.wrote(refresh_team_contract(found))
