"""References from a team repo to platform objects, read from the shared registry or, with
no registry at hand, from the repo's platform contract (``platform_contract.json``).

A team module writes ``user_features = platform_view("user_features")`` and uses it as an
ODFV source or FeatureService feature. The object is marked so that the collector knows the
team references it rather than defines it.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Sequence
from pathlib import Path

from feast_federation.errors import FederationError
from feast_federation.rules.contract import (
    contract_path,
    contract_view,
    load_contract,
    offline,
)
from feast_federation.rules.environments import is_feature_repo
from feast_federation.rules.kinds import FEATURE_VIEW

_MARK = "_feast_federation_reference"


def platform_view(
    name: str, features: Sequence[str] | None = None, *, repo: str | Path | None = None
):
    """The platform's feature view ``name``, optionally projected.

    It comes from the shared registry, or from the repo's platform contract when
    $FEAST_FEDERATION_OFFLINE is set or the registry cannot be reached. ``repo`` defaults to
    the feature repo that holds the calling module.
    """
    if isinstance(features, str) or (
        features is not None and not all(isinstance(feature, str) for feature in features)
    ):
        raise FederationError(
            f"platform_view({name!r}, {features!r}): features must be a list of feature "
            f"names, like [{features!r}]" if isinstance(features, str) else
            f"platform_view({name!r}, {features!r}): features must be a list of feature names"
        )  # fmt: skip
    repo_dir = Path(repo) if repo else _caller_repo()
    if offline():
        view = _from_contract(repo_dir, name)
    else:
        view = _ahead_of_the_registry(repo_dir, name, _from_registry(repo_dir, name))
    if features:
        missing = sorted(set(features) - {feature.name for feature in view.features})
        if missing:
            raise FederationError(
                f"platform view {name} has no feature {', '.join(missing)} "
                f"(it has {', '.join(f.name for f in view.features)})"
            )
        view = view[list(features)]
    setattr(view, _MARK, True)
    return view


def _ahead_of_the_registry(repo_dir: Path, name: str, view):
    """In a team folder of a monorepo, the registry's ``view`` with the fields the platform
    folder's definitions add to it, which the platform's sync applies first."""
    from feast_federation.rules.source_check import platform_folder_fields

    held = {feature.name for feature in view.features}
    declared = platform_folder_fields(repo_dir).get(name, {})
    ahead = {feature: dtype for feature, dtype in declared.items() if feature not in held}
    if not ahead:
        return view
    from feast_federation.registry.contract import with_fields

    return with_fields(view, ahead)


def _from_registry(repo_dir: Path, name: str):
    from feast_federation.registry import get, open_store

    try:
        store = open_store(repo_dir)
        view = get(store, FEATURE_VIEW, name)
    except Exception:
        if not contract_path(repo_dir).is_file():
            raise
        return _from_contract(repo_dir, name)  # the registry cannot be reached
    if view is None:
        raise FederationError(_missing_view(store, repo_dir, name))
    return view


def _missing_view(store, repo_dir: Path, name: str) -> str:
    """Why ``name`` is not a platform view, telling a typo from a view the platform removed
    or has not applied yet: the registry's views, and what the repo's contract lists."""
    from feast_federation.registry import list_platform_kinds, registry_proto
    from feast_federation.registry.kinds import kind_of

    proto = registry_proto(store)
    views = sorted(o.name for o in list_platform_kinds(store, proto) if kind_of(o) == FEATURE_VIEW)
    has = f"the registry's views: {', '.join(views) or 'none'}"
    missing = f"platform view {name} is not in the registry of project {store.project}"
    contract = load_contract(repo_dir) if contract_path(repo_dir).is_file() else {"views": {}}
    if name in contract["views"]:
        return (
            f"{missing}, though this repo's {contract_path(repo_dir).name} lists it: the "
            f"platform removed it or has not applied it yet; ask the platform team ({has})"
        )
    close = difflib.get_close_matches(name, views, n=1, cutoff=0.8)
    if close:
        return f"{missing}: did you mean {close[0]}? ({has})"
    return f"{missing} ({has}): a view the platform has just added needs its apply first"


def _from_contract(repo_dir: Path, name: str):
    from feast_federation.registry.contract import view_from_entry
    from feast_federation.rules.source_check import with_platform_folder

    contract, _ = with_platform_folder(repo_dir, load_contract(repo_dir))
    entry = contract_view(contract, name, f"{contract_path(repo_dir)}")
    return view_from_entry(name, entry)


def is_reference(obj: object) -> bool:
    return bool(getattr(obj, _MARK, False))


def _caller_repo() -> Path:
    package = Path(__file__).resolve().parents[1]
    frame = inspect.currentframe()
    while frame is not None:
        caller = Path(frame.f_code.co_filename).resolve()
        if package not in caller.parents and caller.exists():
            for directory in (caller.parent, *caller.parents):
                if is_feature_repo(directory):
                    return directory
            break
        frame = frame.f_back
    raise FederationError(
        "platform_view: no feature_store.yaml above the calling module; pass repo="
    )
