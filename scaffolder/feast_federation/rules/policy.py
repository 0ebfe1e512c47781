"""The policy file, ``federation.yaml`` in the platform repo.

Reading turns it into an ``ownership.Policy``; registering a team appends a block of text
under ``teams:`` so that the platform team's comments and layout survive, under a lock and
with an atomic replace so that concurrent registrations all land.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from feast_federation.errors import FederationError, OwnershipError
from feast_federation.files import atomic_write, file_lock
from feast_federation.rules.ownership import (
    Policy,
    Team,
    team_prefix,
    validate_policy,
    validate_team_name,
)

POLICY_FILE = "federation.yaml"


def policy_path(platform_dir: Path) -> Path:
    return Path(platform_dir) / POLICY_FILE


def load_policy(platform_dir: Path) -> Policy:
    path = policy_path(platform_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FederationError(f"{path}: policy file not found (is this a platform repo?)") from None
    return parse_policy(text, str(path))


def policy_section(platform_dir: Path, name: str) -> dict:
    """An optional settings section of the policy file, such as ``backups``."""
    data = yaml.safe_load(policy_path(platform_dir).read_text(encoding="utf-8")) or {}
    section = data.get(name) or {}
    if not isinstance(section, dict):
        raise FederationError(f"{policy_path(platform_dir)}: '{name}' must be a mapping")
    return section


def parse_policy(text: str, source: str = POLICY_FILE) -> Policy:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise FederationError(f"{source}: not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise FederationError(f"{source}: expected a mapping with project, platform and teams")
    try:
        policy = _policy_from_data(data)
        validate_policy(policy)
    except (OwnershipError, TypeError, ValueError) as exc:
        raise FederationError(f"{source}: {exc}") from None
    return policy


def _policy_from_data(data: dict) -> Policy:
    project = data.get("project")
    if not isinstance(project, str):
        raise ValueError("'project' must be the Feast project name")
    platform = data.get("platform") or {}
    teams_data = data.get("teams") or {}
    if not isinstance(platform, dict) or not isinstance(teams_data, dict):
        raise ValueError("'platform' and 'teams' must be mappings")
    teams = {}
    for name, entry in teams_data.items():
        entry = entry or {}
        if not isinstance(entry, dict):
            raise ValueError(f"team {name}: expected a mapping with prefix, owners and role")
        prefix = entry.get("prefix", team_prefix(str(name)))
        if prefix != team_prefix(str(name)):
            raise ValueError(f"team {name}: prefix must be {team_prefix(str(name))}, not {prefix}")
        teams[str(name)] = Team(
            name=str(name),
            owners=_owners(entry.get("owners"), name),
            role=entry.get("role", ""),
            offline_schema=str(entry.get("offline_schema", "")),
        )
    return Policy(
        project=project,
        platform_owners=_owners(platform.get("owners"), "platform"),
        platform_role=platform.get("role", "feast-platform"),
        teams=teams,
    )


def _owners(value: object, who: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(owner, str) for owner in value):
        raise ValueError(f"{who}: owners must be a list of strings")
    return tuple(value)


def split_owners(text: str) -> list[str]:
    """Owners as typed at a prompt: comma or space separated."""
    return [owner for owner in text.replace(",", " ").split() if owner]


# --- registering a team --------------------------------------------------------------------


def register_team(
    platform_dir: Path,
    team: str,
    owners: Sequence[str],
    role: str = "",
    offline_schema: str = "",
) -> Policy:
    """Add ``team`` to the policy file; safe against concurrent registrations."""
    path = policy_path(platform_dir)
    with file_lock(path.with_name(f".{path.name}.lock")):
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        policy = parse_policy(text, str(path))
        validate_team_name(team, policy.teams)
        new_text = _with_team_block(text, team, owners, role, offline_schema)
        updated = parse_policy(new_text, str(path))
        if team not in updated.teams:
            raise FederationError(
                f"{path}: could not add team {team}; is 'teams:' the last section?"
            )
        atomic_write(path, new_text)
        return updated


def _with_team_block(
    text: str, team: str, owners: Sequence[str], role: str, offline_schema: str
) -> str:
    lines = text.rstrip("\n").split("\n")
    for index, line in enumerate(lines):
        if line.split("#")[0].strip() in ("teams: {}", "teams:{}", "teams:"):
            lines[index] = "teams:" + (line[line.index("#") - 1 :] if "#" in line else "")
            break
    else:
        lines.append("teams:")
    block = [f"  {team}:", f"    prefix: {team_prefix(team)}"]
    block.append("    owners: [" + ", ".join(yaml_scalar(owner) for owner in owners) + "]")
    if role:
        block.append(f"    role: {yaml_scalar(role)}")
    if offline_schema:
        block.append(f"    offline_schema: {yaml_scalar(offline_schema)}")
    return "\n".join(lines + block) + "\n"


def yaml_scalar(value: str) -> str:
    """``value`` as a one-line YAML flow scalar."""
    return (
        yaml.safe_dump(value, default_flow_style=True, width=10_000)
        .strip()
        .removesuffix("...")
        .strip()
    )
