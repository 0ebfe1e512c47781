"""Commands that operate the shared store: audit, catalog, backup and restore, the apply
log, materialization, serving, and the reviewed plan CI jobs fetch.

Thin: parse the options, call ``ops``, ``serving`` or ``ci``, show the result.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from feast_federation.cli import output
from feast_federation.cli.app import EXIT_CHANGES, app, user_errors
from feast_federation.cli.options import (
    LOCK_TIMEOUT,
    BreakOpt,
    EnvOpt,
    FindingsJsonOpt,
    LockTimeoutOpt,
    LogJsonOpt,
    RepoArg,
    RestoreJsonOpt,
)
from feast_federation.errors import FederationError


@app.command()
@user_errors
def audit(repo: RepoArg, json_output: FindingsJsonOpt = False, env: EnvOpt = None) -> None:
    """Report registry drift: unowned objects, wrong kinds, dangling references, policy drift.

    From a team repo: the team's own objects against its apply log, and its services and
    ODFVs that read missing views or features. Exit 0 when clean, 2 when anything is found,
    1 on error.
    """
    from feast_federation.ops.audit import audit as run_audit
    from feast_federation.rules.repo import find_repo

    findings = run_audit(find_repo(repo))
    output.show_findings(findings, as_json=json_output)
    if findings:
        raise typer.Exit(EXIT_CHANGES)


@app.command()
@user_errors
def catalog(
    repo: RepoArg,
    output_format: Annotated[
        str, typer.Option("--format", help="markdown, html (one page with search) or json.")
    ] = "markdown",
    output_file: Annotated[
        Path | None, typer.Option("--output", help="File to write (default: stdout).")
    ] = None,
    env: EnvOpt = None,
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
    output.write_text(text, output_file, what=f"the {output_format} catalog")


# --- backups and the apply log --------------------------------------------------------


@app.command()
@user_errors
def backup(
    repo: RepoArg,
    output_file: Annotated[Path, typer.Option("--output", help="File to write the snapshot to.")],
    env: EnvOpt = None,
) -> None:
    """Write a snapshot of the shared registry's project to a file."""
    from feast_federation import registry, transaction
    from feast_federation.ops.restore import snapshot
    from feast_federation.rules.repo import find_repo
    from feast_federation.transaction.backups import write_backup

    found = find_repo(repo)
    store = registry.open_store(found.path)
    data = transaction.read(store, found.owner, snapshot)
    write_backup(output_file, data)
    output.wrote_bytes(len(data), output_file)


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
    allow_breaking: BreakOpt = False,
    lock_timeout: LockTimeoutOpt = LOCK_TIMEOUT,
    env: EnvOpt = None,
) -> None:
    """Restore the registry to a snapshot or to a point in the apply log: shows the plan;
    --yes carries it out."""
    from feast_federation.ops import restore as restores
    from feast_federation.rules.repo import find_repo

    if (input_file is None) == (to is None):
        raise FederationError("restore needs one of --input FILE and --to POINT")
    options = restores.RestoreOptions(yes, allow_breaking, lock_timeout)
    if to is not None:
        if allow_empty:
            raise FederationError("--allow-empty is for --input snapshots")
        result = restores.restore_to_point(find_repo(repo), to, options)
    else:
        if not input_file.is_file():
            raise FederationError(f"{input_file}: no such backup file")
        backup = input_file.read_bytes()
        result = restores.restore_snapshot(
            find_repo(repo), backup, options, allow_empty=allow_empty
        )
    output.show_restore(result, applied=yes, as_json=json_output)
    if not yes and result.has_changes:
        raise typer.Exit(EXIT_CHANGES)


@app.command("log")
@user_errors
def show_log(
    repo: RepoArg,
    json_output: LogJsonOpt = False,
    team: Annotated[str | None, typer.Option("--team", help="Only this team's entries.")] = None,
    env: EnvOpt = None,
) -> None:
    """Show who applied what to the shared registry, oldest first; `restore --to ID` puts
    the registry back as it was right after an entry."""
    from feast_federation.registry import open_store
    from feast_federation.rules.repo import find_repo
    from feast_federation.transaction import applylog

    entries = applylog.read(open_store(find_repo(repo).path), owner=team)
    output.show_log(entries, [applylog.summary(e) for e in entries], as_json=json_output)


# --- environments ----------------------------------------------------------------------


@app.command()
@user_errors
def verify(repo: RepoArg, env: EnvOpt = None, lock_timeout: LockTimeoutOpt = LOCK_TIMEOUT) -> None:
    """Fetch features through the environment as models would: for a team, each service
    online (sample keys from the environment's data), each ODFV, a historical retrieval; for
    the platform, every view materialized and served. Logged there for promotion."""
    from feast_federation.errors import VerificationFailed
    from feast_federation.ops.verify import verify as run_verify
    from feast_federation.rules.repo import find_repo

    result = run_verify(find_repo(repo), lock_timeout=lock_timeout)
    if not result.passed:
        raise VerificationFailed(result.problems, result.environment)
    output.verified(result)


@app.command("diff-env")
@user_errors
def diff_env(
    repo: Annotated[Path, typer.Argument(help="The platform repo.", show_default=False)],
    source: Annotated[str, typer.Option("--from", metavar="ENV", help="The environment ahead.")],
    target: Annotated[str, typer.Option("--to", metavar="ENV", help="The one it promotes to.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Per owner, the objects one environment's registry holds differently from the next's:
    what awaits promotion. Exit 0 when none, 2 when some."""
    from feast_federation.ops.diff_env import diff_environments
    from feast_federation.rules.repo import find_repo

    found = diff_environments(find_repo(repo), source, target)
    output.show_env_diff(found, source, target, as_json=json_output)
    if found:
        raise typer.Exit(EXIT_CHANGES)


# --- materializing and serving ---------------------------------------------------------


@app.command()
@user_errors
def materialize(repo: RepoArg, env: EnvOpt = None) -> None:
    """Load the latest values of the platform's views into the online store."""
    from feast_federation.ops.materialize import materialize_views

    output.materialized(materialize_views(repo))


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
    env: EnvOpt = None,
) -> None:
    """Run Feast's feature server for every team's services, set up for many teams.

    Workers are replaced one at a time without a dropped request; the registry is re-read
    every --refresh-seconds (printed at start); where the org runs a registry server, its
    auth (registry_server.yaml) guards the feature server too.
    """
    from feast_federation.serving.serve import ServeSettings
    from feast_federation.serving.serve import serve as run_server

    settings = ServeSettings(
        host=host, port=port, workers=workers, max_requests=max_requests,
        max_requests_jitter=max_requests_jitter, refresh_seconds=refresh_seconds,
        keep_alive_seconds=keep_alive_seconds, access_log=access_log,
    )  # fmt: skip
    settings.check()  # before Feast loads: a mistake costs no 3 s
    run_server(repo, settings, announce=output.plain)


# --- CI ----------------------------------------------------------------------------------


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
    artifact: Annotated[
        str, typer.Option("--artifact", help="GitHub: the artifact that holds it.")
    ] = "feast-plan",
) -> None:
    from feast_federation.ci.reviewed import fetch_reviewed_plan
    from feast_federation.files import atomic_write

    plan, origin = fetch_reviewed_plan(os.environ, gitlab_job=plan_job, github_artifact=artifact)
    try:
        atomic_write(out_file, plan)
    except OSError as exc:
        raise FederationError(f"{out_file}: cannot write the plan ({exc.strerror})") from None
    output.note(f"Saved the plan reviewed in {origin} to {out_file}")
