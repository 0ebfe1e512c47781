"""A freshly baked platform and team repo go green in their own pull-request job on a runner
that never saw this machine: feast-federation installed from a package index (a wheel served
on 127.0.0.1, then a tagged git clone), no registry reachable, no credentials set, each step
of the repo's own workflow run in order."""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from support import ROOT, run
from support.pipelines import run_github_job

pytestmark = pytest.mark.slow

UNREACHABLE = "sqlite:////nonexistent/feast-federation/registry.db"
PR_JOBS = {"platform": ("feature-store.yml", "check"), "team": ("feature-services.yml", "check")}
# What a runner has in its environment that a step may not lean on here.
PYPI = "https://pypi.org/simple"
SCRUBBED = ("PYTHONPATH", "VIRTUAL_ENV", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")


def build_wheel(directory: Path) -> Path:
    result = run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(directory)],
                 cwd=ROOT)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    [wheel] = directory.glob("feast_federation-*.whl")
    return wheel


def simple_index(root: Path, wheel: Path) -> None:
    """A PEP 503 index holding only feast-federation."""
    project = root / "simple" / "feast-federation"
    project.mkdir(parents=True)
    shutil.copy(wheel, project / wheel.name)
    (project / "index.html").write_text(f'<a href="{wheel.name}">{wheel.name}</a>\n')


@pytest.fixture(scope="module")
def index_url(tmp_path_factory):
    root = tmp_path_factory.mktemp("index")
    simple_index(root, build_wheel(tmp_path_factory.mktemp("dist")))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    server.shutdown()


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """One fresh venv for every run here: the first install pays for Feast."""
    directory = tmp_path_factory.mktemp("venv")
    # A runner's setup-python brings a current pip; the pip a venv bundles may predate
    # `name @ git+file:///path` support (pip 23.2 refuses the empty host).
    subprocess.run([sys.executable, "-m", "venv", "--upgrade-deps", str(directory)],
                   check=True, capture_output=True)  # fmt: skip
    return directory


def runner_env(venv: Path, index_url: str, summary: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED and "FEAST" not in k}
    configured = " ".join([pip_setting("index-url") or PYPI, pip_setting("extra-index-url")])
    return env | {
        "PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}",
        "VIRTUAL_ENV": str(venv),
        # The org's index serves feast-federation; Feast and the rest come from wherever
        # pip is configured to find them here.
        "PIP_INDEX_URL": index_url,
        "PIP_EXTRA_INDEX_URL": configured,
        "GITHUB_STEP_SUMMARY": str(summary),
        "CI": "true",
    }


def pip_setting(name: str) -> str:
    """A setting of this machine's pip configuration ("" when unset)."""
    return subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", f"global.{name}"],
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


def run_pr_job(repo: Path, kind: str, env: dict[str, str]) -> list[str]:
    """Each `run:` step of the repo's PR job that runs with no repository variables set, in
    order; `uses:` steps are the checkout and setup-python this test stands in for. Returns
    the commands run."""
    workflow, job = PR_JOBS[kind]
    ran = run_github_job(repo / ".github" / "workflows" / workflow, job, repo, env, context={})
    assert ran.failed is None, (
        f"{kind}: {ran.commands[-1]}\n{ran.failed.stdout[-3000:]}\n{ran.failed.stderr[-3000:]}"
    )
    return ran.commands


def bake(root: Path, requirement: str = "") -> tuple[Path, Path]:
    from feast_federation.onboarding import bootstrap_org

    chosen = {"federation_requirement": requirement} if requirement else {}
    platform, [team] = bootstrap_org(
        root, project="acme", owners=["p@acme.io"], teams=(("risk", "user_features"),), **chosen
    )
    for repo in (platform, team):  # the runner cannot reach the laptop's registry
        store = repo / "feature_store.yaml"
        store.write_text(re.sub(r"sqlite:////\S+registry\.db", UNREACHABLE, store.read_text()))
    return platform, team


def test_the_default_requirement_installs_from_the_index_and_the_pr_jobs_pass(
    tmp_path, venv, index_url
):
    platform, team = bake(tmp_path / "org")
    assert (team / "requirements.txt").read_text().splitlines()[0] == "feast-federation==0.1.0"
    env = runner_env(venv, index_url, tmp_path / "summary.md")
    for repo, kind in ((platform, "platform"), (team, "team")):
        ran = run_pr_job(repo, kind, env)
        assert ran[:3] == ["pip install -r requirements.txt ruff pytest", "ruff check .", "pytest"]
        assert "feast-federation check --offline ." in ran, ran
    installed = subprocess.run([venv / "bin" / "pip", "show", "-f", "feast-federation"],
                               capture_output=True, text=True).stdout  # fmt: skip
    assert "Location: " + str(venv) in installed


def test_a_git_requirement_on_a_tagged_clone_passes_too(tmp_path, venv, index_url):
    clone = tmp_path / "feast-federation"
    for args in (["clone", "-q", str(ROOT), str(clone)], ["-C", str(clone), "tag", "v0.1.0"]):
        subprocess.run(["git", *args], check=True, capture_output=True)
    requirement = f"feast-federation @ git+file://{clone}@v0.1.0"
    platform, team = bake(tmp_path / "org", requirement)
    for repo in (platform, team):
        assert (repo / "requirements.txt").read_text().splitlines()[0] == requirement
    env = runner_env(venv, index_url, tmp_path / "summary.md")
    # Feast stays installed; the wheel goes, so the job's own pip install takes the clone.
    subprocess.run([venv / "bin" / "pip", "uninstall", "-y", "feast-federation"], check=True,
                   capture_output=True)  # fmt: skip
    # The first job's pip install takes the clone; a second job's would find it installed.
    ran = run_pr_job(platform, "platform", env)
    assert "feast-federation check --offline ." in ran, ran
    freeze = subprocess.run([venv / "bin" / "pip", "freeze"], capture_output=True, text=True)
    assert f"git+file://{clone}@" in freeze.stdout
