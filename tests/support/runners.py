"""A real runner for the generated GitLab pipelines: gitlab-ci-local (npm) with its shell
executor, each job in its own build folder as on a runner (``--shell-isolation``, which
copies the checkout with rsync), every job installing feast-federation with its own
``pip install`` line from a wheelhouse built once, with no index.

The setup installs what it needs: gitlab-ci-local from the npm registry into .venv/tools
(no root), and npm and rsync from Debian's packages when they are missing (as root; without
root the test fails in one line saying what to install). Nothing is skipped.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support import ROOT, run

# 4.75.1, the npm registry's newest, crashes on Node 20 ("union is not a function").
GITLAB_CI_LOCAL_VERSION = "4.73.0"
TOOLS = ROOT / ".venv" / "tools"
# What this machine's environment holds that a runner's does not.
SCRUBBED = ("PYTHONPATH", "VIRTUAL_ENV", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS")
MERGE_REQUEST, PUSH, SCHEDULE, WEB = "merge_request_event", "push", "schedule", "web"


def installed(command: str, package: str) -> str:
    """``command``'s path; installed from Debian's ``package`` first when missing."""
    found = shutil.which(command)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail(
            f"the runner tests need {command}: install Debian's {package} package "
            f"(apt-get install {package}), or run them as root",
            pytrace=False,
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    result = subprocess.run(install, env=env, capture_output=True, text=True)
    if result.returncode != 0:  # a fresh machine has no package lists yet
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        result = subprocess.run(install, env=env, capture_output=True, text=True)
    if result.returncode != 0 or not shutil.which(command):
        pytest.fail(f"apt-get install {package} failed: {_last_line(result)}", pytrace=False)
    return shutil.which(command)


def gitlab_ci_local() -> Path:
    """gitlab-ci-local, from the npm registry into .venv/tools on first use."""
    installed("rsync", "rsync")  # --shell-isolation copies each job's checkout with it
    npm_package("gitlab-ci-local", GITLAB_CI_LOCAL_VERSION)
    return TOOLS / "node_modules" / ".bin" / "gitlab-ci-local"


def npm_package(name: str, version: str) -> Path:
    """``name`` at ``version`` from the npm registry, installed into .venv/tools on first
    use (npm from Debian's packages when missing); its folder."""
    package = TOOLS / "node_modules" / name
    manifest = package / "package.json"
    TOOLS.mkdir(parents=True, exist_ok=True)
    with _locked(TOOLS / ".lock"):  # another test worker may be installing it
        if not manifest.is_file() or _version(manifest) != version:
            npm = installed("npm", "npm")
            result = run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(TOOLS),
                          f"{name}@{version}"])  # fmt: skip
            if result.returncode != 0:
                pytest.fail(f"npm install {name} failed: {_last_line(result)}", pytrace=False)
    return package


def build_wheelhouse(directory: Path, requirements: Sequence[str]) -> Path:
    """A folder of wheels: feast-federation built from this checkout, and every one the jobs'
    ``pip install`` lines need (``requirements``, resolved once through this machine's pip
    configuration), so that jobs install with no index in seconds."""
    built = run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(directory)],
                cwd=ROOT)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = directory.glob("feast_federation-*.whl")
    wheels = run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(directory),
                  str(wheel), *requirements])  # fmt: skip
    assert wheels.returncode == 0, wheels.stdout[-3000:] + wheels.stderr[-3000:]
    return directory


