"""The repo's definitions follow the federation rules, checked without touching the registry."""

from pathlib import Path

from feast_federation.testing import (
    checkout_path_problems,
    ownership_problems,
    platform_contract_problems,
)

REPO = Path(__file__).resolve().parents[1]


def test_definitions_follow_the_federation_rules():
    assert ownership_problems(REPO) == []


def test_the_published_contract_matches_the_definitions():
    """platform_contract.json is what team repos build on; the sync rewrites it."""
    assert platform_contract_problems(REPO) == []


def test_no_definition_stores_a_path_inside_this_checkout():
    """The registry stores each source's path: one inside this checkout changes with every
    clone (a laptop, each CI job's folder). Data lives at the data location."""
    assert checkout_path_problems(REPO) == []


def test_every_view_is_documented():
    from feature_views import customer_features, driver_stats, user_features

    for view in (user_features, driver_stats, customer_features):
        assert view.description and view.owner, view.name
        assert all(field.description for field in view.schema), view.name
