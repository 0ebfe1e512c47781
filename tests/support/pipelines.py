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

_COMPARISON = re.compile(r"((?:vars|github|needs)\.[\w.-]+) (==|!=) '([^']*)'")
_EXPRESSION = re.compile(r"\$\{\{\s*([\w.]+)\s*\}\}")


@dataclass
class Ran:
    commands: list[str]
    failed: subprocess.CompletedProcess | None = None  # the step that stopped the job
    environments: list[dict[str, str]] = field(default_factory=list)  # GitLab: each line's


def condition_holds(condition: str, context: dict[str, str]) -> bool:
    """A step's or job's ``if:`` as the generated workflows write it: comparisons of
    ``vars.*``, ``github.*`` and ``needs.*`` with quoted strings and ``!cancelled()``, joined
    by ``&&`` and ``||`` (no parentheses), in ``${{ }}`` or not; unset values are ``""``, as
    on GitHub."""
    condition = condition.strip()
    if condition.startswith("${{") and condition.endswith("}}"):
        condition = condition[3:-2].strip()
    if not condition:
        return True
    return any(
        all(_comparison(term, context) for term in alternative.split(" && "))
        for alternative in condition.split(" || ")
    )


def _comparison(term: str, context: dict[str, str]) -> bool:
    if term.strip() == "!cancelled()":  # nothing here is ever cancelled
        return True
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
    # A job's (else the workflow's) defaults.run.working-directory, from the checkout's root.
    folder = ((config["jobs"][job].get("defaults") or config.get("defaults") or {}).get("run")
              or {}).get("working-directory", ".")  # fmt: skip
    for step in config["jobs"][job]["steps"]:
        if "run" not in step or not wanted(step["run"]):
            continue
        if not condition_holds(str(step.get("if", "")), context):
            continue
        step_env = {name: _expand(str(value), context) for name, value in
                    (step.get("env") or {}).items()}  # fmt: skip
        result = _run_step(github_shell(config, job, step), step["run"], repo / folder,
                           env | step_env)  # fmt: skip
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


# --- which jobs a pipeline runs for a change ------------------------------------------------


def glob_pattern(glob: str) -> re.Pattern:
    """A path glob as the path filters read it: ``**`` any depth (``**/`` none too), ``*``
    within one folder."""
    out, index = "", 0
    while index < len(glob):
        if glob.startswith("**/", index):
            out, index = out + "(?:.*/)?", index + 3
        elif glob.startswith("**", index):
            out, index = out + ".*", index + 2
        elif glob[index] == "*":
            out, index = out + "[^/]*", index + 1
        else:
            out, index = out + re.escape(glob[index]), index + 1
    return re.compile(out)


def matches(globs: list[str], changed: list[str]) -> bool:
    return any(glob_pattern(glob).fullmatch(path) for glob in globs for path in changed)


def github_jobs(workflow: Path, event: str, ref: str, changed: list[str]) -> list[str]:
    """The jobs of ``workflow`` GitHub would run for ``event`` on ``ref`` changing the files
    ``changed``, in the order ``needs:`` lets them run: each job's ``if:`` evaluated with the
    path gate's outputs as its filters decide (the paths-filter step's ``filters``), and the
    results of the jobs it needs (success when run, skipped when not)."""
    config = yaml.safe_load(workflow.read_text())
    context = {"github.event_name": event, "github.ref": ref}
    done: list[str] = []
    results: dict[str, str] = {}
    pending = dict(config["jobs"])
    while pending:
        ready = [name for name, job in pending.items()
                 if all(need in results for need in _needs(job))]  # fmt: skip
        assert ready, f"a circle of needs: {sorted(pending)}"
        for name in ready:
            job = pending.pop(name)
            if not condition_holds(str(job.get("if", "")), context):
                results[name] = "skipped"
                context[f"needs.{name}.result"] = "skipped"
                continue
            results[name] = context[f"needs.{name}.result"] = "success"
            done.append(name)
            for step in job["steps"]:
                if str(step.get("uses", "")).startswith("dorny/paths-filter@"):
                    filters = yaml.safe_load(step["with"]["filters"])
                    for key, globs in filters.items():
                        hit = "true" if matches(globs, changed) else "false"
                        context[f"needs.{name}.outputs.{key}"] = hit
    return done


def _needs(job: dict) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


_GITLAB_TERM = re.compile(r'\$(\w+) (==|!=) (?:"([^"]*)"|\$(\w+))')


def gitlab_rule_holds(condition: str, variables: dict[str, str]) -> bool:
    """A rule's ``if:`` as the generated pipelines write it: ``$VAR == "value"``,
    ``$VAR != "value"`` and ``$A == $B``, joined by ``&&``; unset variables are null."""
    for term in condition.split(" && "):
        match = _GITLAB_TERM.fullmatch(term.strip())
        assert match, f"a rule this helper cannot read: {term!r}"
        name, operator, literal, other = match.groups()
        right = variables.get(other) if other else literal
        if (variables.get(name) == right) != (operator == "=="):
            return False
    return True


def gitlab_jobs(pipeline: Path, variables: dict[str, str], changed: list[str]) -> list[str]:
    """The jobs of ``pipeline`` GitLab would run with ``variables`` for a change of the files
    ``changed``: the first rule whose ``if:`` holds and whose ``changes:`` (if any) match
    decides; in stage order."""
    config = yaml.safe_load(pipeline.read_text())
    stages = config.get("stages", ["build", "test", "deploy"])
    chosen = []
    for name, job in config.items():
        if not isinstance(job, dict) or "script" not in job:
            continue
        for rule in job.get("rules", [{}]):
            if "if" in rule and not gitlab_rule_holds(rule["if"], variables):
                continue
            changes = rule.get("changes")
            if changes is not None and not matches(list(changes), changed):
                continue
            if rule.get("when") != "never":
                chosen.append(name)
            break
    return sorted(chosen, key=lambda name: stages.index(config[name].get("stage", "test")))
