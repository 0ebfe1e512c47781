"""The policy file, ``federation.yaml`` in the platform repo.

Reading turns it into an ``ownership.Policy``, validated whole; registering a team edits
it as a round-trip YAML document (ruamel.yaml) so that the platform team's comments, order
and layout survive, under a lock and with an atomic replace so that concurrent
registrations all land.
"""

from __future__ import annotations

import io
import re
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
    return parse_policy(_read(path), str(path))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FederationError(f"{path}: policy file not found (is this a platform repo?)") from None
    except UnicodeDecodeError:
        raise FederationError(f"{path}: not UTF-8 text; the policy file is YAML") from None
    except OSError as exc:
        raise FederationError(f"{path}: cannot be read ({exc.strerror})") from None


def policy_section(platform_dir: Path, name: str) -> dict:
    """An optional settings section of the policy file, such as ``backups``."""
    path = policy_path(platform_dir)
    text = _read(path)
    cached = _cached(text)
    data = cached[0] if cached is not None else _yaml(text, str(path))
    section = (data.get(name) if isinstance(data, dict) else None) or {}
    if not isinstance(section, dict):
        raise FederationError(f"{path}: '{name}' must be a mapping")
    return section


# libyaml's parser where PyYAML has it (its wheels do): a 10,000-team policy file parses
# about four times as fast as with the pure-Python one, to the same data.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml(text: str, source: str):
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise FederationError(f"{source}: not valid YAML{where}") from None


# The last policy text parsed in this process, with its data and policy: a command that
# reads the file more than once (a platform apply: the policy, then its backups settings;
# add-team: the policy, then again under the lock) parses a 10,000-team file once. Keyed
# by the text itself, so never stale; replaced whole, so threads see one consistent triple.
_last: tuple[str, dict, Policy] | None = None


def _cached(text: str) -> tuple[dict, Policy] | None:
    last = _last
    return (last[1], last[2]) if last is not None and last[0] == text else None


def parse_policy(text: str, source: str = POLICY_FILE) -> Policy:
    return _parse(text, source)[1]


def _parse(text: str, source: str) -> tuple[dict, Policy]:
    global _last
    cached = _cached(text)
    if cached is not None:
        return cached
    data = _yaml(text, source)
    if not isinstance(data, dict):
        raise FederationError(f"{source}: expected a mapping with project, platform and teams")
    policy = _checked_policy(data, source)
    _last = (text, data, policy)
    return data, policy


def _checked_policy(data: dict, source: str) -> Policy:
    try:
        policy = _policy_from_data(data)
        validate_policy(policy)
    except (OwnershipError, TypeError, ValueError, AttributeError) as exc:
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
            names=_names(entry.get("names"), name),
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


def _names(value: object, team: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"team {team}: names must be a list of object names")
    for name in value:
        if not isinstance(name, str):  # YAML reads yes, 7, 1.0 as other types: quote them
            raise ValueError(f"team {team}: names: {name} is not a name (a string); quote it")
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
    """Add ``team`` to the policy file; safe against concurrent registrations.

    Comments, key order and layout survive whatever order the sections are in: where the
    teams are laid out as add-team writes them, the entry is written after the last team
    (``_appended``); elsewhere the file is edited as a YAML document (ruamel.yaml).
    """
    global _last
    path = policy_path(platform_dir)
    with file_lock(path.with_name(f".{path.name}.lock")):
        text = _read(path) if path.exists() else ""
        data, policy = _parse(text, str(path))
        validate_team_name(team, policy.teams)
        entry = _team_entry(team, owners, role, offline_schema)
        new_text = _appended(text, data, team, entry)
        if new_text is None:  # a layout the append does not handle: a round trip
            new_text = _with_team(text, team, entry)
            updated = parse_policy(new_text, str(path))
        else:  # what the appended text reads as, checked without parsing it all again
            new_data = {**data, "teams": {**data["teams"], team: entry}}
            updated = _checked_policy(new_data, str(path))
            _last = (new_text, new_data, updated)
        atomic_write(path, new_text)
        return updated


def _team_entry(team: str, owners: Sequence[str], role: str, offline_schema: str) -> dict:
    entry: dict = {"prefix": team_prefix(team), "owners": list(owners)}
    if role:
        entry["role"] = role
    if offline_schema:
        entry["offline_schema"] = offline_schema
    return entry


