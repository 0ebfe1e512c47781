"""Both templates bake cleanly, and bad team names are refused with nothing left behind."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

from feast_federation import data_location
from support import ROOT, invoke, run
from support.baking import assert_fully_rendered, assert_ruff_clean, files_of
from support.hostile import HOSTILE_NAMES

PLATFORM_TEMPLATE = str(ROOT / "cookiecutter-platform")
TEAM_TEMPLATE = str(ROOT / "cookiecutter-team")


@pytest.fixture(scope="module")
def platform(cookies_session):
    result = cookies_session.bake(
        template=PLATFORM_TEMPLATE,
        extra_context={"project_name": "acme", "platform_owners": "ana@acme.io, bo@acme.io"},
    )
    assert result.exit_code == 0, result.exception
    return result.project_path


def bake_team(cookies, platform: Path, **context):
    return cookies.bake(
        template=TEAM_TEMPLATE, extra_context={"platform_dir": str(platform), **context}
    )


def test_platform_bakes_a_complete_repo(platform):
    expected = {
        "feature_store.yaml", "federation.yaml", "entities.py", "data_sources.py",
        "feature_views.py", "apply.py", "scripts/generate_sample_data.py", "README.md",
        "tests/test_definitions.py", ".github/workflows/feature-store.yml",
        ".github/workflows/template-drift.yml", "CODEOWNERS", "requirements.txt",
        "pyproject.toml", ".pre-commit-config.yaml", "platform_contract.json",
    }  # fmt: skip
    assert expected <= {str(path.relative_to(platform)) for path in files_of(platform)}
    # The sample data lives beside the repo, where every clone of it reads the same files.
    assert data_location(platform) == str(platform.parent / "platform-data")
    assert sorted(path.name for path in (platform.parent / "platform-data").iterdir()) == [
        "customer_features.parquet", "driver_stats.parquet", "user_features.parquet"
    ]  # fmt: skip
    assert not list(platform.glob("data/*.parquet"))
    assert_fully_rendered(platform)
    assert_ruff_clean(platform)
    policy = yaml.safe_load((platform / "federation.yaml").read_text())
    assert policy == {
        "project": "acme",
        "platform": {"owners": ["ana@acme.io", "bo@acme.io"], "role": "feast-platform"},
        "backups": {"path": ".federation/backups", "keep": 20},
        "teams": {},
    }
    assert "/federation.yaml ana@acme.io bo@acme.io" in (platform / "CODEOWNERS").read_text()
    store = yaml.safe_load((platform / "feature_store.yaml").read_text())
    assert store["registry"]["registry_type"] == "sql"
    assert store["registry"]["path"] == f"sqlite:///{platform}/data/registry.db"
    assert "feast>=0.67,<0.68" in (platform / "requirements.txt").read_text()


def test_sample_data_is_recent_and_realistic(platform):
    import pandas as pd

    frame = pd.read_parquet(f"{data_location(platform)}/customer_features.parquet")
    newest = frame["event_timestamp"].max()
    assert pd.Timestamp.now(tz="UTC") - newest < pd.Timedelta(hours=2)
    assert frame["customer_id"].nunique() == 20
    assert (frame["avg_order_value"] > 0).all() and (frame["total_purchases"] >= 0).all()


@pytest.mark.parametrize("starter_view", ["user_features", "customer_features", "driver_stats"])
def test_team_bakes_and_registers(cookies, platform, starter_view):
    team = f"team_{starter_view.split('_')[0]}"
    policy_before = (platform / "federation.yaml").read_text()
    result = bake_team(cookies, platform, team_name=team, starter_view=starter_view)
    assert result.exit_code == 0, result.exception
    repo = result.project_path
    assert repo.name == team
    expected = {
        "feature_store.yaml", "on_demand_views.py", "feature_services.py", "apply.py",
        "tests/test_on_demand_views.py", "tests/test_definitions.py", "README.md",
        ".github/workflows/feature-services.yml", "requirements.txt", "pyproject.toml",
        "tests/conftest.py", "platform_contract.json",
    }  # fmt: skip
    assert expected <= {str(path.relative_to(repo)) for path in files_of(repo)}
    assert (repo / "platform_contract.json").read_text() == (
        platform / "platform_contract.json"
    ).read_text()
    assert_fully_rendered(repo)
    assert_ruff_clean(repo)
    shared = (platform / "feature_store.yaml").read_text()
    assert yaml.safe_load((repo / "feature_store.yaml").read_text()) == yaml.safe_load(shared)
    policy_after = (platform / "federation.yaml").read_text()
    assert policy_after.startswith(policy_before.replace("teams: {}", "teams:"))
    registered = yaml.safe_load(policy_after)["teams"][team]
    assert registered == {"prefix": f"{team}_", "owners": [f"{team}-leads@example.com"]}
    for text in (repo / "on_demand_views.py", repo / "feature_services.py"):
        assert f'name="{team}_' in text.read_text()


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in files_of(directory)}


def bake_refused(template: str, out: Path, context: dict) -> None:
    """Bake with cookiecutter itself into ``out`` and expect the hook to stop it."""
    from cookiecutter.exceptions import FailedHookException
    from cookiecutter.main import cookiecutter

    with pytest.raises(FailedHookException):
        cookiecutter(template, no_input=True, extra_context=context, output_dir=str(out))


@pytest.mark.parametrize("name", [*HOSTILE_NAMES, "team_user"])
def test_template_hook_refuses_bad_names_leaving_nothing(cookies, platform, tmp_path, name):
    if name == "team_user" and "team_user" not in (platform / "federation.yaml").read_text():
        assert bake_team(cookies, platform, team_name="team_user").exit_code == 0
    policy_before = (platform / "federation.yaml").read_bytes()
    area = tmp_path / "area"
    out = area / "out"
    out.mkdir(parents=True)
    bake_refused(TEAM_TEMPLATE, out, {"platform_dir": str(platform), "team_name": name})
    assert (platform / "federation.yaml").read_bytes() == policy_before
    assert list(area.iterdir()) == [out]  # "../x" would land beside out/
    assert list(out.iterdir()) == []


def test_template_hook_refuses_nested_prefix(cookies, platform):
    assert bake_team(cookies, platform, team_name="data").exit_code == 0
    for nested in ("data_science", "team"):
        result = bake_team(cookies, platform, team_name=nested)
        assert result.exit_code != 0


def test_plain_cookiecutter_bakes_a_team_from_a_checkout(platform, tmp_path):
    """The command a team runs by hand: the hook finds the rules beside the template."""
    result = run(
        [
            sys.executable, "-m", "cookiecutter", str(ROOT), "--directory", "cookiecutter-team",
            "--no-input", "--output-dir", str(tmp_path), "team_name=plain_team",
            f"platform_dir={platform}",
        ]
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "plain_team" / "feature_store.yaml").is_file()
    assert "plain_team" in yaml.safe_load((platform / "federation.yaml").read_text())["teams"]
    refused = run(
        [
            sys.executable, "-m", "cookiecutter", str(ROOT), "--directory", "cookiecutter-team",
            "--no-input", "--output-dir", str(tmp_path), "team_name=Plain-Team",
            f"platform_dir={platform}",
        ]
    )  # fmt: skip
    assert refused.returncode == 1
    # One line, no traceback (plain cookiecutter prints its errors on stdout).
    [line] = (refused.stdout + refused.stderr).strip().splitlines()
    assert line.startswith("error: team name 'Plain-Team': use lowercase ASCII letters"), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain_team"]


# --- the CLI ---------------------------------------------------------------------------


@pytest.fixture()
def cli_platform(tmp_path):
    from feast_federation.onboarding import bake_platform

    return bake_platform(tmp_path / "org", project="acme", owners=["ana@acme.io"])


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_cli_refuses_bad_names_leaving_nothing(cli_platform, tmp_path, name):
    before = _snapshot(tmp_path)
    result = invoke("add-team", name, "--platform", cli_platform, "--output-dir", tmp_path / "t")
    assert result.exit_code == 1
    assert result.output.startswith("error: team name")
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert _snapshot(tmp_path) == before


def test_cli_refuses_duplicates_and_nesting(cli_platform, tmp_path):
    args = ["--platform", cli_platform, "--output-dir", tmp_path / "teams"]
    assert invoke("add-team", "data", *args).exit_code == 0
    before = _snapshot(tmp_path)
    for name, rule in [("data", "already registered"), ("data_science", "would nest")]:
        result = invoke("add-team", name, *args)
        assert result.exit_code == 1 and rule in result.output, result.output
    assert _snapshot(tmp_path) == before


def test_add_team_registers_and_bakes_without_importing_feast(cli_platform, tmp_path):
    probe = (
        "import sys\n"
        "from feast_federation.cli import app\n"
        f"app(['add-team', 'growth', '--platform', {str(cli_platform)!r}, '--owner', 'g@x.io',"
        f" '--output-dir', {str(tmp_path / 'teams')!r}], standalone_mode=False)\n"
        "assert 'feast' not in sys.modules, 'baking imported feast'\n"
    )
    result = run([sys.executable, "-c", probe], fresh=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "teams" / "growth" / "on_demand_views.py").is_file()
    teams = yaml.safe_load((cli_platform / "federation.yaml").read_text())["teams"]
    assert teams == {"growth": {"prefix": "growth_", "owners": ["g@x.io"]}}


def test_bootstrap_refuses_a_bad_team_before_writing(tmp_path):
    result = invoke("bootstrap", tmp_path / "org", "--team", "marketing", "--team", "Bad")
    assert result.exit_code == 1 and "team name 'Bad'" in result.output
    assert not (tmp_path / "org").exists()


# --- pre-commit hooks ----------------------------------------------------------------------


def test_guard_refuses_stock_apply_in_a_team_repo(cookies, platform):
    repo = bake_team(cookies, platform, team_name="guarded").project_path
    guard = [sys.executable, str(ROOT / "hooks" / "guard_stock_apply.py")]
    files = [str(path) for path in files_of(repo) if path.suffix in {".py", ".yml", ".yaml"}]
    clean = run([*guard, *files, *(str(path) for path in files_of(platform))])
    assert clean.returncode == 0, clean.stderr
    (repo / "deploy.sh").write_text("#!/bin/sh\nfeast apply\n# feast apply in a comment is fine\n")
    (repo / "cleanup.py").write_text("store.apply(objs, objects_to_delete=old, partial=False)\n")
    caught = run([*guard, *files, str(repo / "deploy.sh"), str(repo / "cleanup.py")])
    assert caught.returncode == 1
    assert caught.stderr.splitlines() == [
        f"{repo / 'deploy.sh'}:2: runs stock `feast apply`, which deletes other repos' objects; "
        "use python apply.py",
        f"{repo / 'cleanup.py'}:1: passes partial=False, which deletes registry objects; "
        "use python apply.py",
        f"{repo / 'cleanup.py'}:1: passes objects_to_delete, which deletes registry objects; "
        "use python apply.py",
    ]


def test_generated_repos_use_the_projects_pre_commit_hooks(platform, cookies):
    hooks = {hook["id"] for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    team = bake_team(cookies, platform, team_name="hooked").project_path
    for repo, expected in ((team, hooks), (platform, hooks)):
        config = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())
        [entry] = config["repos"]
        assert entry["rev"] == "v0.1.0"
        assert {hook["id"] for hook in entry["hooks"]} == expected


def test_plain_cookiecutter_takes_the_project_from_the_platform(tmp_path):
    """A team need not type what the platform's federation.yaml already says."""
    assert invoke("bootstrap", tmp_path / "org", "--project", "shop").exit_code == 0
    result = run(
        [sys.executable, "-m", "cookiecutter", str(ROOT / "cookiecutter-team"), "--no-input",
         "--output-dir", str(tmp_path / "teams"), "team_name=beta",
         f"platform_dir={tmp_path / 'org' / 'platform'}"]
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    workflow = tmp_path / "teams" / "beta" / ".github" / "workflows" / "feature-services.yml"
    assert "group: feast-registry-shop" in workflow.read_text()


@pytest.mark.parametrize("registry_server", ["none", "oidc"])
def test_platform_readme_headings_stand_apart_and_the_policy_lock_is_ignored(
    cookies, registry_server, tmp_path
):
    result = cookies.bake(
        template=PLATFORM_TEMPLATE,
        extra_context={"project_name": "acme", "registry_server": registry_server},
    )
    assert result.exit_code == 0, result.exception
    repo = result.project_path
    lines = (repo / "README.md").read_text().splitlines()
    fenced = False
    for before, line in zip(["", *lines], lines, strict=False):
        fenced ^= line.startswith("```")
        assert fenced or not re.search(r"[^\s#]#{1,6} \w", line), line  # "text.## Title"
        if not fenced and line.startswith("#"):
            assert before == "", f"heading {line!r} follows {before!r}"
    assert run(["git", "init", "-q"], cwd=repo).returncode == 0
    (repo / ".federation.yaml.lock").write_text("")
    ignored = run(["git", "check-ignore", ".federation.yaml.lock"], cwd=repo)
    assert ignored.returncode == 0, "git would commit the policy lock"


def test_a_data_location_is_one_setting_every_checkout_reads(tmp_path, monkeypatch):
    """--data-location (a folder given relative to here, or an object-store URI) is recorded
    in the platform's pyproject.toml; FEAST_DATA_LOCATION overrides it; none may be a path
    inside the new repo, relative, or for an offline store that reads tables."""
    monkeypatch.chdir(tmp_path)
    made = invoke("bootstrap", "org", "--data-location", "lake", "--team", "alpha")
    assert made.exit_code == 0, made.output
    platform = tmp_path / "org" / "platform"
    assert data_location(platform) == str(tmp_path / "lake")
    assert data_location(platform / "feature_views.py") == str(tmp_path / "lake")
    assert (tmp_path / "lake" / "user_features.parquet").is_file()  # the sample data
    monkeypatch.setenv("FEAST_DATA_LOCATION", "s3://acme-feast/data/")
    assert data_location(platform) == "s3://acme-feast/data"
    monkeypatch.delenv("FEAST_DATA_LOCATION")

    made = invoke("bootstrap", "cloud", "--registry", "s3", "--online-store", "dynamodb",
                  "--data-location", "s3://acme-feast/data")  # fmt: skip
    assert made.exit_code == 0, made.output
    assert data_location(tmp_path / "cloud" / "platform") == "s3://acme-feast/data"
    assert "feast[aws]" in (tmp_path / "cloud" / "platform" / "requirements.txt").read_text()
    assert "install requirements.txt, then run" in made.output  # nothing written to S3 here

    for args, refused in [
        (["--data-location", "inside/platform/data"], "inside the new platform repo"),
        (["--data-location", "ftp://host/data"], "expected an absolute folder or an s3://"),
        (["--offline-store", "postgres", "--data-location", "/srv/data"], "reads tables"),
        (["--registry", "postgres", "--online-store", "postgres"], "give a data location"),
    ]:
        result = invoke("bootstrap", "inside", *args)
        assert result.exit_code == 1 and refused in result.output, result.output
        assert not (tmp_path / "inside").exists()
