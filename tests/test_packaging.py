"""The installed package carries both templates, and the demo runs."""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, cli, run


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
        "feast_federation/ownership.py",
        "feast_federation/templates/hooks/cookiecutter_hooks.py",
        "feast_federation/templates/cookiecutter-team/cookiecutter.json",
        "feast_federation/templates/cookiecutter-team/hooks/pre_gen_project.py",
        "feast_federation/templates/cookiecutter-team/{{cookiecutter.__repo_dir}}/apply.py",
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
