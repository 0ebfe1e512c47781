"""The command line as a Feast, terraform or cookiecutter user expects it: -h, --version,
terraform's exit codes (usage errors are 1, never 2), whole names when piped."""

from __future__ import annotations

import sys

import pytest
import yaml

from support import cli, invoke, run


def test_help_and_version():
    assert "Usage: feast-federation" in cli("-h").stdout
    version = cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("feast-federation 0.")
    assert "--install-completion" in cli("--help").stdout


def test_usage_errors_exit_1_never_2(tmp_path):
    """A pipeline step `plan || [ $? -eq 2 ]` must not pass on a typo."""
    mistyped = cli("plan", "--markdwon", str(tmp_path))
    assert mistyped.returncode == 1
    assert mistyped.stderr.strip().splitlines() == [
        "error: No such option: --markdwon (Possible options: --markdown) "
        "(see feast-federation plan --help)"
    ]
    assert cli("add-team").returncode == 1
    assert cli().returncode == 1


def test_a_generated_apply_script_has_the_same_exit_codes(tmp_path):
    assert invoke("bootstrap", tmp_path / "org", "--team", "alpha").exit_code == 0
    team = tmp_path / "org" / "teams" / "alpha"
    mistyped = run([sys.executable, "apply.py", "--plan", "--markdwon"], cwd=team)
    assert mistyped.returncode == 1 and "No such option: --markdwon" in mistyped.stderr
    assert "Usage: apply.py" in run([sys.executable, "apply.py", "-h"], cwd=team).stdout


@pytest.mark.slow
def test_bootstrap_without_teams_and_piped_names_are_whole(tmp_path):
    assert invoke("bootstrap", tmp_path / "org").exit_code == 0
    long_name = "a_team_with_a_long_long_name"
    added = invoke("add-team", long_name, "--platform", tmp_path / "org" / "platform")
    assert added.exit_code == 0, added.output
    planned = cli("plan", str(tmp_path / "org" / "platform"))  # stdout is a pipe here
    assert planned.returncode == 2
    assert "…" not in planned.stdout
    assert f"federation-team-{long_name}-apply-dummy-entity" in planned.stdout
    applied = cli("apply", str(tmp_path / "org" / "platform"))
    assert applied.returncode == 0
    assert " changed, " in applied.stdout and "to change" not in applied.stdout


def test_team_repos_of_a_registry_server_org_go_through_the_server(tmp_path):
    made = invoke(
        "bootstrap", tmp_path / "org", "--team", "alpha", "--registry-server", "oidc",
        "--registry-server-address", "registry.acme.internal:6570",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    platform = tmp_path / "org" / "platform"
    assert invoke("add-team", "beta", "--platform", platform).exit_code == 0
    for team in ("alpha", "beta"):
        config = yaml.safe_load(
            (tmp_path / "org" / "teams" / team / "feature_store.yaml").read_text()
        )
        assert config["registry"] == {
            "registry_type": "remote", "path": "registry.acme.internal:6570"
        }  # fmt: skip
        assert config["auth"]["token_env_var"] == "FEAST_REGISTRY_TOKEN"
    policy = platform / "federation.yaml"
    policy.write_text(policy.read_text().replace('address: "registry.acme.internal:6570"', ""))
    refused = invoke("add-team", "gamma", "--platform", platform)
    assert refused.exit_code == 1
    assert "team repos reach the registry only through it" in refused.output
    assert not (tmp_path / "org" / "teams" / "gamma").exists()
