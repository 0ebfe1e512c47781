"""Helpers for the tests of generated repos."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from feast_federation.errors import FederationError
from feast_federation.rules.repo import find_repo

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
    with tempfile.TemporaryDirectory() as scratch:
        result = subprocess.run(
            [sys.executable, "-I", "-c", _REHYDRATE_AND_TRANSFORM],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            cwd=scratch,
        )
    if result.returncode != 0:
        last_line = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "?"
        raise AssertionError(f"ODFV {odfv.name} fails when rebuilt from source: {last_line}")
    return json.loads(result.stdout)


def repo_problems(repo_path: Path | str) -> list[str]:
    """Every ownership problem the repo's apply would refuse, without writing anything."""
    from feast_federation.sync import check

    try:
        return check(find_repo(repo_path))
    except FederationError as exc:
        return [str(exc)]
