"""The repo's objects follow the policy the platform published; nothing is written."""

from pathlib import Path

from feast_federation.testing import repo_problems

REPO = Path(__file__).resolve().parents[1]


def test_definitions_follow_the_federation_rules():
    assert repo_problems(REPO) == []
