"""Baking repos from the bundled templates and registering teams. Never imports Feast.

The template hooks call ``check_new_team`` and ``finish_team_repo`` and the CLI calls them
through cookiecutter, so a team baked with plain cookiecutter and one added with
``feast-federation add-team`` go through the same checks and the same registration.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

import yaml

from . import __version__
from .choices import (
    CI_SYSTEMS,
    POSTGRES_SSLMODES,
    SCHEMA_SCOPED_OFFLINE_STORES,
    TEAM_SCOPED_OFFLINE_SETTINGS,
    check_backends,
    check_choice,
    platform_choices,
)
from .ci_secrets import wire_ci_secrets
from .errors import FederationError
from .ownership import (
    OwnershipError,
    offline_schema_of,
    validate_offline_schema,
    validate_project_name,
    validate_team_name,
)
from .policy import load_policy, register_team
from .repo import STORE_FILE

PLATFORM_TEMPLATE = "cookiecutter-platform"
TEAM_TEMPLATE = "cookiecutter-team"
STARTER_VIEWS = ("user_features", "customer_features", "driver_stats")
TOKEN_VARIABLE = "FEAST_REGISTRY_TOKEN"
_SERVER_NOTE = (
    "# The registry is reached through the platform's registry server, which enforces the\n"
    f"# federation policy; the access token comes from ${TOKEN_VARIABLE}.\n"
)
_TEAM_STORE_HEADER = (
    "# Shared settings, copied from the platform repo's feature_store.yaml when this repo was\n"
    "# created: the registry and online store are the platform's. Keep them in step with it.\n"
)


TEMPLATES_VARIABLE = "FEAST_FEDERATION_TEMPLATES"
TEMPLATE_URL_VARIABLE = "FEAST_FEDERATION_TEMPLATE_URL"


def templates_root() -> Path:
    """Where the templates live: $FEAST_FEDERATION_TEMPLATES (an org's own fork), inside
    the installed package, or in a source checkout."""
    if os.environ.get(TEMPLATES_VARIABLE):
        return Path(os.environ[TEMPLATES_VARIABLE]).resolve()
    bundled = Path(__file__).resolve().parent / "templates"
    if (bundled / TEAM_TEMPLATE).is_dir():
        return bundled
    return Path(__file__).resolve().parents[2]


# --- checks shared by the CLI and the template hooks -----------------------------------


def check_new_team(
    platform_dir: Path,
    team: str,
    owners: Sequence[str],
    project: str = "",
    offline_schema: str = "",
) -> None:
    """Raise FederationError unless ``team`` may be registered in ``platform_dir``'s policy."""
    policy = load_policy(_platform(platform_dir))
    if project and project != policy.project:
        raise FederationError(f"project_name {project}: the platform's project is {policy.project}")
    schemas = {other.effective_offline_schema: name for name, other in policy.teams.items()}
    try:
        validate_team_name(team, policy.teams)
        validate_offline_schema(team, offline_schema_of(team, offline_schema), schemas)
    except OwnershipError as exc:
        raise FederationError(str(exc)) from None
    if not owners:
        raise FederationError(f"team {team}: give at least one owner")


def check_inherited_choices(platform_dir: Path, team: str, **choices: str | None) -> None:
    """Refuse backend choices for a team repo that differ from the platform's: every repo
    of the org shares one registry and online store."""
    store_yaml = (_platform(platform_dir) / STORE_FILE).read_text(encoding="utf-8")
    platform = platform_choices(store_yaml)
    for setting, value in choices.items():
        if value is not None and value != platform[setting]:
            raise FederationError(
                f"team {team}: {setting} {value} differs from the platform's "
                f"{platform[setting]}; team repos share the platform's stores"
            )


def finish_platform_repo(repo_dir: Path) -> None:
    """Give a freshly baked platform repo's pipeline the variables its stores read."""
    wire_ci_secrets(Path(repo_dir))


def check_new_platform(project: str, owners: Sequence[str]) -> None:
    try:
        validate_project_name(project)
    except OwnershipError as exc:
        raise FederationError(str(exc)) from None
    if not owners:
        raise FederationError(f"project {project}: give at least one platform owner")


def finish_team_repo(
    platform_dir: Path,
    team: str,
    owners: Sequence[str],
    repo_dir: Path,
    registry_server: str = "",
    offline_schema: str = "",
) -> None:
    """Give a freshly baked team repo the platform's shared settings and register the team.

    Where the offline store has schemas, the policy records the team's (its name unless
    given), and the repo's feature_store.yaml points there.
    """
    platform_dir = _platform(platform_dir)
    shared = (platform_dir / STORE_FILE).read_text(encoding="utf-8")
    scoped = platform_choices(shared)["offline_store"] in SCHEMA_SCOPED_OFFLINE_STORES
    schema = offline_schema_of(team, offline_schema)
    store_yaml = team_store_yaml(shared, registry_server, offline_schema=schema)
    (Path(repo_dir) / STORE_FILE).write_text(store_yaml, encoding="utf-8")
    wire_ci_secrets(Path(repo_dir))
    _inherit_feast_requirement(platform_dir, Path(repo_dir))
    # The policy names the schema where the store has schemas, or where the team chose one.
    recorded = schema if scoped or schema != team else ""
    register_team(platform_dir, team, owners, offline_schema=recorded)


class _EnvQuotingDumper(yaml.SafeDumper):
    """Keeps "${VAR}" quoted: unquoted, an empty variable expands to YAML null."""


_EnvQuotingDumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style='"' if "${" in value else None
    ),
)


