"""The feature catalog, in every format, on a bootstrapped org; the HTML page in a real browser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import build_org, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    platform, teams = build_org(tmp_path_factory.mktemp("catalog") / "org")
    return platform


def catalog(platform: Path, fmt: str) -> str:
    result = run([sys.executable, "-m", "feast_federation.cli", "catalog", str(platform),
                  "--format", fmt])  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_json_catalog_lists_views_users_and_teams(org):
    data = json.loads(catalog(org, "json"))
    views = {view["name"]: view for view in data["views"]}
    assert set(views) == {"user_features", "driver_stats", "customer_features"}
    customer = views["customer_features"]
    assert customer["features"] == [
        {"name": "total_purchases", "type": "INT64", "description": "Orders placed so far."},
        {"name": "avg_order_value", "type": "DOUBLE", "description": "Mean order value in EUR."},
    ]
    assert customer["ttl"] == "30 days" and customer["owner"] == "plat@acme.io"
    assert customer["used_by"] == [
        {
            "kind": "FeatureService",
            "name": "marketing_campaign_model",
            "team": "marketing",
            "version": "latest",
        },
        {
            "kind": "OnDemandFeatureView",
            "name": "marketing_purchase_propensity",
            "team": "marketing",
            "version": "latest",
        },
    ]
    assert views["driver_stats"]["used_by"] == []
    teams = {team["name"]: team for team in data["teams"]}
    assert teams["risk"]["owners"] == ["risk-leads@example.com"]
    [odfv] = teams["risk"]["on_demand_views"]
    assert odfv["reads"] == ["user_features:account_balance"]  # the starter projects its view
    assert odfv["outputs"] == ["balance_after_transaction", "spend_ratio"]
    assert {e["name"] for e in data["entities"]} == {"user", "driver", "customer"}
    assert all(s["kind"] == "FileSource" for s in data["sources"])


def test_markdown_catalog(org):
    text = catalog(org, "markdown")
    assert text.startswith("# Feature catalog: project acme")
    assert "| <code>avg_order_value</code> | DOUBLE | Mean order value in EUR. |" in text
    assert (
        "Used by: marketing_campaign_model (team marketing), marketing_purchase_propensity" in text
    )
    assert "### Team risk (<code>risk_&#42;</code>, owners risk-leads@example.com)" in text


def test_html_catalog_is_one_self_contained_page(org, tmp_path):
    page = tmp_path / "catalog.html"
    result = run([sys.executable, "-m", "feast_federation.cli", "catalog", str(org),
                  "--format", "html", "--output", str(page)])  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = page.read_text()
    assert "<script src" not in text and "<link" not in text and "http" not in text
    assert 'id="search"' in text and "customer_features:avg_order_value" in text


def chromium() -> str | None:
    """Debian's chromium: used when present, installed when this is a root Debian machine."""
    found = shutil.which("chromium")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
        env=env, capture_output=True, timeout=900,
    )  # fmt: skip
    return shutil.which("chromium")


HEADLESS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def test_html_catalog_searches_in_headless_chromium(org, tmp_path):
    browser = chromium()
    if browser is None:
        pytest.skip("no chromium: not installed, and this machine cannot install Debian's")
    page = tmp_path / "catalog.html"
    page.write_text(catalog(org, "html"))
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    url = page.as_uri() + "#search=propensity"
    dom = run([browser, *HEADLESS, *profile, "--dump-dom", url], timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    rows = [line for line in dom.stdout.split("<tr") if "<td>" in line]
    shown = [row for row in rows if 'class="hidden"' not in row]
    assert shown and all("propensity" in row for row in shown)  # the search ran in the page
    assert len(shown) < len(rows)
    assert "entries" in dom.stdout and f"{len(shown)} entries" in dom.stdout
    shot = tmp_path / "catalog.png"
    taken = run([browser, *HEADLESS, *profile, "--window-size=1200,800",
                 f"--screenshot={shot}", url], timeout=120)  # fmt: skip
    assert taken.returncode == 0 and shot.read_bytes().startswith(b"\x89PNG"), taken.stderr[-2000:]
    colours = _colours(shot)
    assert (0x24, 0x47, 0x6B) in colours  # the catalog's table header, as its stylesheet paints it
    assert len(colours) > 8  # and text on it: a rendered page, not a blank one
    shutil.copy(shot, Path(os.environ.get("CATALOG_SCREENSHOT", tmp_path / "kept.png")))


def _colours(png: Path) -> set[tuple[int, int, int]]:
    import matplotlib.image

    pixels = matplotlib.image.imread(png)
    flat = (pixels[..., :3] * 255).round().astype("uint8").reshape(-1, 3)
    return {tuple(int(c) for c in p) for p in flat[:: max(1, len(flat) // 50000)]}


def test_a_team_repo_shows_the_catalog_by_the_published_policy(org, tmp_path):
    marketing = org.parent / "teams" / "marketing"
    checkout = tmp_path / "platform-elsewhere"
    shutil.move(org / "federation.yaml", checkout)  # a team's machine has no platform repo
    try:
        data = json.loads(catalog(marketing, "json"))
    finally:
        shutil.move(checkout, org / "federation.yaml")
    assert data == json.loads(catalog(org, "json"))
