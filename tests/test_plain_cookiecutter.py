"""Plain cookiecutter, as a data scientist has it: a venv with nothing but
``pip install cookiecutter`` (and what cookiecutter itself installs), baking from a checkout
of this repository. The hooks are standard library (plus cookiecutter's own Jinja and
PyYAML): the team bakes and is registered, or the bake is refused before anything is
rendered, in one line naming what to install. Never a half-made repo.

No Feast anywhere: the venv holds none, and the org is bootstrapped in this process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support import ROOT, invoke, run


@pytest.fixture(scope="module")
def stock_cookiecutter(tmp_path_factory) -> Path:
    """The cookiecutter command of a venv that has only cookiecutter (from the configured
    package index or pip's cache)."""
    venv = tmp_path_factory.mktemp("stock")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    installed = run([str(venv / "bin" / "pip"), "install", "--quiet", "cookiecutter"])
    assert installed.returncode == 0, installed.stderr[-2000:]
    listed = run([str(venv / "bin" / "pip"), "list", "--format", "json"])
    names = {package["name"].lower() for package in json.loads(listed.stdout)}
    assert "cookiecutter" in names
    assert not names & {"ruamel.yaml", "feast", "feast-federation", "typer"}, names
    return venv / "bin" / "cookiecutter"


@pytest.fixture()
def org(tmp_path) -> Path:
    assert invoke("bootstrap", tmp_path / "org", "--team", "marketing").exit_code == 0
    return tmp_path


def bake(cookiecutter: Path, template: Path, cwd: Path, *values: str):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return run(
        [str(cookiecutter), str(template), "--directory", "cookiecutter-team", "--no-input",
         *values],
        cwd=cwd, env=env,
    )  # fmt: skip


def test_plain_cookiecutter_bakes_and_registers_a_team(stock_cookiecutter, org):
    policy = org / "org" / "platform" / "federation.yaml"
    before = policy.read_text()
    result = bake(
        stock_cookiecutter, ROOT, org,
        "team_name=payments", "platform_dir=org/platform", "starter_view=driver_stats",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    repo = org / "payments"
    assert (repo / "apply.py").is_file() and (repo / "feature_store.yaml").is_file()
    after = policy.read_text()
    assert after.startswith(before.rstrip("\n"))  # the policy's text and comments stay
    assert yaml.safe_load(after)["teams"]["payments"] == {
        "prefix": "payments_", "owners": ["payments-leads@example.com"],
    }  # fmt: skip
    # The weekly drift job has what it checks against.
    assert (repo / ".github" / "workflows" / "template-drift.yml").is_file()
    link = json.loads((repo / ".cruft.json").read_text())
    assert link["directory"] == "cookiecutter-team"
    assert link["context"]["cookiecutter"]["team_name"] == "payments"


def test_a_policy_only_ruamel_can_edit_is_refused_before_rendering(stock_cookiecutter, org):
    policy = org / "org" / "platform" / "federation.yaml"
    text = policy.read_text()
    start = text.index("teams:")
    flow = "teams: {marketing: {prefix: marketing_, owners: [marketing-leads@example.com]}}\n"
    policy.write_text(text[:start] + flow)
    result = bake(stock_cookiecutter, ROOT, org, "team_name=payments", "platform_dir=org/platform")
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "pip install ruamel.yaml" in lines[0], lines
    assert not (org / "payments").exists()
    assert policy.read_text() == text[:start] + flow


def test_templates_without_the_package_are_refused_naming_it(stock_cookiecutter, org):
    """Only the templates and their hooks copied somewhere: the hooks cannot find the rules
    and say what to install, before anything is written."""
    copy = org / "templates-only"
    for folder in ("cookiecutter-team", "hooks"):
        shutil.copytree(ROOT / folder, copy / folder)
    result = bake(
        stock_cookiecutter, copy, org, "team_name=payments", "platform_dir=org/platform",
        "starter_view=driver_stats",
    )  # fmt: skip
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].endswith("pip install feast-federation"), lines
    assert not (org / "payments").exists()