@dataclass
class GitLabRunner:
    """Runs a repo's pipeline the way GitLab would for a merge request, a push to main or a
    schedule; every job gets ``variables`` (the project's CI/CD variables) and the ones a
    run adds."""

    binary: Path
    venv: Path  # the runner's Python: empty but for what the jobs install
    wheelhouse: Path
    home: Path  # gitlab-ci-local's own settings folder: empty, so nothing leaks in
    variables: dict[str, str] = field(default_factory=dict)
    runs: list[tuple[str, str]] = field(default_factory=list)  # (what, its log), in order

    @classmethod
    def create(cls, directory: Path, wheelhouse: Path) -> GitLabRunner:
        venv = directory / "runner-venv"
        made = run([sys.executable, "-m", "venv", str(venv)])
        assert made.returncode == 0, made.stderr
        (directory / "gitlab-ci-local-home").mkdir()
        return cls(gitlab_ci_local(), venv, wheelhouse, directory / "gitlab-ci-local-home")

    def pipeline(
        self,
        repo: Path,
        state: Path,
        source: str,
        variables: Mapping[str, str] | None = None,
        jobs: Sequence[str] = (),
    ) -> subprocess.CompletedProcess:
        """The pipeline of ``repo``'s current commit for ``source`` (``MERGE_REQUEST``,
        ``PUSH``, ``SCHEDULE``): every job its rules select, or only ``jobs``; artifacts and
        build folders under ``state``."""
        given = {
            **self.variables,
            # gitlab-ci-local says GITLAB_CI=false; a runner says true.
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": source,
            # The jobs' pip: this runner's venv (the shell executor ignores `image:`), the
            # wheelhouse, no index.
            "PIP_REQUIRE_VIRTUALENV": "1",
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(self.wheelhouse),
            **(variables or {}),
        }
        args = [
            # Both paths relative, as gitlab-ci-local wants them: --cwd to this process's
            # folder, --state-dir to the repo.
            str(self.binary), "--cwd", repo.name, "--state-dir", os.path.relpath(state, repo),
            "--force-shell-executor", "--shell-isolation", "--home", str(self.home),
            "--no-color", "--timestamps", "--no-artifacts-to-source",
            "--max-job-name-padding", "0",
            "--no-json-schema-validation", "--ignore-predefined-vars", ",".join(given),
            # One job at a time: every job pip-installs into the one shared venv (a runner's
            # jobs each get an image of their own), and two installing ruff at once break
            # each other's binary.
            "--concurrency", "1",
            *(arg for name, value in given.items() for arg in ("--variable", f"{name}={value}")),
        ]  # fmt: skip
        if source == MERGE_REQUEST:
            args += ["--unset-variable", "CI_COMMIT_BRANCH"]  # not set in merge-request pipelines
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED and "FEAST" not in k}
        # HOME too, as a runner's own user has one: a job's bash may read ~/.bashrc (bash
        # does where its standard input is a socket, as gitlab-ci-local's pipes are, and
        # SHLVL is below 1; seen in every full `make test` here), and a developer's (pyenv's
        # shims first on PATH) put another pip before the runner's venv.
        env |= {"PATH": f"{self.venv / 'bin'}{os.pathsep}{env['PATH']}",
                "VIRTUAL_ENV": str(self.venv), "HOME": str(self.home)}  # fmt: skip
        result = subprocess.run([*args, *jobs], cwd=repo.parent, env=env, capture_output=True,
                                text=True, timeout=1800)  # fmt: skip
        self.runs.append((f"{repo.name} {source}", result.stdout))
        return result


def passed_jobs(result: subprocess.CompletedProcess) -> list[str]:
    """The jobs gitlab-ci-local reports as passed (its summary's `PASS  name` lines)."""
    return sorted(
        line.split()[-1] for line in result.stdout.splitlines() if line.strip().startswith("PASS")
    )


def git(repo: Path, *args: str) -> str:
    """``git args`` in ``repo``, as a committer named ci; its output, stripped."""
    result = subprocess.run(
        ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com", *args],
        cwd=repo, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def git_project(repo: Path) -> None:
    """``repo`` as a GitLab project's clone: one commit on main, and an origin whose default
    branch is main (gitlab-ci-local derives the project and default branch from it)."""
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "baked")
    git(repo, "remote", "add", "origin", f"https://gitlab.example.com/acme/{repo.name}.git")
    pushed(repo)
    git(repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")


def pushed(repo: Path) -> str:
    """Main as pushed to origin; returns its commit."""
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    return git(repo, "rev-parse", "HEAD")


def clone_elsewhere(repo: Path, clone: Path) -> Path:
    """``repo`` committed as it is (a git repo first, if it is none) and cloned to ``clone``:
    the same commit in another folder, without what git ignores (local registries, data)."""
    if not (repo / ".git").exists():
        git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", "as it is")
    git(repo.parent, "clone", "-q", str(repo), str(clone))
    return clone


def template_copy(copy: Path) -> Path:
    """A git repo of this project as it is now (uncommitted changes included), tagged
    v0.1.0: a template that `cruft check` and `cruft update` can clone."""
    listed = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    git(copy, "init", "-q", "-b", "main")
    git(copy, "add", "-A")
    git(copy, "commit", "-qm", "template")
    git(copy, "tag", "v0.1.0")
    return copy


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _version(manifest: Path) -> str:
    return json.loads(manifest.read_text())["version"]


def _last_line(result: subprocess.CompletedProcess) -> str:
    text = (result.stderr or result.stdout or "").strip()
    return text.splitlines()[-1] if text else f"exit {result.returncode}"