def _inherit_feast_requirement(platform_dir: Path, repo_dir: Path) -> None:
    """The team pins Feast with the platform's extras (its stores' drivers), plus its own."""
    platform_lines = (platform_dir / "requirements.txt").read_text(encoding="utf-8").splitlines()
    shared = next((line for line in platform_lines if re.match(r"feast[\[>=<]", line)), None)
    team_file = repo_dir / "requirements.txt"
    if shared is None or not team_file.exists():
        return
    lines = team_file.read_text(encoding="utf-8").splitlines()
    own = next(line for line in lines if re.match(r"feast[\[>=<]", line))
    extras = set(_extras(shared)) | set(_extras(own))
    merged = "feast" + (f"[{','.join(sorted(extras))}]" if extras else "") + ">=0.67,<0.68"
    team_file.write_text("\n".join(merged if line == own else line for line in lines) + "\n")


def _extras(requirement: str) -> list[str]:
    found = re.match(r"feast\[([^\]]*)\]", requirement)
    return [extra.strip() for extra in found.group(1).split(",")] if found else []


def team_store_yaml(platform_yaml: str, registry_server: str = "", offline_schema: str = "") -> str:
    """A team's feature_store.yaml: the platform's, with only team-specific settings changed.

    Through a registry server, the registry is remote with a token from $FEAST_REGISTRY_TOKEN;
    where the offline store has schemas, the team's work lands in its own schema.
    """
    if registry_server and not re.fullmatch(r"[A-Za-z0-9.\-]+:\d{1,5}", registry_server):
        raise FederationError(f"registry server {registry_server!r}: expected HOST:PORT")
    config = yaml.safe_load(platform_yaml)
    offline = config.get("offline_store") or {}
    offline_choice = str(offline.get("type", "")).removesuffix(".offline")
    scope = TEAM_SCOPED_OFFLINE_SETTINGS.get(offline_choice) if offline_schema else None
    if not registry_server and not scope:
        return _TEAM_STORE_HEADER + platform_yaml
    notes = ""
    if registry_server:
        config["registry"] = {"registry_type": "remote", "path": registry_server}
        config["auth"] = {"type": "oidc", "token_env_var": TOKEN_VARIABLE}
        notes += _SERVER_NOTE
    if scope:
        setting, team_value = scope
        offline[setting] = team_value(str(offline.get(setting, "")), offline_schema)
        notes += f"# Offline work lands in this team's own schema, {offline_schema}.\n"
    return _TEAM_STORE_HEADER + notes + yaml.dump(config, Dumper=_EnvQuotingDumper, sort_keys=False)


def _platform(platform_dir: Path) -> Path:
    platform_dir = Path(platform_dir).expanduser().resolve()
    if not (platform_dir / STORE_FILE).is_file():
        raise FederationError(f"platform_dir {platform_dir}: no {STORE_FILE}; not a platform repo")
    return platform_dir


# --- baking ----------------------------------------------------------------------------


def bake_platform(
    output_dir: Path,
    project: str,
    owners: Sequence[str],
    repo_name: str = "platform",
    registry: str = "sqlite",
    registry_server: str = "none",
    ci: str = "github",
    online_store: str = "sqlite",
    offline_store: str = "file",
    postgres_sslmode: str = "require",
) -> Path:
    check_new_platform(project, owners)
    check_backends(registry, online_store, offline_store, registry_server)
    check_choice("ci", ci, CI_SYSTEMS)
    check_choice("postgres_sslmode", postgres_sslmode, POSTGRES_SSLMODES)
    target = Path(output_dir) / repo_name
    if target.exists():
        raise FederationError(f"{target}: already exists")
    context = {
        "project_name": project,
        "repo_name": repo_name,
        "platform_owners": ", ".join(owners),
        "registry": registry,
        "online_store": online_store,
        "offline_store": offline_store,
        "postgres_sslmode": postgres_sslmode,
        "registry_server": registry_server,
        "ci": ci,
        "feast_federation_version": __version__,
    }
    return _bake(PLATFORM_TEMPLATE, output_dir, context)


