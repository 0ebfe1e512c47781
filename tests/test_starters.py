"""A team repo starts from any view of its platform, not only the demo's: a platform whose
views are all its own (synced, so its contract comes from the registry) gets team repos
that pass their own ruff and pytest and plan and apply against its registry; a view the
platform lacks is refused in one line, with nothing written, by the CLI and the template."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from support import ROOT, invoke, run
from support.baking import assert_fully_rendered, assert_ruff_clean, files_of

TEAM_TEMPLATE = str(ROOT / "cookiecutter-team")
# The platform's own views: numeric features, only a text feature, and a name the generic
# starter cannot bind to a Python variable.
FEATURE_VIEWS = '''"""Feature views of a marketplace platform."""

from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64, String
from feast_federation import data_location

merchant = Entity(name="merchant", join_keys=["merchant_id"], value_type=ValueType.INT64)
merchant_source = FileSource(
    name="merchant_source",
    path=f"{data_location(__file__)}/merchants.parquet",
    timestamp_field="event_timestamp",
)


def _view(name, *fields):
    return FeatureView(
        name=name, entities=[merchant], ttl=timedelta(days=1), schema=list(fields),
        source=merchant_source,
    )


merchant_stats = _view(
    "merchant_stats", Field(name="revenue", dtype=Float64), Field(name="orders", dtype=Int64),
    Field(name="category", dtype=String),
)
merchant_names = _view("merchant_names", Field(name="display_name", dtype=String))
keyword_view = _view("class", Field(name="tier", dtype=Int64))
'''


def ok(result):
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Path:
    """A platform repo with none of the demo's views, synced: its contract is the registry's."""
    import pandas as pd

    from feast_federation import data_location
    from feast_federation.onboarding import bake_platform

    platform = bake_platform(
        tmp_path_factory.mktemp("marketplace"), project="market", owners=["p@market.io"]
    )
    now = pd.Timestamp.now(tz="UTC")
    pd.DataFrame(
        {
            "merchant_id": [1, 2], "event_timestamp": [now, now], "revenue": [10.0, 2.5],
            "orders": [3, 1], "category": ["food", "toys"], "display_name": ["A", "B"],
            "tier": [1, 2],
        }
    ).to_parquet(f"{data_location(platform)}/merchants.parquet")  # fmt: skip
    (platform / "feature_views.py").write_text(FEATURE_VIEWS)
    ok(run([sys.executable, "apply.py", "--yes"], cwd=platform))
    views = json.loads((platform / "platform_contract.json").read_text())["views"]
    assert sorted(views) == ["class", "merchant_names", "merchant_stats"]
    return platform


@pytest.fixture(scope="module")
def teams(platform, cookies_session, tmp_path_factory) -> dict[str, Path]:
    """pricing, by plain cookiecutter on merchant_stats; growth, by add-team on the default;
    then the platform publishes the policy that registers them."""
    baked = cookies_session.bake(
        template=TEAM_TEMPLATE,
        extra_context={
            "platform_dir": str(platform), "team_name": "pricing",
            "starter_view": "merchant_stats",
        },
    )  # fmt: skip
    assert baked.exit_code == 0, baked.exception
    out = tmp_path_factory.mktemp("teams")
    added = invoke("add-team", "growth", "--platform", platform, "--output-dir", out)
    assert added.exit_code == 0, added.output
    ok(run([sys.executable, "apply.py", "--yes"], cwd=platform))
    return {"pricing": baked.project_path, "growth": out / "growth"}


def assert_team_repo_works(repo: Path, *, plan: bool = True) -> None:
    """The team's own checks pass, then its plan and apply run against the platform's
    registry, each in a fresh process."""
    assert_ruff_clean(repo)
    ok(run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo))
    if plan:
        planned = run([sys.executable, "apply.py", "--plan"], cwd=repo)
        assert planned.returncode == 2, planned.stdout[-3000:] + planned.stderr[-3000:]
        assert f"{repo.name}_score" in planned.stdout
    ok(run([sys.executable, "apply.py"], cwd=repo))


@pytest.mark.slow
def test_cookiecutter_starts_a_team_from_a_view_only_this_platform_has(teams):
    views = (teams["pricing"] / "on_demand_views.py").read_text()
    # Its ODFV reads only the numeric features, not the text one (category).
    assert 'merchant_stats = platform_view("merchant_stats", ["orders", "revenue"])' in views
    assert 'features = ["orders", "revenue"]' in views
    assert_fully_rendered(teams["pricing"])
    assert_team_repo_works(teams["pricing"])


@pytest.mark.slow
def test_add_team_defaults_to_the_platforms_first_usable_view(platform, teams):
    """The views sort as class, merchant_names, merchant_stats: `class` cannot name a
    variable, so the default is merchant_names, whose only feature is text."""
    views = (teams["growth"] / "on_demand_views.py").read_text()
    assert 'merchant_names = platform_view("merchant_names")' in views
    assert "growth" in yaml.safe_load((platform / "federation.yaml").read_text())["teams"]
    # A cruft update renders the starter from what the link recorded, without the platform.
    recorded = json.loads((teams["growth"] / ".cruft.json").read_text())["context"]
    starter = json.loads(recorded["cookiecutter"]["__starter"])
    assert starter == {"folder": "_generic", "numeric_fields": []}
    assert_team_repo_works(teams["growth"], plan=False)  # planning is pricing's to prove


@pytest.mark.slow
def test_plain_cookiecutter_offers_the_platforms_default(cookies, platform):
    result = cookies.bake(
        template=TEAM_TEMPLATE, extra_context={"platform_dir": str(platform), "team_name": "ops"}
    )
    assert result.exit_code == 0, result.exception
    assert "merchant_names" in (result.project_path / "feature_services.py").read_text()


NOT_OFFERED = (
    "error: starter_view 'user_features': not a view of the platform at {platform} "
    "(its views: class, merchant_names, merchant_stats)"
)
KEYWORD = (
    "error: starter_view 'class': the generic starter names a Python variable after the "
    "view, which this cannot be; choose another (class, merchant_names, merchant_stats)"
)


@pytest.mark.slow
@pytest.mark.parametrize(("view", "message"), [("user_features", NOT_OFFERED), ("class", KEYWORD)])
@pytest.mark.parametrize("path", ["add-team", "cookiecutter"])
def test_a_view_the_platform_cannot_offer_is_refused_leaving_nothing(
    platform, tmp_path, path, view, message
):
    policy = (platform / "federation.yaml").read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    if path == "add-team":
        args = ["add-team", "fraud", "--platform", platform, "--output-dir", out]
        result = invoke(*args, "--starter-view", view)
        code, output = result.exit_code, result.output
    else:
        result = run(
            [
                sys.executable, "-m", "cookiecutter", TEAM_TEMPLATE, "--no-input",
                "--output-dir", str(out), "team_name=fraud", f"platform_dir={platform}",
                f"starter_view={view}",
            ]
        )  # fmt: skip
        code, output = result.returncode, result.stdout + result.stderr
    assert code == 1
    assert output.strip().splitlines() == [message.format(platform=platform)]
    assert (platform / "federation.yaml").read_bytes() == policy
    assert files_of(out) == [] and list(out.iterdir()) == []


def test_a_platform_without_a_contract_has_no_views_to_offer(tmp_path):
    """An adopted repo before its first sync: no contract, so no starter to build on."""
    from feast_federation.onboarding import bake_platform

    platform = bake_platform(tmp_path, project="market", owners=["p@market.io"])
    (platform / "platform_contract.json").unlink()
    policy = (platform / "federation.yaml").read_bytes()
    result = invoke("add-team", "fraud", "--platform", platform, "--output-dir", tmp_path / "t")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: platform_dir {platform}: no platform_contract.json, so there are no views to "
        "start from; sync the platform first (python apply.py in the platform repo)"
    ]
    assert (platform / "federation.yaml").read_bytes() == policy
    assert not (tmp_path / "t").exists()


@pytest.mark.slow
def test_a_platform_cookiecutter_could_not_read_while_asking_gets_the_path_hint(platform, tmp_path):
    """A relative platform_dir is read from the current directory while cookiecutter asks,
    and from the output directory by the hooks: the view it offered is then empty."""
    policy = (platform / "federation.yaml").read_bytes()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run(
        [
            sys.executable, "-m", "cookiecutter", TEAM_TEMPLATE, "--no-input",
            "--output-dir", str(platform.parent), "team_name=fraud",
            f"platform_dir={platform.name}",
        ],
        cwd=elsewhere,
    )  # fmt: skip
    assert result.returncode == 1
    (line,) = (result.stdout + result.stderr).strip().splitlines()
    assert line.startswith("error: starter_view '': the template could not read the platform's")
    assert line.endswith(
        "while asking; give platform_dir as an absolute path, or starter_view as one of: "
        "class, merchant_names, merchant_stats"
    )
    assert (platform / "federation.yaml").read_bytes() == policy
    assert not (platform.parent / "fraud").exists()
