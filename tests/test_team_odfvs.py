"""A team repo's own tests and `check` run every ODFV it defines the way a server does:
rebuilt from its proto in a fresh process, on inputs made from its sources' schemas."""

from __future__ import annotations

import sys

import pytest

from support import build_org, cli, invoke, run

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


# --- what apply.py refuses before writing ------------------------------------------------

ODFV = """
from feast import Field, RequestSource
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64

from feast_federation import platform_view

THRESHOLD = 0.5
alpha_request = RequestSource(name="alpha_request", schema=[Field(name="amount", dtype=Float64)])


@on_demand_feature_view(
    sources=[platform_view("user_features", ["age"]), alpha_request],
    schema=[Field(name="ratio", dtype=Float64)],
    mode="python",
)
def alpha_bad(inputs: dict) -> dict:
    return {BODY}
"""
MISTAKES = {
    "wrong output key": (
        '"ratoi": [a / 2 for a in inputs["amount"]]',
        "OnDemandFeatureView alpha_bad: its schema declares ratio, which its UDF does not "
        "return (the UDF returns ratoi (Float64))",
    ),
    "mismatched type": (
        '"ratio": [str(a) for a in inputs["amount"]]',
        "OnDemandFeatureView alpha_bad: its schema declares ratio as Float64, but its UDF "
        "returns String (the UDF returns ratio (String))",
    ),
    "input key typo": (
        '"ratio": [a / 2 for a in inputs["amont"]]',
        "OnDemandFeatureView alpha_bad: its UDF reads input 'amont', which its sources do not "
        "give (they give age, amount) at planted.py:18",
    ),
    "raising UDF": (
        '"ratio": [a / 0 for a in inputs["amount"]]',
        "OnDemandFeatureView alpha_bad: its UDF raised ZeroDivisionError: float division by "
        "zero at planted.py:18",
    ),
    "module-level name": (
        '"ratio": [a * THRESHOLD for a in inputs["amount"]]',
        "ODFV alpha_bad fails when rebuilt from its source as a server does: NameError: name "
        "'THRESHOLD' is not defined",
    ),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_apply_refuses_an_odfv_mistake_in_one_line_naming_it(team, mistake):
    """Each mistake refused by the apply before anything is written: the four Feast's
    inference finds (named: the ODFV, the field), and a UDF that reads a module-level name,
    which only the rebuild a server makes finds (the serving check, which the apply runs on
    the ODFVs it adds or changes). The last runs as the repo's own `python apply.py`; the
    others through the same command in this process (apply.py is that command)."""
    from support import registry_fingerprint

    body, message = MISTAKES[mistake]
    before = registry_fingerprint(team)
    (team / "planted.py").write_text(ODFV.replace("{BODY}", "{" + body + "}"))
    try:
        if mistake == "module-level name":
            result = run([sys.executable, "apply.py"], cwd=team)
            code, output = result.returncode, result.stderr
        else:
            result = invoke("apply", team)
            code, output = result.exit_code, result.output
    finally:
        (team / "planted.py").unlink()
    assert code == 1, output
    named = [line for line in output.strip().splitlines() if "alpha_bad" in line]
    assert len(named) == 1 and message in named[0], output
    assert "Traceback" not in output
    assert registry_fingerprint(team) == before
