"""The installed package carries both templates, and the demo runs."""

from __future__ import annotations

import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from support import ROOT, cli, run, venv_commands_first


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)]
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    [wheel] = out.glob("feast_federation-*.whl")
    return wheel


def test_wheel_bundles_templates_and_shared_hooks(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "feast_federation/rules/ownership.py",
        "feast_federation/templates/hooks/cookiecutter_hooks.py",
        "feast_federation/templates/cookiecutter-team/cookiecutter.json",
        "feast_federation/templates/cookiecutter-team/hooks/pre_gen_project.py",
        "feast_federation/templates/cookiecutter-team/{{cookiecutter.__repo_dir}}/apply.py",
        "feast_federation/templates/cookiecutter-team/templates/starters/user_features/on_demand_views.py",
        "feast_federation/templates/cookiecutter-platform/{{cookiecutter.repo_name}}/apply.py",
    ):
        assert expected in names, expected


def test_installed_package_bakes_from_its_bundled_templates(wheel, tmp_path):
    site = tmp_path / "site"
    installed = run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ]
    )
    assert installed.returncode == 0, installed.stderr
    env = {**os.environ, "PYTHONPATH": str(site)}
    probe = (
        "import sys, feast_federation, feast_federation.onboarding as o\n"
        f"assert feast_federation.__file__.startswith({str(site)!r}), feast_federation.__file__\n"
        f"assert str(o.templates_root()).startswith({str(site)!r})\n"
        "from feast_federation.cli import main\n"
        "sys.argv = ['feast-federation'] + sys.argv[1:]\n"
        "main()\n"
    )
    org = tmp_path / "org"
    for args in (
        ["bootstrap", str(org), "--team", "alpha"],
        ["add-team", "beta", "--platform", str(org / "platform")],
    ):
        result = run([sys.executable, "-c", probe, *args], cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
    teams = yaml.safe_load((org / "platform" / "federation.yaml").read_text())["teams"]
    assert set(teams) == {"alpha", "beta"}
    assert (org / "teams" / "beta" / "feature_services.py").is_file()


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path):
    result = cli("demo", "--dir", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "marketing_campaign_model (team marketing)" in out
    assert "purchase_propensity_score" in out and "null" not in out
    assert "FeatureService risk_stolen_model: team marketing's names must start with" in (
        out + result.stderr
    )
    assert "team marketing: 3 of 3 objects kept" in out
    assert "team risk: 3 of 3 objects kept" in out


@pytest.mark.slow
def test_benchmark_quick_mode_runs_and_reports_every_figure(tmp_path):
    env = venv_commands_first(dict(os.environ))  # its commands forked from a warm process
    env["FEAST_FEDERATION_BENCH_PYTHON"] = shutil.which("python", path=env["PATH"])
    result = run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--output", str(tmp_path),
         "--cache", str(tmp_path / "orgs")],  # built here, as on a fresh clone
        env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    rows = results["sizes"]
    assert [row["teams"] for row in rows] == [10, 50]
    for row in rows:
        assert set(row["cli"]) == {"catalog", "platform audit", "team audit", "platform plan",
                                   "team plan"}  # fmt: skip
        assert all(figure["s"] > 0 and figure["peak_mb"] > 0 for figure in row["cli"].values())
        assert {"catalog", "platform audit", "team audit", "platform plan", "team plan",
                "policy load"} == set(row["in_process_ms"])  # fmt: skip
        assert row["team_apply"]["unpaired"]["ratio"] > 0
        assert row["team_apply"]["paired"]["ratio"] > 0
        assert row["sync_one_team"]["ratio"] > 0 and row["add_team"]["ratio"] > 0
    assert set(results["growth"]["cli"]) >= {"catalog", "add-team"}
    assert {"plain", "python_odfv", "pandas_odfv", "singleton_odfv"} <= set(results["serving"])
    assert {row["registry"] for row in results["registry_kinds"]} == {"sqlite", "file"}
    table = (tmp_path / "results.md").read_text()
    assert table in result.stdout and "| `catalog`, command |" in table
    assert (tmp_path / "scaling.png").read_bytes().startswith(b"\x89PNG")
