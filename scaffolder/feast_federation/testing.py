"""Helpers for the tests of generated repos (their ``tests/`` import these).

``odfv_serving_problems`` is the ODFV serving check ``check`` and the apply run
(``sync.checks``); ``transform_in_fresh_process`` runs one ODFV as a server does.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from feast_federation.errors import FederationError
from feast_federation.rules.repo import find_repo
from feast_federation.sync.checks import fresh_python, odfv_serving_problems, sample_inputs

__all__ = [
    "checkout_path_problems",
    "odfv_serving_problems",
    "ownership_problems",
    "platform_contract_problems",
    "sample_inputs",
    "transform_in_fresh_process",
]

# Runs in a fresh interpreter that never imported the team's modules: only the registry
# proto crosses over, as when a feature server loads the ODFV.
_REHYDRATE_AND_TRANSFORM = """
import base64, json, sys
from feast.on_demand_feature_view import OnDemandFeatureView
from feast.protos.feast.core.OnDemandFeatureView_pb2 import OnDemandFeatureView as Proto

payload = json.load(sys.stdin)
odfv = OnDemandFeatureView.from_proto(Proto.FromString(base64.b64decode(payload["odfv"])))
json.dump(odfv.transform_dict(payload["inputs"]), sys.stdout)
"""


def transform_in_fresh_process(odfv, inputs: dict[str, list]) -> dict[str, list]:
    """Run a python-mode ODFV the way a server does: rebuilt from its proto elsewhere."""
    payload = {
        "odfv": base64.b64encode(odfv.to_proto().SerializeToString()).decode(),
        "inputs": inputs,
    }
    result = fresh_python(_REHYDRATE_AND_TRANSFORM, json.dumps(payload))
    if result.returncode != 0:
        last_line = (result.stderr.strip().splitlines() or ["?"])[-1]
        raise AssertionError(f"ODFV {odfv.name} fails when rebuilt from source: {last_line}")
    return json.loads(result.stdout)


def ownership_problems(repo_path: Path | str) -> list[str]:
    """The ownership rules read from the repo's source against its platform contract (a team
    repo) or federation.yaml (the platform repo): no Feast, no registry, nothing written."""
    from feast_federation.rules.source_check import source_problems

    try:
        return source_problems(repo_path)
    except FederationError as exc:
        return [str(exc)]


def checkout_path_problems(repo_path: Path | str) -> list[str]:
    """One line for each definition of the repo that stores a path inside its checkout
    (no registry): every clone would store its own, as ``check`` and the apply refuse."""
    from feast_federation.sync.checkout import checkout_paths
    from feast_federation.sync.collect import collect

    try:
        repo = find_repo(repo_path)
        return checkout_paths(repo, collect(repo))
    except FederationError as exc:
        return [str(exc)]


def platform_contract_problems(repo_path: Path | str) -> list[str]:
    """How the platform repo's platform_contract.json differs from the views and entities
    its modules define (no registry): one line per view or field."""
    from feast import Entity, FeatureView

    from feast_federation.registry.contract import contract_views
    from feast_federation.rules.contract import differences, load_contract
    from feast_federation.sync.collect import collect

    try:
        objects = collect(find_repo(repo_path))
        published = load_contract(repo_path)
    except FederationError as exc:
        return [str(exc)]
    views = [o for o in objects if type(o) is FeatureView]
    defined = contract_views(views, [o for o in objects if isinstance(o, Entity)])
    everything = {name: set(entry["fields"]) for name, entry in defined.items()}
    everything.update({name: set(entry["fields"]) for name, entry in published["views"].items()})
    return differences(published, defined, everything, "the repo's definitions")