def bake_team(
    platform_dir: Path,
    team: str,
    owners: Sequence[str],
    output_dir: Path,
    starter_view: str = "user_features",
    registry_server: str = "",
    ci: str = "github",
    offline_schema: str = "",
    **inherited_choices: str | None,
) -> Path:
    """Bake ``output_dir/<team>``; the template's hooks check and register the team.

    ``inherited_choices`` (registry, online_store, offline_store) are only checked: a team
    repo takes the platform's.
    """
    check_new_team(platform_dir, team, owners, offline_schema=offline_schema)
    check_inherited_choices(platform_dir, team, **inherited_choices)
    _check_starter_view(starter_view)
    check_choice("ci", ci, CI_SYSTEMS)
    team_store_yaml("project: check\n", registry_server)  # refuses a malformed address
    target = Path(output_dir) / team
    if target.exists():
        raise FederationError(f"{target}: already exists")
    context = {
        "team_name": team,
        "owners": ", ".join(owners),
        "project_name": load_policy(_platform(platform_dir)).project,
        "platform_dir": str(Path(platform_dir).resolve()),
        "starter_view": starter_view,
        "registry_server": registry_server,
        "ci": ci,
        "offline_schema": offline_schema_of(team, offline_schema),
        "feast_federation_version": __version__,
    }
    return _bake(TEAM_TEMPLATE, output_dir, context)


def _bake(template: str, output_dir: Path, context: dict) -> Path:
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.main import cookiecutter

    Path(output_dir).mkdir(parents=True, exist_ok=True)
    try:
        repo = Path(
            cookiecutter(
                str(templates_root() / template),
                no_input=True,
                extra_context=context,
                output_dir=str(output_dir),
            )
        )
    except CookiecutterException as exc:
        # The hook has printed the rule that failed; cookiecutter removed what it wrote.
        raise FederationError(f"{template}: baking stopped ({exc})") from None
    link_to_template(repo, template, context)
    return repo


def link_to_template(repo: Path, template: str, extra_context: dict) -> None:
    """Write .cruft.json, so `cruft check` / `cruft update` follow the template's changes."""
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    template_dir = templates_root() / template
    context = generate_context(
        context_file=str(template_dir / "cookiecutter.json"), extra_context=extra_context
    )
    rendered = prompt_for_config(context, no_input=True)
    url = os.environ.get(TEMPLATE_URL_VARIABLE) or rendered["federation_repo_url"]
    commit = _git_head(templates_root()) or f"v{__version__}"
    rendered.update({"_template": url, "_commit": commit})
    state = {
        "template": url,
        "commit": commit,
        "checkout": None,
        "context": {"cookiecutter": rendered},
        "directory": template,
        "skip": [".git"],
    }
    (repo / ".cruft.json").write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


def _git_head(directory: Path) -> str | None:
    """The commit a source checkout of the templates is at, if it is one."""
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def bootstrap_org(
    org_dir: Path,
    project: str,
    owners: Sequence[str],
    teams: Sequence[str | tuple[str, str]],
    **platform_choices: str,
) -> tuple[Path, list[Path]]:
    """Bake ``org_dir/platform`` and ``org_dir/teams/<team>``; every input is checked first.

    A team is a name, or a (name, starter view) pair; ``platform_choices`` are
    ``bake_platform``'s (registry, online_store, ci, ...), and team repos share its ``ci``.
    """
    org_dir = Path(org_dir)
    if org_dir.exists() and any(org_dir.iterdir()):
        raise FederationError(f"{org_dir}: exists and is not empty")
    pairs = [(team, "user_features") if isinstance(team, str) else team for team in teams]
    owners = list(owners) or ["platform-team@example.com"]
    check_new_platform(project, owners)
    registered: list[str] = []
    for name, starter_view in pairs:
        try:
            validate_team_name(name, registered)
        except OwnershipError as exc:
            raise FederationError(str(exc)) from None
        _check_starter_view(starter_view)
        registered.append(name)
    # bake_platform checks the choices before it writes anything.
    platform_dir = bake_platform(org_dir, project, owners, **platform_choices)
    ci = platform_choices.get("ci", "github")
    team_dirs = [
        bake_team(platform_dir, name, [f"{name}-leads@example.com"], org_dir / "teams", view, ci=ci)
        for name, view in pairs
    ]
    return platform_dir, team_dirs


def _check_starter_view(starter_view: str) -> None:
    if starter_view not in STARTER_VIEWS:
        raise FederationError(
            f"starter view {starter_view}: choose one of {', '.join(STARTER_VIEWS)}"
        )
