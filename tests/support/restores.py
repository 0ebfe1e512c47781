"""An org's registry through five applies, with what it held after each: the points the
apply log can restore it to, on whichever registry the org uses."""

from __future__ import annotations

import json
from pathlib import Path

from support import invoke

TEAMS = (("marketing", "customer_features"), ("risk", "user_features"))


def object_digests(platform: Path) -> dict[str, str]:
    """Each object of the project (internal ones aside), by collection and name, with the
    digest of what it defines."""
    from feast_federation.registry import open_store, registry_proto
    from feast_federation.registry.protos import digest, project_objects

    store = open_store(platform)
    return {
        f"{collection}/{name}": digest(item)
        for (collection, name), item in project_objects(registry_proto(store), "acme").items()
    }


def log_entries(platform: Path) -> list[dict]:
    result = invoke("log", platform, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def applied(repo: Path, *options: str) -> None:
    result = invoke("apply", repo, "--yes", *options)
    assert result.exit_code == 0, result.output


def org_through_five_points(directory: Path, **bootstrap) -> tuple[Path, list[tuple[int, dict]]]:
    """Bootstrap an org (``bootstrap``: more ``bootstrap_org`` arguments), then: platform
    sync, marketing apply, risk apply, marketing changes its ODFV, risk deletes its service.
    Returns the platform repo and, for each step, its log entry id and the registry's
    ``object_digests`` right after it."""
    from feast_federation.onboarding import bootstrap_org

    platform, (marketing, risk) = bootstrap_org(
        directory, project="acme", owners=["plat@acme.io"], teams=TEAMS, **bootstrap
    )
    points = []

    def point() -> None:
        points.append((log_entries(platform)[-1]["id"], object_digests(platform)))

    for repo in (platform, marketing, risk):
        applied(repo)
        point()
    odfv = marketing / "on_demand_views.py"
    odfv.write_text(odfv.read_text().replace("round(1 / (1", "round(0.5 / (1"))
    applied(marketing)
    point()
    (risk / "feature_services.py").unlink()
    applied(risk, "--prune")
    point()
    assert len({repr(digests) for _, digests in points}) == 5  # each step changed the registry
    return platform, points


def restore_each_point(platform: Path, points: list[tuple[int, dict]]) -> None:
    """Restore to every point, oldest first: each restore also undoes the restores before it."""
    for point, digests in points:
        result = invoke("restore", platform, "--to", point, "--yes")
        assert result.exit_code == 0, result.output
        assert object_digests(platform) == digests, f"restored to entry {point}"
