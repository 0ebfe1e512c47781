"""A team repo's own tests and `check` run every ODFV it defines the way a server does:
rebuilt from its proto in a fresh process, on inputs made from its sources' schemas."""

from __future__ import annotations

import sys

import pytest

from support import build_org, cli, run

pytestmark = pytest.mark.slow

# A second module of ODFVs: one serves, one reads a module-level constant, which Feast's
# rebuild from source does not have.
MORE_VIEWS = """
from feast import Field, RequestSource
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64, Int64, String

from feast_federation import platform_view

RATE = 1.1

alpha_order_request = RequestSource(
    name="alpha_order_request",
    schema=[Field(name="amount", dtype=Float64), Field(name="channel", dtype=String)],
)


@on_demand_feature_view(
    sources=[platform_view("user_features", ["age"]), alpha_order_request],
    schema=[Field(name="age_next_year", dtype=Int64)],
    mode="python",
)
def alpha_age_next_year(inputs: dict) -> dict:
    return {"age_next_year": [(age or 0) + 1 for age in inputs["age"]]}


@on_demand_feature_view(
    sources=[alpha_order_request],
    schema=[Field(name="amount_with_tax", dtype=Float64)],
    mode="python",
)
def alpha_amount_with_tax(inputs: dict) -> dict:
    return {"amount_with_tax": [amount * RATE for amount in inputs["amount"]]}
"""


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    _, [team] = build_org(tmp_path_factory.mktemp("org"), teams=(("alpha", "user_features"),))
    return team


def test_the_teams_pytest_fails_on_an_odfv_that_reads_a_module_constant(team):
    clean = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=team)
    assert clean.returncode == 0, clean.stdout[-3000:]
    (team / "more_views.py").write_text(MORE_VIEWS)
    try:
        failed = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=team)
        checked = cli("check", str(team))
    finally:
        (team / "more_views.py").unlink()
    assert failed.returncode == 1, failed.stdout[-3000:]
    assert "ODFV alpha_amount_with_tax fails when rebuilt" in failed.stdout
    assert "NameError: name 'RATE' is not defined" in failed.stdout
    assert "alpha_age_next_year" not in failed.stdout  # found, run, and it serves
    assert checked.returncode == 1
    [line] = checked.stderr.strip().splitlines() or checked.stdout.strip().splitlines()
    assert "ODFV alpha_amount_with_tax fails when rebuilt" in line, checked.stdout
    assert "NameError: name 'RATE' is not defined" in line
