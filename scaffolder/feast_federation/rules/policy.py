"""The policy file, ``federation.yaml`` in the platform repo.

Reading turns it into an ``ownership.Policy``, validated whole; registering a team inserts
its entry as text under ``teams:`` (standard library and PyYAML: it runs under plain
cookiecutter), or, for a layout that cannot take it that way (a flow-style ``teams``
mapping), edits the file as a round-trip YAML document (ruamel.yaml); either way the
platform team's comments, order and layout survive, the result is read back and must be
the old policy plus the team, and the file is replaced atomically under a lock so that
concurrent registrations all land.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import yaml

from feast_federation.errors import FederationError, OwnershipError
from feast_federation.files import atomic_write, file_lock, gc_paused
from feast_federation.rules.ownership import (
    Policy,
    Team,
    team_prefix,
    validate_added_team,
    validate_policy,
    validate_team_name,
)
from feast_federation.rules.values import shown

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


def _key(key: object) -> str:
    return key if isinstance(key, str) and re.fullmatch(r"[\w.-]+", key) else shown(key)


def policy_section(platform_dir: Path, name: str) -> dict:
    """An optional settings section of the policy file, such as ``backups``."""
    path = policy_path(platform_dir)
    text = _read(path)
    cached = _cached(text)  # a command that loaded the policy parsed this text already
    data = cached[0] if cached is not None else read_yaml(text, str(path))
    section = (data.get(name) if isinstance(data, dict) else None) or {}
    if not isinstance(section, dict):
        raise FederationError(f"{path}: '{name}' must be a mapping")
    return section


# libyaml's parser where PyYAML has it (its wheels do): a 10,000-team policy file parses
# about four times as fast as with the pure-Python one, to the same data.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SAFE_LOADER):
    """PyYAML's safe loader, refusing a key given twice in one mapping: YAML forbids it,
    and PyYAML would silently keep the last (a reviewer reads the first)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise DuplicateKey(key, seen[key], line)
                seen[key] = line
            except TypeError:  # an unhashable key: the base class says so
                break
        return super().construct_mapping(node, deep=deep)


class DuplicateKey(yaml.YAMLError):
    def __init__(self, key: object, first: int, again: int):
        self.key, self.first, self.again = key, first, again


def _load(text: str):
    """``yaml.load`` with ``_UniqueKeyLoader``, to the same data. A policy file is plain
    mappings, lists and scalars: those are built here straight from libyaml's events
    (strings as they are, other scalars by the loader), without PyYAML's node graph, in
    about half the time at 10,000 teams; anything else (an anchor or alias, a merge key,
    a tag, a key that is not hashable, a key given twice, several documents) goes to the
    loader's own construction, from the start."""
    loader = _UniqueKeyLoader(text)
    try:
        return _PlainBuilder(loader).document()
    except (_NotPlain, DuplicateKey):  # the loader names a key given twice as it would
        pass
    finally:
        loader.dispose()
    loader = _UniqueKeyLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


_STR, _MERGE = "tag:yaml.org,2002:str", "tag:yaml.org,2002:merge"


class _NotPlain(Exception):
    """A document ``_PlainBuilder`` leaves to PyYAML's constructor."""


class _PlainBuilder:
    """Data from the events of a document of plain mappings, lists and scalars."""

    def __init__(self, loader):
        self.loader, self.next_event = loader, loader.get_event

    def document(self):
        self.next_event()  # the stream's start
        first = self.next_event()
        if isinstance(first, yaml.StreamEndEvent):
            return None
        if not isinstance(first, yaml.DocumentStartEvent):
            raise _NotPlain
        data = self.value(self.next_event())
        self.next_event()  # the document's end
        if not isinstance(self.next_event(), yaml.StreamEndEvent):
            raise _NotPlain  # several documents: the loader's error says so
        return data

    def value(self, event):
        kind = type(event)
        if kind is yaml.ScalarEvent:
            return self.scalar(event)
        if getattr(event, "anchor", None) is not None or event.tag not in (None, "!"):
            raise _NotPlain
        if kind is yaml.MappingStartEvent:
            return self.mapping()
        if kind is yaml.SequenceStartEvent:
            return self.sequence()
        raise _NotPlain  # an alias

    def scalar(self, event):
        if event.anchor is not None or event.tag not in (None, "!"):
            raise _NotPlain
        if not event.implicit[0]:
            return event.value  # quoted: a string
        tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _STR:
            return event.value
        if tag == _MERGE:
            raise _NotPlain
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        return self.loader.construct_object(node, deep=True)

    def mapping(self) -> dict:
        data: dict = {}
        lines: dict = {}
        while True:
            event = self.next_event()
            if type(event) is yaml.MappingEndEvent:
                return data
            key = self.value(event)
            line = event.start_mark.line + 1
            try:
                if key in lines:
                    raise DuplicateKey(key, lines[key], line)
            except TypeError:  # unhashable: PyYAML's constructor says so
                raise _NotPlain from None
            lines[key] = line
            data[key] = self.value(self.next_event())

    def sequence(self) -> list:
        items = []
        while True:
            event = self.next_event()
            if type(event) is yaml.SequenceEndEvent:
                return items
            items.append(self.value(event))


