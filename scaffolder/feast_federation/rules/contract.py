"""The platform contract: what team repos may read from the platform, as a file.

``platform_contract.json`` lists the platform's feature views with their entities (join key
and value type) and fields (name and Feast type). The platform sync writes it into the
platform repo from its own definitions; ``add-team`` copies it into each team repo and
``feast-federation contract refresh`` rewrites it from the registry. With it, a team repo
resolves ``platform_view`` and checks its ownership without Feast's registry. It also
records the names of the registry's objects no team owns, so ``add-team`` refuses a team
whose prefix would own one without reaching the registry. Never imports Feast.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from feast_federation.errors import FederationError
from feast_federation.files import atomic_write
from feast_federation.rules.environments import chosen, environment_dir, environments_of

CONTRACT_FILE = "platform_contract.json"
OFFLINE_VARIABLE = "FEAST_FEDERATION_OFFLINE"
_NOTE = (
    "What team repos read from the platform. Written by the platform sync and by "
    "`feast-federation contract refresh`; do not edit."
)


def offline() -> bool:
    """True when the environment says to resolve platform views from the contract."""
    return os.environ.get(OFFLINE_VARIABLE, "").strip().lower() in {"1", "true", "yes"}


def contract_path(repo_dir: Path | str, env: str | None = None) -> Path:
    """The repo's contract; in an org with environments, the chosen environment's (each
    registry's platform differs while a change awaits promotion), else the first's: a team's
    offline tests build on the platform that leads."""
    try:
        names = environments_of(Path(repo_dir))
    except FederationError:  # an unreadable policy (or a template's) is named where it is read
        names = ()
    if not names:
        return Path(repo_dir) / CONTRACT_FILE
    env = env or chosen()
    return environment_dir(repo_dir, env if env in names else names[0]) / CONTRACT_FILE


def load_contract(repo_dir: Path | str) -> dict:
    path = contract_path(repo_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FederationError(
            f"{path}: no platform contract; run feast-federation contract refresh"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FederationError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("views"), dict):
        raise FederationError(f"{path}: expected an object with a views table")
    return data


def write_contract(
    repo_dir: Path | str,
    project: str,
    views: dict,
    adopted: dict,
    registry_objects: dict,
    pin_refusal: str | None = None,
) -> Path:
    """``registry_objects``: the names of the registry's objects no team owns, by kind;
    ``pin_refusal``: why the org cannot serve pinned versions (None: it can, and each view
    entry lists its ``versions`` teams may pin)."""
    path = contract_path(repo_dir)
    data = {
        "note": _NOTE,
        "project": project,
        "views": views,
        "adopted": adopted,
        "registry_objects": registry_objects,
        "pins": {"served": True} if pin_refusal is None else {"served": False, "why": pin_refusal},
    }
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


def registry_names(repo_dir: Path | str) -> set[str]:
    """The names of the registry's objects no team owns, as the repo's contract last
    recorded them; none where the repo has no contract yet (the caller's checks then read
    what the repo defines, and the first platform sync writes the contract)."""
    if not contract_path(repo_dir).is_file():
        return set()
    recorded = load_contract(repo_dir).get("registry_objects")
    if not isinstance(recorded, dict) or not all(
        isinstance(names, list) and all(isinstance(name, str) for name in names)
        for names in recorded.values()
    ):
        raise FederationError(
            f"{contract_path(repo_dir)}: registry_objects must map kinds to lists of names; "
            "the platform sync rewrites the contract (python apply.py in the platform repo)"
        )
    return {name for names in recorded.values() for name in names}


def contract_view(contract: dict, name: str, source: str = CONTRACT_FILE) -> dict:
    view = contract["views"].get(name)
    if view is None:
        known = ", ".join(sorted(contract["views"])) or "none"
        raise FederationError(
            f"platform view {name} is not in {source} (it lists {known}); "
            "run feast-federation contract refresh"
        )
    return view


def differences(
    contract: dict, registry_views: dict, used: dict, other: str = "the registry"
) -> list[str]:
    """What differs between the contract and the registry in the views and fields the team
    uses; ``registry_views`` maps names to contract-shaped entries (None: not there) and
    ``used`` maps view names to the features the team reads."""
    found = []
    for name, features in sorted(used.items()):
        mine, theirs = contract["views"].get(name), registry_views.get(name)
        if mine is None or theirs is None:
            where = "the contract" if mine is None else other
            found.append(f"view {name} is missing from {where}")
            continue
        found += _entity_differences(name, mine, theirs, other)
        found += _field_differences(name, mine, theirs, features, other)
    return found


def _entity_differences(name: str, mine: dict, theirs: dict, other: str) -> list[str]:
    key = _entity_keys(mine), _entity_keys(theirs)
    if key[0] == key[1]:
        return []
    return [f"{name} entities are {key[0]} in the contract, {key[1]} in {other}"]


def _entity_keys(view: dict) -> str:
    return (
        ", ".join(f"{e['join_key']}:{e['value_type']}" for e in sorted(view["entities"], key=str))
        or "none"
    )


def _field_differences(name: str, mine: dict, theirs: dict, features, other: str) -> list[str]:
    found = []
    for feature in sorted(features):
        ours, registry = mine["fields"].get(feature), theirs["fields"].get(feature)
        if ours != registry:
            found.append(
                f"{name}.{feature} is {ours or 'missing'} in the contract, "
                f"{registry or 'missing'} in {other}"
            )
    return found


# --- pinned versions (view@vN) --------------------------------------------------------------


def contract_pin_refusal(contract: dict) -> str | None:
    """Why the contract's org cannot serve a pinned version, or None when it can."""
    pins = contract.get("pins")
    if not isinstance(pins, dict):
        return "the contract records no versions to pin; run feast-federation contract refresh"
    if pins.get("served") is True:
        return None
    return str(pins.get("why") or "the org does not serve pinned versions")


def version_fields(contract: dict, view: str, tag: str) -> dict | None:
    """The fields of version ``tag`` (``v1``) of ``view`` as the contract records it."""
    versions = (contract["views"].get(view) or {}).get("versions")
    found = versions.get(tag) if isinstance(versions, dict) else None
    return found if isinstance(found, dict) else None


def version_tags(contract: dict, view: str) -> list[str]:
    versions = (contract["views"].get(view) or {}).get("versions")
    return sorted(versions, key=lambda tag: (len(tag), tag)) if isinstance(versions, dict) else []


def version_differences(contract: dict, registry_versions: dict, pinned: dict) -> list[str]:
    """What differs between the contract and the registry in the pinned versions the team
    reads: ``registry_versions`` and ``pinned`` map ``(view, tag)`` to the version's fields
    (None: not there) and to the features read."""
    found = []
    for (view, tag), features in sorted(pinned.items()):
        mine, theirs = version_fields(contract, view, tag), registry_versions.get((view, tag))
        if mine is None or theirs is None:
            where = "the contract" if mine is None else "the registry"
            found.append(f"{view}@{tag} is missing from {where}")
            continue
        for feature in sorted(features):
            if mine.get(feature) != theirs.get(feature):
                found.append(
                    f"{view}@{tag}.{feature} is {mine.get(feature) or 'missing'} in the "
                    f"contract, {theirs.get(feature) or 'missing'} in the registry"
                )
    return found
