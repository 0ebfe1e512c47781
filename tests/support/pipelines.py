"""Running a generated pipeline's jobs here: each step or script line in order, each in a
fresh bash, as a runner would. ``uses:`` steps (checkout, setup-python, artifact upload) are
what the caller stands in for; ``wanted`` leaves out what it has already (an install)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

_COMPARISON = re.compile(r"((?:vars|github)\.\w+) (==|!=) '([^']*)'")
_EXPRESSION = re.compile(r"\$\{\{\s*([\w.]+)\s*\}\}")


@dataclass
class Ran:
    commands: list[str]
    failed: subprocess.CompletedProcess | None = None  # the step that stopped the job


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
    for step in github_steps(workflow, job):
        if "run" not in step or not wanted(step["run"]):
            continue
        if not condition_holds(str(step.get("if", "")), context):
            continue
        step_env = {name: _expand(str(value), context) for name, value in
                    (step.get("env") or {}).items()}  # fmt: skip
        result = _bash(step["run"], repo, env | step_env)
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
    """Each line of ``job``'s script that ``wanted`` keeps (the default ``before_script``
    aside), each in its own bash with ``env`` as the CI/CD variables; stops at the first
    that fails."""
    ran = Ran([])
    for line in yaml.safe_load(pipeline.read_text())[job]["script"]:
        if not wanted(line):
            continue
        result = _bash(line, repo, env)
        ran.commands.append(line)
        if result.returncode != 0:
            ran.failed = result
            break
    return ran


def _expand(value: str, context: dict[str, str]) -> str:
    def lookup(match: re.Match) -> str:
        assert match[1] in context, f"no value for ${{{{ {match[1]} }}}} in this run"
        return context[match[1]]

    return _EXPRESSION.sub(lookup, value)


def _bash(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-e", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
