"""The options several commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from feast_federation.errors import FederationError

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
        help="Platform repo: carry out a write that breaks team objects (reported and logged).",
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
LOCK_TIMEOUT = 300.0  # the registry's DEFAULT_LOCK_TIMEOUT, without importing Feast here
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        metavar="FILE",
        help="Save the plan to FILE; `apply FILE` carries out exactly it, or refuses if the "
        "registry or the repo changed since.",
    ),
]
SummaryOpt = Annotated[
    Path | None,
    typer.Option(
        "--summary",
        metavar="FILE",
        help="Also write the plan (or what was applied) as markdown to FILE, once the run has "
        "finished (a CI job summary). FILE is removed first: it exists only after a run that "
        "completed.",
    ),
]
YesOpt = Annotated[
    bool,
    typer.Option(
        "--yes", help="Carry out the plan's deletions without asking (required without a TTY)."
    ),
]
NoPromoteOpt = Annotated[
    bool,
    typer.Option(
        "--no-promote",
        help="Refused: Feast 0.67 keeps it on the file registry only (see the platform guide).",
    ),
]
NO_PROMOTE_REFUSAL = (
    "--no-promote is not supported: Feast 0.67's SQL registry promotes the new version anyway "
    "and a registry server ignores the flag, so the active version would not be the one plans "
    "and audits show; apply the change, and teams that need the old schema pin it (view@vN)"
)
OwnerOpt = Annotated[list[str] | None, typer.Option("--owner", help="An owner (repeat for more).")]


def output_format(json_output: bool, markdown: bool) -> str:
    if json_output and markdown:
        raise FederationError("choose one of --json and --markdown")
    return "json" if json_output else "markdown" if markdown else "table"


def _choose_environment(name: str | None) -> str | None:
    from feast_federation.rules.environments import choose

    choose(name)  # every store the command opens (and its children's) is in it
    return name


EnvOpt = Annotated[
    str | None,
    typer.Option(
        "--env",
        metavar="NAME",
        envvar="FEAST_FEDERATION_ENV",
        callback=_choose_environment,
        show_envvar=True,
        help="The environment of an org that has them (staging or production, for example).",
    ),
]
SkipPromotionOpt = Annotated[
    bool,
    typer.Option(
        "--skip-promotion-check",
        help="Apply to a later environment definitions the one before has not verified (logged).",
    ),
]
