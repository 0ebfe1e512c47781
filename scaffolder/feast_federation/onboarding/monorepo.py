"""One git repository for the whole org: the root files of a monorepo, made from its folders'
own. Never imports Feast.

GitHub reads workflows only from the root's ``.github/workflows`` and GitLab only the root's
``.gitlab-ci.yml``, so each folder's pipelines, as the templates render them for a repo of
its own, become jobs of the root's: the same steps, run in the folder
(``working-directory`` on GitHub, ``cd`` on GitLab), gated on the folder's changes (a
pinned path filter feeding each job's ``if:`` on GitHub, ``rules: changes:`` on GitLab: jobs
are skipped, never whole workflows, so a required check never waits on one that did not
run), the platform's sync before any team's apply of the same push (``needs:``). The
folder's own CI files go (``.cruft.json`` skips them, so ``cruft update`` keeps working per
folder), as do its CODEOWNERS and pre-commit config, which git hosts and pre-commit read only
at the root.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import yaml

from feast_federation.files import atomic_write
from feast_federation.rules.layout import ORG_FILE, Monorepo

ROOT_PIPELINE = "feature-store.yml"  # the root workflow every folder's check and apply join
FOLDER_PIPELINES = ("feature-store.yml", "feature-services.yml")
GATE_JOB = "changes"
PATHS_FILTER = "dorny/paths-filter@de90cc6fb38fc0963ad72b210f1f284cd68cea36"  # v3.0.2
CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"  # v4.2.2
PLAN_ARTIFACT = "feast-plan"
# What a folder's template renders that only a repository's root is read for.
ROOT_ONLY = (".github", ".gitlab-ci.yml", ".gitlab-ci.promotion.yml", "CODEOWNERS",
             ".pre-commit-config.yaml")  # fmt: skip
GITLAB_STAGES = ["check", "sync", "apply"]
# Events whose run is not about a change (reconcile, merge queue): every folder's jobs run.
_UNGATED = "github.event_name != 'pull_request' && github.event_name != 'push'"


def platform_key() -> str:
    return "platform"


def team_key(team: str) -> str:
    return f"team-{team}"


# --- the root files ---------------------------------------------------------------------


def start_monorepo(org: Monorepo, project: str, owners: Sequence[str], federation_url: str,
                   rev: str) -> None:  # fmt: skip
    """The org file, CODEOWNERS, pre-commit config, README and empty pipelines at ``org``'s
    root, before any folder joins."""
    root = org.root
    atomic_write(root / ORG_FILE, org.to_json().encode())
    platform = " ".join(owners)
    atomic_write(root / "CODEOWNERS", _CODEOWNERS.format(
        owners=platform, platform=org.platform_dir).encode())  # fmt: skip
    atomic_write(root / ".pre-commit-config.yaml", _PRE_COMMIT.format(
        url=json.dumps(federation_url), rev=rev).encode())  # fmt: skip
    pipeline = {"github": ".github/workflows/", "gitlab": ".gitlab-ci.yml"}.get(org.ci)
    pipelines = (f"| `{pipeline}` | the pipelines: each folder's checks and applies, gated on "
                 "what changed |\n") if pipeline else ""  # fmt: skip
    atomic_write(root / "README.md", _README.format(
        project=project, platform=org.platform_dir, teams=org.teams_dir, pipelines=pipelines,
    ).encode())  # fmt: skip
    if org.ci == "github":
        (root / ".github" / "workflows").mkdir(parents=True, exist_ok=True)
    # The local default's data folder sits beside the platform's: never committed.
    ignored = f"__pycache__/\n.venv/\n/{org.platform_dir}-data/\n"
    (root / ".gitignore").write_text(ignored, encoding="utf-8")


def join_monorepo(org: Monorepo, folder: Path, key: str, owners: Sequence[str]) -> None:
    """Make ``folder`` (the platform's or a team's, freshly baked) part of ``org``: its
    CODEOWNERS line, its pre-commit hook, its pipelines' jobs in the root's; then drop the
    files only a root is read for, and tell cruft to leave them out of template updates."""
    relative = folder.relative_to(org.root).as_posix()
    with (org.root / "CODEOWNERS").open("a", encoding="utf-8") as codeowners:
        codeowners.write(f"/{relative}/ {' '.join(owners)}\n")
    with (org.root / ".pre-commit-config.yaml").open("a", encoding="utf-8") as config:
        config.write(_FOLDER_HOOK.format(folder=relative, pattern=re.escape(relative)))
    if org.ci == "github":
        for workflow in sorted((folder / ".github" / "workflows").glob("*.yml")):
            _join_github(org, workflow, relative, key)
    elif org.ci == "gitlab" and (folder / ".gitlab-ci.yml").is_file():
        _join_gitlab(org, folder / ".gitlab-ci.yml", relative, key)
    for name in ROOT_ONLY:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    cruft = folder / ".cruft.json"
    if cruft.is_file():
        state = json.loads(cruft.read_text(encoding="utf-8"))
        state["skip"] = list(dict.fromkeys([*state.get("skip", []), *ROOT_ONLY]))
        cruft.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


# --- GitHub -------------------------------------------------------------------------------


def _join_github(org: Monorepo, workflow: Path, folder: str, key: str) -> None:
    config = _load(workflow)
    pipeline = workflow.name in FOLDER_PIPELINES
    target = org.root / ".github" / "workflows" / (ROOT_PIPELINE if pipeline else workflow.name)
    root = _load(target) if target.is_file() else _root_workflow(config, pipeline, key)
    if pipeline:
        _gate_folder(root["jobs"][GATE_JOB], key, folder)
    for name, job in config["jobs"].items():
        root["jobs"][f"{key}-{name}"] = _github_job(job, folder, key, pipeline, name)
    _dump(target, root, _GITHUB_HEADER, _versions(workflow.read_text(encoding="utf-8")))


def _root_workflow(folder_workflow: dict, pipeline: bool, key: str) -> dict:
    """A root workflow with the folder workflow's triggers and settings, and no jobs but
    the path gate (for the pipeline)."""
    root = {k: v for k, v in folder_workflow.items() if k != "jobs"}
    group = (root.get("concurrency") or {}).get("group", "")
    if group.startswith("feast-registry-"):  # the registry queue of the folder's applies
        root["concurrency"] = {**root["concurrency"], "group": f"{group}-{key}"}
    root["jobs"] = {}
    if pipeline:
        root["name"] = "feature-store"
        root["jobs"][GATE_JOB] = {
            "name": "which folders changed",
            "if": "github.event_name == 'pull_request' || github.event_name == 'push'",
            "runs-on": "ubuntu-latest",
            "permissions": {"contents": "read", "pull-requests": "read"},
            "outputs": {},
            "steps": [
                # Whole history: a push is compared with the commit before it, here.
                {"uses": CHECKOUT, "with": {"persist-credentials": False, "fetch-depth": 0}},
                {"uses": PATHS_FILTER, "id": "filter", "with": {"filters": ""}},
            ],
        }
    return root


def _gate_folder(gate: dict, key: str, folder: str) -> None:
    filters = yaml.safe_load(gate["steps"][-1]["with"]["filters"]) or {}
    filters[key] = [f"{folder}/**"]
    gate["steps"][-1]["with"]["filters"] = yaml.safe_dump(filters, sort_keys=False)
    gate["outputs"][key] = "${{ steps.filter.outputs." + key + " }}"


def _github_job(job: dict, folder: str, key: str, pipeline: bool, name: str) -> dict:
    job = dict(job)
    job["name"] = f"{folder}: {job.get('name', name)}"
    job["defaults"] = {"run": {"working-directory": folder}}
    if job.get("env") == {}:  # the template's placeholder, for stores that need no variables
        del job["env"]
    if "concurrency" in job:  # the folder's applies queue behind one another, as a repo's do
        job["concurrency"] = {**job["concurrency"], "group": f"{job['concurrency']['group']}-{key}"}
    job["steps"] = [_github_step(step, folder, key) for step in job["steps"]]
    if pipeline and key != platform_key() and "refs/heads/main" in job.get("if", ""):
        job["steps"] = [_after_the_sync(step) for step in job["steps"]]
    if pipeline:
        changed = f"needs.{GATE_JOB}.outputs.{key} == 'true'"
        after = []
        needs = [GATE_JOB]
        if key != platform_key() and "refs/heads/main" in job.get("if", ""):
            # A team's apply waits for the platform's sync of the same push, and runs
            # when the platform's did not need to (skipped), never after a failed one.
            needs.append(f"{platform_key()}-sync")
            after = [f"needs.{platform_key()}-sync.result != 'failure'",
                     f"needs.{platform_key()}-sync.result != 'cancelled'"]  # fmt: skip
        job["needs"] = needs
        condition = _and(["!cancelled()", *after], job.get("if", ""), f"{_UNGATED} || {changed}")
        job["if"] = "${{ " + condition + " }}"  # an expression starting with `!` needs it
        job = {k: job[k] for k in ("name", "needs", "if", *(k for k in job if k not in (
            "name", "needs", "if")))}  # fmt: skip
    return job


def _github_step(step: dict, folder: str, key: str) -> dict:
    step = dict(step)
    if str(step.get("uses", "")).startswith("actions/upload-artifact@"):
        upload = dict(step["with"])
        upload["path"] = "\n".join(f"{folder}/{p}" for p in str(upload["path"]).split("\n"))
        if upload.get("name") == PLAN_ARTIFACT:
            upload["name"] = f"{PLAN_ARTIFACT}-{key}"
        step["with"] = upload
    if "run" in step:
        step["run"] = step["run"].replace(
            "feast-federation reviewed-plan ",
            f"feast-federation reviewed-plan --artifact {PLAN_ARTIFACT}-{key} ",
        )
    return step


_SYNCED = f"needs.{platform_key()}-sync.result"


def _after_the_sync(step: dict) -> dict:
    """A team apply's step, once more: when the platform's sync of the same push ran, the
    plan the team's pull request saved was made against the registry before it and is stale
    by construction (the views it reads changed), so the apply plans again and applies in one
    run, as a reconcile run does; otherwise it carries out the reviewed plan."""
    condition = str(step.get("if", ""))
    if "FEAST_REGISTRY_READONLY == 'true'" in condition and "== 'push'" in condition:
        return {**step, "if": f"{condition} && {_SYNCED} != 'success'"}
    if "FEAST_REGISTRY_READONLY != 'true'" in condition and "!= 'push'" in condition:
        return {**step, "if": f"{condition} || {_SYNCED} == 'success'"}
    return step


def _and(always: list[str], condition: str, gate: str) -> str:
    """``always && condition && gate`` with no parentheses (GitHub reads ``&&`` before
    ``||``): each alternative of ``condition`` with each of ``gate``, less the ones that
    contradict themselves, and ``!=`` terms an ``==`` on the same name makes redundant."""
    alternatives = []
    for first in (condition or "true").split(" || "):
        for second in gate.split(" || "):
            terms = [t for t in [*always, *first.split(" && "), *second.split(" && ")]
                     if t != "true"]  # fmt: skip
            kept = _consistent(terms)
            if kept is not None and kept not in alternatives:
                alternatives.append(kept)
    # An alternative that holds whenever a shorter one does adds nothing.
    alternatives = [a for a in alternatives
                    if not any(set(b) < set(a) for b in alternatives)]  # fmt: skip
    return " || ".join(" && ".join(terms) for terms in alternatives)


_TERM = re.compile(r"([\w.-]+) (==|!=) '([^']*)'")


def _consistent(terms: list[str]) -> list[str] | None:
    equal: dict[str, str] = {}
    for term in terms:
        match = _TERM.fullmatch(term)
        if match and match[2] == "==":
            if equal.setdefault(match[1], match[3]) != match[3]:
                return None
    kept = []
    for term in dict.fromkeys(terms):
        match = _TERM.fullmatch(term)
        if match and match[2] == "!=" and match[1] in equal:
            if equal[match[1]] == match[3]:
                return None
            continue  # implied by the == on the same name
        kept.append(term)
    return kept


# --- GitLab -------------------------------------------------------------------------------


def _join_gitlab(org: Monorepo, pipeline: Path, folder: str, key: str) -> None:
    text = pipeline.read_text(encoding="utf-8")
    config = yaml.safe_load(text)
    target = org.root / ".gitlab-ci.yml"
    if target.is_file():
        root = yaml.safe_load(target.read_text(encoding="utf-8"))
        notes = _leading_comments(target.read_text(encoding="utf-8"))
    else:
        image = (config.get("default") or {}).get("image", "python:3.11-slim")
        root, notes = {"default": {"image": image}, "stages": GITLAB_STAGES}, _GITLAB_HEADER
    notes += f"#\n# From {folder}/.gitlab-ci.yml:\n" + _leading_comments(text)
    before = (config.get("default") or {}).get("before_script", [])
    for name, job in config.items():
        if isinstance(job, dict) and "script" in job:
            root[f"{key}-{name}"] = _gitlab_job(job, folder, key, before, org.platform_dir)
    _dump(target, root, notes)


def _gitlab_job(
    job: dict, folder: str, key: str, default_before: list[str], platform_dir: str
) -> dict:
    job = dict(job)
    job["before_script"] = [f"cd {folder}", *job.get("before_script", default_before)]
    job["script"] = [line.replace(
        "feast-federation reviewed-plan ", f"feast-federation reviewed-plan --plan-job {key}-check "
    ) for line in job["script"]]  # fmt: skip
    if key != platform_key() and job.get("stage") == "apply":
        # The reviewed plan only when this push left the platform's folder alone: after the
        # platform's sync the team's saved plan is stale by construction, so it plans again
        # and applies in one run (see _after_the_sync).
        unchanged = (f'git diff --quiet "$CI_COMMIT_BEFORE_SHA" "$CI_COMMIT_SHA" -- '
                     f'"$CI_PROJECT_DIR/{platform_dir}"')  # fmt: skip
        job["script"] = [line.replace(
            '[ "$CI_PIPELINE_SOURCE" = push ]; then',
            f'[ "$CI_PIPELINE_SOURCE" = push ] && {unchanged}; then',
        ) for line in job["script"]]  # fmt: skip
    rules = []
    for rule in job.get("rules", []):
        condition = rule.get("if", "")
        if "merge_request_event" in condition or '"push"' in condition:
            rule = {**rule, "changes": [f"{folder}/**/*"]}
        rules.append(rule)
    job["rules"] = rules
    if "artifacts" in job:
        paths = [f"{folder}/{path}" for path in job["artifacts"].get("paths", [])]
        job["artifacts"] = {**job["artifacts"], "paths": paths}
    if key != platform_key() and job.get("stage") == "apply":
        # After the platform's sync of the same pipeline, when it has one.
        job["needs"] = [{"job": f"{platform_key()}-sync", "optional": True}]
    return job


def _leading_comments(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line + "\n")
    return "".join(lines)


# --- YAML ---------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and not re.search(r" \n| $", value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(
    type(None), lambda dumper, _: dumper.represent_scalar("tag:yaml.org,2002:null", "")
)


def _load(path: Path) -> dict:
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in config:  # YAML 1.1 reads the key `on` as true
        config = {("on" if k is True else k): v for k, v in config.items()}
    return config


_PINNED = {CHECKOUT: "v4.2.2", PATHS_FILTER: "v3.0.2"}
_USES = re.compile(r"(?m)^(\s*-? ?uses: )(\S+@[0-9a-f]{40})\s*#\s*(.+)$")


def _versions(text: str) -> dict[str, str]:
    """The version comment of each action a workflow pins by commit."""
    return {match[2]: match[3].strip() for match in _USES.finditer(text)}


def _dump(path: Path, config: dict, header: str, versions: dict[str, str] | None = None) -> None:
    text = yaml.dump(config, Dumper=_Dumper, sort_keys=False, width=4096)
    text = re.sub(r"(?m)^'on':", "on:", text)
    known = {**_PINNED, **(versions or {})}
    if path.is_file():
        known |= _versions(path.read_text(encoding="utf-8"))
    text = re.sub(
        r"(?m)^(\s*-? ?uses: )(\S+@[0-9a-f]{40})$",
        lambda m: f"{m[0]}  # {known[m[2]]}" if m[2] in known else m[0],
        text,
    )
    if path.is_file():  # keep the header the file has
        header = _leading_comments(path.read_text(encoding="utf-8")) or header
    atomic_write(path, (header + text).encode())


_GITHUB_HEADER = """\
# Made by feast-federation from each folder's own workflow (the templates' steps, run in the
# folder): a folder's jobs run when a pull request or push changes it; schedules, manual runs
# and the merge queue run them all. On main the platform's sync runs before any team's apply.
"""

_GITLAB_HEADER = """\
# Made by feast-federation from each folder's own pipeline (the templates' jobs, run in the
# folder): a folder's jobs run when a merge request or push changes it (rules: changes);
# schedules and manual runs run them all. On main the platform's sync (stage sync) runs
# before any team's apply (stage apply, needs: the sync when it runs).
"""

_CODEOWNERS = """\
# GitHub applies the LAST pattern that matches a file: the catch-all comes first, the
# specific rules after it. The platform team owns the root (its pipelines, this file) and
# the platform folder with the policy, federation.yaml; each team owns its folder.
* {owners}
/{platform}/federation.yaml {owners}
"""

_PRE_COMMIT = """\
# Checks before every commit, for each folder with that folder's rules: its definitions
# against the federation rules (from the source and the platform contract; writes nothing),
# and a guard against stock Feast commands (feast apply/plan/teardown) for the whole repo.
repos:
  - repo: {url}
    rev: v{rev}
    hooks:
      - id: feast-federation-guard
