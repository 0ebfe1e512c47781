"""The ``feast-federation`` command, and the entry point of every generated ``apply.py``.

``app`` holds the Typer app, its exit codes and the one-line error contract; the commands
come by audience: ``repo_commands`` (plan, apply, check: what a repo's owner runs),
``ops_commands`` (audit, catalog, backups, the log, materialize, serve, the reviewed plan),
``onboarding_commands`` (bootstrap, add-team, adopt, the demo). ``output`` holds every line
printed; ``demo`` the main job's narrative. Commands that bake or register never import
Feast.
"""

from feast_federation.cli import onboarding_commands, ops_commands, repo_commands  # noqa: F401
from feast_federation.cli.app import app, main
from feast_federation.cli.repo_commands import run_repo_script

__all__ = ["app", "main", "run_repo_script"]
