"""The ``feast-federation`` Typer app, its exit codes, and the one-line error contract.

Exit codes follow ``terraform plan -detailed-exitcode``: 0 nothing to change, 2 changes (or
findings), 1 any error, usage errors included. A ``FederationError`` is one line on stderr,
never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Annotated

import typer

from feast_federation.cli.output import print_version, report_error
from feast_federation.errors import FederationError
from feast_federation.version import __version__

EXIT_ERROR, EXIT_CHANGES = 1, 2

# Help is plain text: Rich's panels cut long option names at 80 columns and read
# "[default: ...]" in a help text as markup, dropping it.
app = typer.Typer(
    help="Many teams, one Feast feature store: templates, safe applies, and a demo.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def _print_version(value: bool) -> None:
    if value:
        print_version(__version__)
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
    """Turn a FederationError into one line on stderr and exit 1: no traceback for mistakes.
    A command asked for ``--json`` also gets the error as JSON on stdout, where it reads."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except FederationError as exc:
            report_error(exc, as_json=bool(kwargs.get("json_output")))
            raise typer.Exit(EXIT_ERROR) from None

    return wrapper