_TEAMS_KEY = re.compile(r"teams:[ \t]*(?:#.*)?")
# What str.splitlines breaks at besides \n and \r\n (YAML reads some as line breaks, some
# not): a file holding any is left to the round trip.
_OTHER_LINE_BREAKS = re.compile(r"\r(?!\n)|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_TEAM_KEY = re.compile(r"( +)([a-z][a-z0-9_]*):[ \t]*(?:#.*)?")


def _appended(text: str, data: dict, team: str, entry: dict) -> str | None:
    """``text`` with ``team``'s ``entry`` written after the last team, as lines, or None
    when the teams are not laid out as add-team writes them.

    A round trip through ruamel.yaml takes seconds on a 10,000-team file; this reads the
    lines once. It applies only where the result is sure to read as the old policy plus
    the new team: one top-level ``teams:`` key heading a block mapping whose keys, one per
    line at one indentation, are the teams the file was parsed to, in order, and nothing
    in it (a keep-chomped block scalar) that owns the lines after it. Comments and blank
    lines after the last team stay where they were, below the new entry.
    """
    teams = data.get("teams")
    if not isinstance(teams, dict) or not teams or _OTHER_LINE_BREAKS.search(text):
        return None
    lines = text.splitlines(keepends=True)
    heads = [n for n, line in enumerate(lines) if _TEAMS_KEY.fullmatch(line.rstrip("\r\n"))]
    if len(heads) != 1:
        return None
    keys: list[str] = []
    indent = inner = last = None
    for number in range(heads[0] + 1, len(lines)):
        line = lines[number].rstrip("\r\n")
        content = line.lstrip(" ")
        column = len(line) - len(content)
        if not content or content.startswith("#"):
            continue
        if column == 0:
            break  # the next top-level key
        if content.startswith("\t") or "|+" in content or ">+" in content:
            return None
        if indent is None:
            indent = column
        if column < indent:
            return None
        if column == indent:
            match = _TEAM_KEY.fullmatch(line)
            if match is None:
                return None
            keys.append(match.group(2))
        elif inner is None:
            inner = column
        last = number
    if keys != list(teams) or indent is None or inner is None or last is None:
        return None
    newline = "\r\n" if lines[heads[0]].endswith("\r\n") else "\n"
    rendered = yaml.safe_dump(
        {team: entry}, default_flow_style=None, sort_keys=False, width=1_000_000,
        allow_unicode=True,
    ).splitlines()  # fmt: skip
    block = [" " * indent + rendered[0]] + [" " * inner + row[2:] for row in rendered[1:]]
    before = lines[: last + 1]
    if not before[-1].endswith("\n"):
        before[-1] += newline
    return "".join(before) + "".join(row + newline for row in block) + "".join(lines[last + 1 :])


def _move_trailing_comment(previous, entry) -> None:
    """Full-line comments after the last team belong to what follows the teams (the next
    section's heading), but ruamel.yaml keeps them on that team's last value: move them
    below the new entry, leaving an end-of-line comment where it was."""
    import copy

    if not previous:
        return
    last_key = list(previous)[-1]
    slots = previous.ca.items.get(last_key)
    token = slots[2] if slots and len(slots) > 2 else None
    if token is None or "\n" not in token.value.rstrip("\n"):
        return
    end_of_line, _, following = token.value.partition("\n")
    token.value = end_of_line + "\n"
    moved = copy.copy(token)
    moved.value = "\n" + following
    entry.ca.items[list(entry)[-1]] = [None, None, moved, None]


def _with_team(text: str, team: str, entry_data: dict) -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    document = YAML()  # round-trip: keeps comments, order and quoting
    document.preserve_quotes = True
    data = document.load(text) or CommentedMap()
    teams = data.get("teams")
    if not isinstance(teams, CommentedMap):
        teams = CommentedMap()
        data["teams"] = teams
    entry = CommentedMap(entry_data)
    owner_list = CommentedSeq(entry_data["owners"])
    owner_list.fa.set_flow_style()
    entry["owners"] = owner_list
    previous = list(teams.values())[-1] if teams else None
    teams[team] = entry
    teams.fa.set_block_style()
    if isinstance(previous, CommentedMap):
        _move_trailing_comment(previous, entry)
    out = io.StringIO()
    document.dump(data, out)
    return out.getvalue()


def grandfather_names(platform_dir: Path, team: str, names: Sequence[str]) -> Policy:
    """Record ``names`` as registered ``team``'s grandfathered names (kept without its
    prefix), beside its prefix in the policy file; comments and layout survive."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedSeq

    path = policy_path(platform_dir)
    with file_lock(path.with_name(f".{path.name}.lock")):
        text = _read(path)
        parse_policy(text, str(path)).team(team)
        document = YAML()
        document.preserve_quotes = True
        data = document.load(text)
        data["teams"][team]["names"] = CommentedSeq(sorted(names))
        out = io.StringIO()
        document.dump(data, out)
        updated = parse_policy(out.getvalue(), str(path))
        atomic_write(path, out.getvalue())
        return updated
