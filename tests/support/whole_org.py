"""What the commands that read a whole org print, on an org of registered teams with drift
of every kind audit reports: compared in tests/test_whole_org.py with what the code before
the linear rewrite printed (``EXPECTED``, recorded once with that code by ``record``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

EXPECTED = Path(__file__).resolve().parent / "expected" / "whole_org_200.json"
TEAMS = 200


def plant_drift(platform: Path) -> None:
    """Changes made around the federation with stock Feast writes, one of each kind audit
    reports: a platform view and a team service edited, a team service deleted, one added
    that no apply logged, a team kind in the platform's name space, a platform kind under a
    team's prefix, a service reading a feature its view lacks, and a team registered in
    federation.yaml but not published."""
    from feast import FeatureService, FeatureStore, Field, FileSource
    from feast.types import Float64

    from support.bulk import register_teams

    store = FeatureStore(repo_path=str(platform))
    view = store.get_feature_view("user_features")
    view.description = "edited by hand"
    service = store.get_feature_service("crowd00003_model")
    service.description = "edited by hand"
    ghost = store.get_feature_view("user_features")
    ghost.features.append(Field(name="ghost", dtype=Float64))
    store.apply(
        [
            view,
            service,
            FeatureService(name="crowd00005_adhoc", features=[view]),
            FeatureService(name="orphan_model", features=[view]),
            FeatureService(name="crowd00011_ghost", features=[ghost[["ghost"]]]),
            FileSource(
                name="crowd00007_source", path="/elsewhere/x.parquet",
                timestamp_field="event_timestamp",
            ),
        ]
    )  # fmt: skip
    store.registry.delete_feature_service("crowd00009_model", store.project)
    register_teams(platform, 1, prefix="late")


def outputs(directory: Path, platform: Path, team: Path) -> dict:
    """The platform's and a team's catalog (the model its renderings are made from) and
    audit findings, with the org's directory written as ``{org}``."""
    from feast_federation.ops import audit, catalog
    from feast_federation.rules.repo import find_repo

    platform_repo, team_repo = find_repo(platform), find_repo(team)
    found = {
        "catalog": catalog.build(platform_repo),
        "team_catalog": catalog.build(team_repo),
        "audit": [finding.to_json() for finding in audit.audit(platform_repo)],
        "team_audit": [finding.to_json() for finding in audit.audit(team_repo)],
    }
    return json.loads(json.dumps(found).replace(str(directory), "{org}"))


def record(directory: Path) -> None:
    """Build the org in ``directory`` and write what the code imported now prints into
    ``EXPECTED``: run once with the code the tests compare against.

        PYTHONPATH=OLD/scaffolder:tests python -m support.whole_org DIRECTORY
    """
    from support.bulk import build_registered_org

    platform, team = build_registered_org(directory, TEAMS)
    plant_drift(platform)
    found = outputs(directory, platform, team)
    # That code listed data sources in the registry's row order, which two builds of one
    # org need not share; the catalog now sorts them by name, as it sorts entities and views.
    for catalog in (found["catalog"], found["team_catalog"]):
        catalog["sources"].sort(key=lambda source: source["name"])
    EXPECTED.parent.mkdir(exist_ok=True)
    EXPECTED.write_text(json.dumps(found) + "\n")


if __name__ == "__main__":
    record(Path(sys.argv[1]))
