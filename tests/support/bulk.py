"""Large writes: a team module of many objects, and an org with many registered teams, for
the tests of writes long enough to outlast a registry's cache."""

from __future__ import annotations

import re
from pathlib import Path

# Each of ``count`` RequestSources feeds a python ODFV, which a FeatureService serves.
BULK_MODULE = """
from feast import FeatureService, Field, RequestSource
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64

for index in range({count}):
    request = RequestSource(
        name=f"{team}_bulk_request_{{index}}", schema=[Field(name="amount", dtype=Float64)]
    )

    def doubled(inputs: dict) -> dict:
        return {{"doubled": [value * 2 for value in inputs["amount"]]}}

    odfv = on_demand_feature_view(
        name=f"{team}_bulk_odfv_{{index}}", sources=[request],
        schema=[Field(name="doubled", dtype=Float64)], mode="python",
    )(doubled)
    globals()[f"request_{{index}}"] = request
    globals()[f"odfv_{{index}}"] = odfv
    globals()[f"service_{{index}}"] = FeatureService(name=f"{team}_bulk_{{index}}", features=[odfv])
"""


def write_bulk_module(team_repo: Path, team: str, count: int) -> set[tuple[str, str]]:
    """Write ``bulk.py`` into the team repo; returns the (kind, name) pairs it defines."""
    (team_repo / "bulk.py").write_text(BULK_MODULE.format(team=team, count=count))
    return {
        (kind, f"{team}_bulk{infix}_{index}")
        for index in range(count)
        for kind, infix in (
            ("RequestSource", "_request"), ("OnDemandFeatureView", "_odfv"), ("FeatureService", "")
        )
    }  # fmt: skip


def register_teams(platform: Path, count: int, prefix: str = "crowd") -> list[str]:
    """Register ``count`` more teams in federation.yaml, as add-team records them."""
    policy = platform / "federation.yaml"
    names = [f"{prefix}{index:04d}" for index in range(count)]
    entries = "".join(
        f"  {name}:\n    prefix: {name}_\n    owners: [{name}-leads@example.com]\n"
        for name in names
    )
    text = policy.read_text()
    policy.write_text(re.sub(r"(?m)^teams:\n", lambda m: m.group(0) + entries, text, count=1))
    return names


def short_cache(repo: Path, seconds: int = 1) -> None:
    """Give the repo's registry a cache that expires in ``seconds``."""
    store = repo / "feature_store.yaml"
    text = store.read_text()
    text, count = re.subn(r"cache_ttl_seconds: *\d+", f"cache_ttl_seconds: {seconds}", text)
    assert count == 1, text
    store.write_text(text)
