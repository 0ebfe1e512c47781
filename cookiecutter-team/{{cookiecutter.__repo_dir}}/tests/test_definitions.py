"""The repo's objects follow the federation rules and read only what the platform contract
offers; read from the source, with no registry and nothing written."""

from pathlib import Path

from feast_federation.testing import ownership_problems

REPO = Path(__file__).resolve().parents[1]


def test_definitions_follow_the_federation_rules():
    assert ownership_problems(REPO) == []