def read_yaml(text: str, source: str):
    """The one reader of ``federation.yaml``: a key given twice in one mapping, or text
    that is not YAML, is one line naming the lines."""
    try:
        with gc_paused():  # a 10,000-team file is 100,000 nodes and as many values
            return _load(text)
    except DuplicateKey as exc:
        raise FederationError(
            f"{source}: key {_key(exc.key)} appears twice in one mapping (lines {exc.first} and "
            f"{exc.again}); YAML would keep only the last: remove one"
        ) from None
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
    with gc_paused():  # the file's data, then a Team and its checks for each team
        data = read_yaml(text, source)
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
    teams = {str(name): _team_of(name, entry) for name, entry in teams_data.items()}
    return Policy(
        project=project,
        environments=validate_environments(data.get("environments")),
        platform_owners=_owners(platform.get("owners"), "platform"),
        platform_role=platform.get("role", "feast-platform"),
        teams=teams,
    )


def _team_of(name: object, entry: object) -> Team:
    entry = entry or {}
    if not isinstance(entry, dict):
        raise ValueError(f"team {name}: expected a mapping with prefix, owners and role")
    prefix = entry.get("prefix", team_prefix(str(name)))
    if prefix != team_prefix(str(name)):
        raise ValueError(f"team {name}: prefix must be {team_prefix(str(name))}, not {prefix}")
    return Team(
        name=str(name),
        owners=_owners(entry.get("owners"), name),
        role=entry.get("role", ""),
        offline_schema=str(entry.get("offline_schema", "")),
        names=_names(entry.get("names"), name),
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


_ENVIRONMENT_NAME = re.compile(r"[a-z][a-z0-9_-]{0,29}")


def validate_environments(names: object) -> tuple[str, ...]:
    """The policy's ``environments``: distinct names, in promotion order (rules.environments)."""
    if names is None:
        return ()
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError("environments must be a list of names, in promotion order")
    for name in names:
        if not _ENVIRONMENT_NAME.fullmatch(name):
            raise ValueError(
                f"environment {name!r}: lowercase letters, digits, '-' and '_', starting "
                "with a letter, at most 30 characters"
            )
    if len(set(names)) != len(names):
        raise ValueError("environments: each name once")
    return tuple(names)


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

    The team's entry goes in as lines after the last team where the file is laid out so,
    else through a round trip that keeps comments, key order and layout; either way the
    result is read back and must be the old policy plus the team.
    """
    global _last
    path = policy_path(platform_dir)
    with file_lock(path.with_name(f".{path.name}.lock")):
        text = _read(path) if path.exists() else ""
        policy = parse_policy(text, str(path))
        validate_team_name(team, policy.teams)
        new_text, new_data = _edited(text, team, owners, role, offline_schema, str(path))
        updated = _with_checked_team(policy, team, new_data["teams"][team], str(path))
        atomic_write(path, new_text)
        _last = (new_text, new_data, updated)
        return updated


def _with_checked_team(policy: Policy, team: str, entry: dict, source: str) -> Policy:
    """What ``_checked_policy`` makes of the edited file's data (``policy``, already checked,
    plus the team's entry), checking the new team only."""
    try:
        updated = replace(policy, teams={**policy.teams, team: _team_of(team, entry)})
        validate_added_team(updated, team)
    except (OwnershipError, TypeError, ValueError, AttributeError) as exc:
        raise FederationError(f"{source}: {exc}") from None
    return updated


def check_registrable(platform_dir: Path, team: str, owners: Sequence[str]) -> None:
    """Refuse, before anything is written, a policy file this Python cannot add ``team``
    to (a layout only ruamel.yaml can edit, where it is not installed)."""
    path = policy_path(platform_dir)
    with_team(_read(path), team, owners, source=str(path))


def with_team(
    text: str,
    team: str,
    owners: Sequence[str],
    role: str = "",
    offline_schema: str = "",
    *,
    source: str = POLICY_FILE,
) -> str:
    """``text`` with ``team``'s entry added under ``teams``, the rest of it unchanged."""
    return _edited(text, team, owners, role, offline_schema, source)[0]


def _edited(
    text: str, team: str, owners: Sequence[str], role: str, offline_schema: str, source: str
) -> tuple[str, dict]:
    """``with_team``'s text, and the data it reads as (checked equal to the old data plus
    the team's entry)."""
    entry: dict = {"prefix": team_prefix(team), "owners": list(owners)}
    if role:
        entry["role"] = role
    if offline_schema:
        entry["offline_schema"] = offline_schema
    cached = _cached(text)
    wanted = dict(cached[0]) if cached is not None else (read_yaml(text, source) or {})
    wanted["teams"] = {**(wanted.get("teams") or {}), team: entry}
    edited = _inserted(text, team, entry)
    if edited is not None and _reads_as(edited, wanted):
        return edited, wanted
    try:
        edited = _with_team(text, team, entry)
    except ImportError:
        raise FederationError(
            f"{source}: adding a team to this layout of 'teams' needs ruamel.yaml: "
            "pip install ruamel.yaml (or write 'teams:' as a block mapping)"
        ) from None
    if not _reads_as(edited, wanted):  # pragma: no cover - ruamel's round trip
        raise FederationError(f"{source}: could not add team {team}; add it by hand")
    return edited, wanted


def _reads_as(text: str, wanted: dict) -> bool:
    """Whether ``text`` reads as ``wanted``. The last text found to (and what it read as) is
    kept: add-team checks that the policy can take the team before the template's hook
    registers it, the same edit of the same text, and at 10,000 teams each parse is most
    of a second."""
    global _read_back
    last = _read_back
    if last is not None and last[0] == text and last[1] == wanted:
        return True
    try:
        with gc_paused():
            data = _load(text)
    except yaml.YAMLError:
        return False
    if data != wanted:
        return False
    _read_back = (text, data)
    return True


_read_back: tuple[str, dict] | None = None


_TEAMS_KEY = re.compile(r"^teams:[ \t]*(\{\}[ \t]*)?(#.*)?$")
_PLAIN = re.compile(r"^[A-Za-z0-9_.@+][A-Za-z0-9_.@+/-]*$")


def _inserted(text: str, team: str, entry: dict) -> str | None:
    """``entry`` inserted as lines after the last team of a block-style ``teams:``
    mapping (or replacing ``teams: {}``); None for a layout this cannot edit. Comments
    after the last team stay below it: they head what follows."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _TEAMS_KEY.match(line.rstrip("\r\n"))]
    if len(starts) > 1:
        return None
    if not starts:
        ending = "" if not text or text.endswith("\n") else "\n"
        return text + ending + "teams:\n" + "".join(_entry_lines(team, entry, "  "))
    start = starts[0]
    header = _TEAMS_KEY.match(lines[start].rstrip("\r\n"))
    if header[1]:  # teams: {}  -> teams:
        comment = f"  {header[2]}" if header[2] else ""
        lines[start] = f"teams:{comment}\n"
    last, indent = start, ""
    for index in range(start + 1, len(lines)):
        line = lines[index]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not line[0].isspace():
            break
        last = index
        indent = indent or line[: len(line) - len(line.lstrip())]
    if header[1] and last != start:
        return None
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    lines[last + 1 : last + 1] = _entry_lines(team, entry, indent or "  ")
    return "".join(lines)


def _entry_lines(team: str, entry: dict, indent: str) -> list[str]:
    lines = [f"{indent}{team}:\n"]
    for key, value in entry.items():
        shown = "[" + ", ".join(map(_scalar, value)) + "]" if isinstance(value, list) else value
        lines.append(f"{indent}{indent}{key}: {_scalar(shown) if key != 'owners' else shown}\n")
    return lines


def _scalar(value: str) -> str:
    """``value`` as YAML reads it back: plain where that is the same string, else quoted."""
    plain = _PLAIN.match(value) and yaml.safe_load(f"[{value}]") == [value]
    return value if plain else json.dumps(value)


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
