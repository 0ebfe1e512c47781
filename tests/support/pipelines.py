"""Running a generated pipeline's jobs here: each step or script line in order, each in a
fresh shell, as a runner would. ``uses:`` steps (checkout, setup-python, artifact upload) are
what the caller stands in for; ``wanted`` leaves out what it has already (an install).

Shells are GitHub's and GitLab's own: a GitHub ``run:`` step without a ``shell:`` (on the
step, or as the job's or workflow's ``defaults.run.shell``) runs as ``bash -e {0}``, so a
command that fails inside a pipe does not fail the step; ``shell: bash`` runs as ``bash
--noprofile --norc -eo pipefail {0}``. GitLab's runner runs a job's lines in one bash with
``set -eo pipefail``."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

_COMPARISON = re.compile(r"((?:vars|github)\.\w+) (==|!=) '([^']*)'")
_EXPRESSION = re.compile(r"\$\{\{\s*([\w.]+)\s*\}\}")


@dataclass
class Ran:
    commands: list[str]
    failed: subprocess.CompletedProcess | None = None  # the step that stopped the job
    environments: list[dict[str, str]] = field(default_factory=list)  # GitLab: each line's


def condition_holds(condition: str, context: dict[str, str]) -> bool:
    """A step's ``if:`` as the generated workflows write it: comparisons of ``vars.*`` and
    ``github.*`` with quoted strings, joined by ``&&`` and ``||`` (no parentheses); unset
    values are ``""``, as on GitHub."""
    if not condition.strip():
        return True
    return any(
        all(_comparison(term, context) for term in alternative.split(" && "))
        for alternative in condition.split(" || ")
    )


def _comparison(term: str, context: dict[str, str]) -> bool:
    match = _COMPARISON.fullmatch(term.strip())
    assert match, f"an `if:` this helper cannot read: {term!r}"
    name, operator, value = match.groups()
    return (context.get(name, "") == value) == (operator == "==")


def github_steps(workflow: Path, job: str) -> list[dict]:
    return yaml.safe_load(workflow.read_text())["jobs"][job]["steps"]


# GitHub's commands for a `run:` step on Linux, by `shell:` (None: no shell given anywhere).
GITHUB_SHELLS = {
    None: ["bash", "-e"],
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"],
    "sh": ["sh", "-e"],
}


def github_shell(workflow: dict, job: str, step: dict) -> list[str]:
    """The command GitHub runs ``step`` of ``job`` with (the step's script file appended):
    the step's ``shell:``, else the job's ``defaults.run.shell``, else the workflow's."""
    shell = step.get("shell") or _default_shell(workflow["jobs"][job]) or _default_shell(workflow)
    assert shell in GITHUB_SHELLS, f"a shell this helper does not run: {shell!r}"
    return GITHUB_SHELLS[shell]


def _default_shell(where: dict) -> str | None:
    return ((where.get("defaults") or {}).get("run") or {}).get("shell")


def run_github_job(
    workflow: Path,
    job: str,
    repo: Path,
    env: dict[str, str],
    context: dict[str, str],
    wanted: Callable[[str], bool] = lambda command: True,
) -> Ran:
    """Each ``run:`` step of ``job`` whose ``if:`` holds in ``context`` (and that ``wanted``
    keeps), with its ``env:`` (``${{ name }}`` read from ``context``); stops at the first
    step that fails."""
    ran = Ran([])
    config = yaml.safe_load(workflow.read_text())
    for step in config["jobs"][job]["steps"]:
        if "run" not in step or not wanted(step["run"]):
            continue
        if not condition_holds(str(step.get("if", "")), context):
            continue
        step_env = {name: _expand(str(value), context) for name, value in
                    (step.get("env") or {}).items()}  # fmt: skip
        result = _run_step(github_shell(config, job, step), step["run"], repo, env | step_env)
        ran.commands.append(step["run"])
        if result.returncode != 0:
            ran.failed = result
            break
    return ran


def run_gitlab_job(
    pipeline: Path,
    job: str,
    repo: Path,
    env: dict[str, str],
    wanted: Callable[[str], bool] = lambda line: True,
) -> Ran:
    """The job's ``before_script`` (its own or the default one; ``pip install`` lines are what
    the caller stands in for) and each line of its script that ``wanted`` keeps, in one bash
    with ``set -eo pipefail`` and ``env`` as the CI/CD variables, as GitLab's runner runs them:
    the first command that fails under ``set -e`` ends the job. ``environments`` holds what
    each script line's commands receive: the shell's exported variables as it starts."""
    config = yaml.safe_load(pipeline.read_text())
    before = config[job].get("before_script", config.get("default", {}).get("before_script", []))
    setup = [line for line in before if not line.startswith("pip install")]
    lines = [line for line in config[job]["script"] if wanted(line)]
    with tempfile.TemporaryDirectory() as recorded:
        script = ["set -eo pipefail", *setup]
        for number, line in enumerate(lines):
            script += [f"env -0 > {recorded}/{number}", line]
        result = _bash("\n".join(script), repo, env)
        started = len(os.listdir(recorded))
        environments = [_environment(Path(recorded, str(number))) for number in range(started)]
    return Ran(lines[:started], result if result.returncode else None, environments)


def _environment(dump: Path) -> dict[str, str]:
    pairs = (entry.partition("=") for entry in dump.read_text().split("\0") if entry)
    return {name: value for name, _, value in pairs}


def _expand(value: str, context: dict[str, str]) -> str:
    def lookup(match: re.Match) -> str:
        assert match[1] in context, f"no value for ${{{{ {match[1]} }}}} in this run"
        return context[match[1]]

    return _EXPRESSION.sub(lookup, value)


def _run_step(
    shell: list[str], script: str, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess:
    """One step as GitHub runs it: its script in a file, handed to the shell's command."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch, "step.sh")
        path.write_text(script)
        return subprocess.run([*shell, str(path)], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=600)  # fmt: skip


def _bash(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
