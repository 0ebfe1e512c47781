"""Commands that create repos and register teams (never importing Feast), plus adopting an
existing feature repo and the demo.

Thin: parse the options, call ``onboarding`` (or ``ops.adopt``, ``ops.orgs``), show the
result.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from feast_federation.cli import output
from feast_federation.cli.app import app, user_errors
from feast_federation.cli.options import LOCK_TIMEOUT, LockTimeoutOpt, OwnerOpt
from feast_federation.errors import FederationError
from feast_federation.onboarding.specs import (
    DEFAULT_FEDERATION_REPO_URL,
    DEFAULT_FEDERATION_REQUIREMENT,
    DEFAULT_REGISTRY_SERVER_ADDRESS,
)
from feast_federation.rules.choices import (
    COMPUTE_ENGINES,
    OFFLINE_STORES,
    ONLINE_STORES,
    REGISTRIES,
    Backends,
)

_INHERITED_HELP = "Checked against the platform's: team repos share its stores."
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
        Path | None,
        typer.Option(
            "--output-dir",
            help="Where to create the team repo [beside the platform's, in teams/; in a "
            "monorepo, its teams folder].",
        ),
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
    ci: Annotated[
        str | None, typer.Option(help="github, gitlab or none [github; a monorepo's own].")
    ] = None,
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
    repo = bake_team_repo(spec, output_dir)
    output.team_added(name, platform, repo)


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
    data_location: Annotated[
        str,
        typer.Option(
            help="With the file and duckdb offline stores: where the parquet files live, a "
            "folder outside the repos or an s3:// or gs:// URI that every checkout and runner "
            "reads (default: ORG_DIR/platform-data)."
        ),
    ] = "",
    compute_engine: Annotated[
        str,
        typer.Option(
            help=", ".join(COMPUTE_ENGINES) + ": where materialization runs (spark and ray "
            "with the offline store of their kind)."
        ),
    ] = "local",
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
    layout: Annotated[
        str,
        typer.Option(
            help="polyrepo: one git repository per repo; monorepo: ORG_DIR is one repository "
            "with the platform's folder, one folder per team, and the pipelines at its root."
        ),
    ] = "polyrepo",
    platform_folder: Annotated[
        str, typer.Option("--platform-dir", help="The platform's folder name.")
    ] = "platform",
    teams_dir: Annotated[
        str, typer.Option("--teams-dir", help="The folder name the teams' folders go in.")
    ] = "teams",
    environment: Annotated[
        list[str] | None,
        typer.Option(
            "--environment",
            metavar="NAME",
            help="An environment, in promotion order (repeat: staging, then production; the "
            "last is production). Each gets its own registry and stores.",
        ),
    ] = None,
) -> None:
    """Create a platform repo and team repos, on the local default (SQLite and parquet
    files, for one machine) unless --registry, --online-store and --offline-store choose
    stores a CI runner can reach."""
    from feast_federation.onboarding import PlatformSpec, bake_org

    teams = [
        name if not view else (name, view)
        for name, _, view in (t.partition(":") for t in team or [])
    ]
    spec = PlatformSpec(
        project=project, owners=owner or ["platform-team@example.com"],
        backends=Backends(registry, online_store, offline_store, registry_server, compute_engine),
        ci=ci,
        postgres_sslmode=postgres_sslmode, registry_server_address=registry_server_address,
        federation_requirement=federation_requirement, federation_repo_url=federation_repo_url,
        data_location=_absolute(data_location),
        environments=tuple(environment or ()), layout=layout, repo_name=platform_folder,
        teams_dir=teams_dir,
    )  # fmt: skip
    platform_dir, team_dirs = bake_org(org_dir, spec, teams)
    output.org_created(platform_dir, team_dirs)
    from feast_federation.onboarding.notes import bootstrap_warnings

    for warning in bootstrap_warnings(spec):
        output.warn(warning)
    if apply_all:
        from feast_federation.ops.orgs import apply_org

        apply_org(platform_dir, team_dirs, output.step, output.step_done)


def _absolute(location: str) -> str:
    """A folder given relative to here, made absolute; an object-store URI as it is."""
    if not location or "://" in location:
        return location
    return os.path.abspath(os.path.expanduser(location))


@app.command()
@user_errors
def demo(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where to build the demo org (new).")
    ] = None,
    environments: Annotated[
        bool,
        typer.Option(
            "--environments",
            help="Staging and production: a change verified in staging, then promoted.",
        ),
    ] = False,
) -> None:
    """Build the example org on the local default and show it working, end to end."""
    from feast_federation.cli.demo import run_demo, run_environments_demo

    (run_environments_demo if environments else run_demo)(directory)


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
    lock_timeout: LockTimeoutOpt = LOCK_TIMEOUT,
) -> None:
    """Split an existing feature repo into a platform repo and team repos, names kept."""
    from feast_federation.ops.adopt import adopt_repo

    split, platform = adopt_repo(
        feature_repo, org, team or [], dry_run=dry_run, lock_timeout=lock_timeout
    )
    output.adopted(split.lines(), platform, [org / "teams" / name for name in split.teams])
