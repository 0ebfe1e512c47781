"""The onboarding value objects: a platform spec and a team spec are checked once, when they
are built, and what receives one (baking, the template hooks, registration) does not check
its values again, whichever way a repo is made: add-team, bootstrap or plain cookiecutter."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pytest

from feast_federation.errors import FederationError
from feast_federation.onboarding import PlatformSpec, TeamSpec, bake_platform, handed_over, specs
from feast_federation.onboarding.team_config import FederationSource
from support import ROOT, invoke


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Path:
    return bake_platform(tmp_path_factory.mktemp("specs"), project="acme", owners=["p@acme.io"])


@pytest.fixture()
def checks(monkeypatch) -> Counter:
    """How many times each kind of spec is checked: every check runs in TeamSpec.build or
    PlatformSpec.__post_init__."""
    counted: Counter = Counter()
    build, post_init = TeamSpec.build.__func__, PlatformSpec.__post_init__

    def team(cls, *args, **kwargs):
        counted["team"] += 1
        return build(cls, *args, **kwargs)

    def platform(self):
        counted["platform"] += 1
        post_init(self)

    monkeypatch.setattr(TeamSpec, "build", classmethod(team))
    monkeypatch.setattr(PlatformSpec, "__post_init__", platform)
    return counted


def test_add_team_checks_the_team_once(platform, tmp_path, checks):
    added = invoke("add-team", "growth", "--platform", platform, "--output-dir", tmp_path)
    assert added.exit_code == 0, added.output
    assert checks == {"team": 1}
    assert (tmp_path / "growth" / "feature_store.yaml").is_file()


def test_bootstrap_checks_the_platform_and_each_team_once(tmp_path, checks):
    made = invoke("bootstrap", tmp_path / "org", "--team", "alpha", "--team", "beta")
    assert made.exit_code == 0, made.output
    assert checks == {"platform": 1, "team": 2}


def test_plain_cookiecutter_checks_once_in_its_pre_generation_hook(platform, tmp_path, checks):
    from cookiecutter.main import cookiecutter

    context = {"team_name": "plain", "platform_dir": str(platform)}
    for template in ("cookiecutter-team", "cookiecutter-platform"):
        cookiecutter(
            str(ROOT / template), no_input=True, extra_context=context, output_dir=str(tmp_path)
        )
    assert checks == {"team": 1, "platform": 1}
    assert "plain" in (platform / "federation.yaml").read_text()


def test_a_platform_spec_is_checked_whenever_it_is_made():
    spec = PlatformSpec(project="acme", owners=["p@acme.io"])  # a list given stays data
    assert spec.owners == ("p@acme.io",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.ci = "jenkins"  # type: ignore[misc]
    with pytest.raises(FederationError, match="^ci jenkins: choose one of github, gitlab, none$"):
        dataclasses.replace(spec, ci="jenkins")
    with pytest.raises(FederationError, match="^project acme: give at least one platform owner$"):
        PlatformSpec(project="acme", owners=())


def test_a_team_spec_holds_what_it_takes_from_the_platform(platform):
    spec = TeamSpec.build(str(platform / ".." / platform.name), team="risk", owners=["r@a.io"])
    assert spec.platform_dir == platform.resolve() and spec.project == "acme"
    assert spec.starter_view == "user_features"  # the first view with a starter of its own
    assert spec.federation == FederationSource.of_repo(platform)
    assert (spec.registry_server, spec.offline_schema, spec.policy_offline_schema) == (
        "", "risk", ""
    )  # fmt: skip
    chosen = TeamSpec.build(platform, team="risk", owners=["r@a.io"], offline_schema="risk_lab")
    assert chosen.policy_offline_schema == "risk_lab"  # recorded: not the team's own name


def test_a_hook_takes_only_the_spec_of_its_own_bake(platform):
    spec = TeamSpec.build(platform, team="risk", owners=["r@a.io"])
    values = {**spec.context(), "__starter": spec.starter, "_output_dir": "/elsewhere"}
    assert handed_over(TeamSpec, values) is None  # no bake under way
    with specs.handing_over(spec):
        assert handed_over(TeamSpec, values) is spec
        assert handed_over(PlatformSpec, values) is None
        assert handed_over(TeamSpec, {**values, "owners": "x@a.io"}) is None
        assert handed_over(TeamSpec, {**values, "__starter": "{}"}) is None
    assert handed_over(TeamSpec, values) is None
