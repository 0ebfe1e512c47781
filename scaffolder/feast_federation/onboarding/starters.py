"""The starter a new team repo begins with: the platform view it builds on and what the team
template needs to know of that view. Read from the platform's contract, never from Feast.

Any view the platform's ``platform_contract.json`` lists may be the starter view. The demo
platform's views have a starter written for them (``cookiecutter-team/templates/starters/<view>``);
every other view gets the generic starter, rendered from the view's numeric fields. The CLI
and the team template's hooks both call these functions.
"""

from __future__ import annotations

import json
import keyword
from pathlib import Path

from feast_federation.errors import FederationError
from feast_federation.rules.contract import CONTRACT_FILE, contract_path, load_contract
from feast_federation.rules.values import shown

# The views with a starter of their own, in the order a default is chosen from them.
BESPOKE_STARTERS = ("user_features", "customer_features", "driver_stats")
GENERIC_STARTER = "_generic"
NUMERIC_TYPES = frozenset({"Int32", "Int64", "Float32", "Float64"})
# The request field and the output feature the generic starter adds beside the view's.
GENERIC_FEATURES = ("request_weight", "weighted_sum")
# Names the generic starter's modules bind themselves: a view variable must not shadow them.
_STARTER_NAMES = frozenset(
    {"Field", "RequestSource", "FeatureService", "Float64", "on_demand_feature_view",
     "platform_view"}
)  # fmt: skip


def platform_views(platform_dir: Path | str) -> dict[str, dict]:
    """The views the platform offers teams, as its contract lists them (sorted by name)."""
    if not contract_path(platform_dir).is_file():
        raise FederationError(
            f"platform_dir {platform_dir}: no {CONTRACT_FILE}, so there are no views to start "
            "from; sync the platform first (python apply.py in the platform repo)"
        )
    return dict(sorted(load_contract(platform_dir)["views"].items()))


def default_starter_view(views: dict[str, dict]) -> str:
    """The first view with a bespoke starter, else the first view a starter can be named
    after, else the first view (which ``check_starter_view`` then refuses)."""
    usable = [view for view in views if _generic_problem(views, view) is None]
    ordered = [view for view in BESPOKE_STARTERS if view in views] + usable + list(views)
    return ordered[0] if ordered else ""


def check_starter_view(views: dict[str, dict], view: str, platform: str) -> None:
    """Refuse a starter view the platform (``platform``: "at DIR", or how else to name it)
    does not offer, or that the generic starter cannot be built on."""
    listed = ", ".join(views) or "none"
    if view not in views:
        raise FederationError(
            f"starter_view {shown(view)}: not a view of the platform {platform} "
            f"(its views: {listed})"
        )
    problem = _generic_problem(views, view)
    if problem:
        raise FederationError(f"starter_view {shown(view)}: {problem}; choose another ({listed})")


def starter_context(views: dict[str, dict], view: str) -> str:
    """What the team template renders the starter from, as the JSON text cookiecutter keeps
    in its context (``__starter``): the starter's folder and the view's numeric fields."""
    folder = view if view in BESPOKE_STARTERS else GENERIC_STARTER
    fields = views.get(view, {}).get("fields", {}) if folder == GENERIC_STARTER else {}
    numeric = [name for name, dtype in fields.items() if dtype in NUMERIC_TYPES]
    return json.dumps({"folder": folder, "numeric_fields": numeric})


def _generic_problem(views: dict[str, dict], view: str) -> str | None:
    """Why the generic starter cannot be built on ``view``; None when it can, or when the
    view has a bespoke starter. It binds the view to a variable of the view's name and adds
    a request field and an output feature of fixed names."""
    if view in BESPOKE_STARTERS:
        return None
    if not view.isidentifier() or keyword.iskeyword(view) or not view.isascii():
        return "the generic starter names a Python variable after the view, which this cannot be"
    if view in _STARTER_NAMES:
        return "the generic starter's modules already use this name"
    clashes = sorted(set(GENERIC_FEATURES) & set(views[view].get("fields", {})))
    if clashes:
        return (
            f"the view has a field {', '.join(clashes)}, a name the generic starter gives its "
            "own request field and output feature"
        )
    return None