"""

_FOLDER_HOOK = """\
      - id: feast-federation-check
        name: feast-federation ownership check ({folder})
        entry: feast-federation check --offline {folder}
        files: ^{pattern}/
"""

_README = """\
# {project}: the feature store's repository

One git repository for the whole org: the platform's folder and one folder per team, each a
feature repo of its own (its `feature_store.yaml`, `apply.py`, tests and README), applied into
the shared Feast project `{project}` by its owners only.

| path | what |
| --- | --- |
| `{platform}/` | the platform: entities, sources, views, and `federation.yaml` (the policy) |
| `{teams}/<team>/` | a team's FeatureServices and On-Demand Feature Views |
{pipelines}| `CODEOWNERS` | who reviews what: the platform the root and its folder, a team its own |
| `.pre-commit-config.yaml` | the ownership check of each folder, with that folder's rules |
| `feast-federation-org.json` | the folders' names, which `feast-federation add-team` reads |

A pull request runs the checks of the folders it changes; merged, the platform's sync runs
first and each changed team's apply after it, so a platform view and the team service that
reads it land in one reviewed change. A team's check reads the platform folder's definitions
for what the registry does not have yet.

Add a team with `feast-federation add-team NAME --platform {platform}`: its folder, its
pipeline jobs, its CODEOWNERS line and its registration in `federation.yaml`, one change to
review. Each folder keeps its own `.cruft.json`: `cruft update` in a folder follows the
template (the files only a root is read for are skipped).
"""
