"""The generated pipelines pass a security review on every backend combination: pull-request
jobs never hold what an apply writes with, applies run in an environment, the registry's
concurrency group is on apply jobs only, a reconcile run catches up, zizmor's auditor
persona finds nothing above low, and every step that pipes fails when a command in the pipe
fails."""

from __future__ import annotations

import collections
import itertools
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from support import file_digest, run
from support.actionlint import actionlint
from support.pipelines import GITHUB_SHELLS, github_shell, run_github_job

BIN = Path(sys.executable).parent
SECRET = re.compile(r"secrets\.(\w+)")
PIPELINE = {"platform": "feature-store.yml", "team": "feature-services.yml"}


def combinations():
    from feast_federation.errors import FederationError
    from feast_federation.rules.choices import (
        LOCAL_REGISTRIES,
        OFFLINE_STORES,
        ONLINE_STORES,
        REGISTRIES,
        REGISTRY_SERVERS,
        Backends,
    )

    def stores_for(registry):  # as the backend sweep (test_backends) pairs servers
        return ("sqlite", "file") if registry in LOCAL_REGISTRIES else ("redis", "postgres")

    every = [
        *itertools.product(REGISTRIES, ONLINE_STORES, OFFLINE_STORES, ["none"]),
        *[(registry, *stores_for(registry), server)
          for registry in REGISTRIES for server in REGISTRY_SERVERS if server != "none"],
    ]  # fmt: skip
    for combination in every:
        try:
            Backends(*combination).check()
        except FederationError:
            continue
        yield combination


@pytest.fixture(scope="module")
def orgs(tmp_path_factory) -> Path:
    """Every combination the sweep bakes, a platform and a team repo each, GitHub and GitLab
    (GitLab for the combinations with a registry server and one of each registry)."""
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.choices import Backends

    root = tmp_path_factory.mktemp("pipelines")
    seen_registries = set()
    for combination in combinations():
        backends = Backends(*combination)
        bootstrap_org(root / "github" / "-".join(combination), project="acme",
                      owners=["p@x.io"], teams=["alpha"], backends=backends)  # fmt: skip
        if combination[3] != "none" or combination[0] not in seen_registries:
            seen_registries.add(combination[0])
            bootstrap_org(root / "gitlab" / "-".join(combination), project="acme",
                          owners=["p@x.io"], teams=["alpha"], backends=backends,
                          ci="gitlab")  # fmt: skip
    return root


def pipelines(orgs: Path):
    for org in sorted((orgs / "github").iterdir()):
        for kind, repo in (("platform", org / "platform"), ("team", org / "teams" / "alpha")):
            yield repo, yaml.safe_load((repo / ".github/workflows" / PIPELINE[kind]).read_text())


def runs_on_pull_requests(job: dict) -> bool:
    return "pull_request" in job.get("if", "") and "!=" not in job["if"]


def test_zizmor_auditor_finds_nothing_above_low(orgs):
    files = sorted(str(p) for p in orgs.glob("github/**/.github/workflows/*.yml"))
    # every combination: 2 repos x (pipeline + template drift), and the platform's materialize
    assert len(files) == 200 * 5
    # Combinations that differ only outside CI write the same file: audit each text once.
    files = sorted({file_digest(Path(path)): path for path in files}.values())
    audit = run([str(BIN / "zizmor"), "--persona", "auditor", "--offline", "--no-progress",
                 "--format", "json", *files])  # fmt: skip
    findings = json.loads(audit.stdout)
    counts = collections.Counter((f["ident"], f["determinations"]["severity"]) for f in findings)
    assert not [key for key in counts if key[0] == "secrets-outside-env"], counts
    assert {severity for _, severity in counts} <= {"Informational", "Low"}, counts
    schema = run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                  *files])  # fmt: skip
    assert schema.returncode == 0, schema.stdout[-2000:]


def test_actionlint_finds_nothing(orgs):
    """actionlint (support/actionlint.py) on one org of each registry: the workflows differ
    by backend only in the variables they map. A job whose stores read no variables keeps the
    template's `env: {}` placeholder, which actionlint calls empty: that one is allowed."""
    files = [
        path
        for registry in ("sqlite", "file", "postgres", "remote", "s3", "gcs")
        for path in sorted(next((orgs / "github").glob(f"{registry}-*")).glob("**/*.yml"))
        if ".github" in path.parts
    ]
    assert len(files) == 6 * 5
    assert actionlint(files, ignored=["env should not be empty"]) == []


def test_pull_request_jobs_never_hold_an_apply_jobs_secrets(orgs):
    checked = 0
    for repo, workflow in pipelines(orgs):
        jobs = workflow["jobs"]
        pr = [job for job in jobs.values() if runs_on_pull_requests(job)]
        apply = [job for job in jobs.values() if not runs_on_pull_requests(job)]
        assert len(pr) == 1 and len(apply) == 1, repo
        written_with = set(SECRET.findall(json.dumps(apply)))
        read_with = set(SECRET.findall(json.dumps(pr)))
        assert not written_with & read_with, (repo, written_with & read_with)
        assert all("READONLY" in name for name in read_with), (repo, read_with)
        checked += bool(written_with)
    assert checked > 300  # most combinations read credentials


def test_applies_run_in_an_environment_with_the_registry_group_and_a_reconcile_run(orgs):
    for repo, workflow in pipelines(orgs):
        assert "concurrency" not in workflow, repo  # never on pull-request checks
        triggers = workflow[True]  # YAML reads `on` as True
        assert "schedule" in triggers and "workflow_dispatch" in triggers
        for job in workflow["jobs"].values():
            if runs_on_pull_requests(job):
                assert "concurrency" not in job
                assert job["environment"] == "feast-registry-readonly"
            else:
                assert job["environment"] == "feast-registry"
                assert job["concurrency"] == {
                    "group": "feast-registry-acme",
                    "cancel-in-progress": False,
                }
                assert "refs/heads/main" in job["if"]
    text = (next(orgs.glob("github/*/teams/alpha")) / ".github/workflows"
            / PIPELINE["team"]).read_text()  # fmt: skip
    assert "GitHub scopes a concurrency group to this repository" in text
    assert "never other repos" in text and "registry's lock" in text


def test_gitlab_applies_use_a_protected_environment_and_merge_requests_read_only(orgs):
    files = sorted(orgs.glob("gitlab/**/.gitlab-ci.yml"))
    assert len(files) >= 12
    schema = run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci",
                  *map(str, files)])  # fmt: skip
    assert schema.returncode == 0, schema.stdout[-2000:]
    for path in files:
        pipeline = yaml.safe_load(path.read_text())
        apply = pipeline.get("apply") or pipeline["sync"]
        assert apply["environment"] == {"name": "feast-registry"}
        assert apply["resource_group"] == "feast-registry-acme"
        assert any("RECONCILE" in rule["if"] for rule in apply["rules"])
        for name, value in (pipeline["check"].get("variables") or {}).items():
            assert value.startswith("$") and "READONLY" in value, (path, name, value)


def test_every_workflow_runs_its_steps_with_pipefail(orgs, tmp_path):
    """GitHub runs a `run:` step as `bash -e` unless a shell is named: a step such as
    `feast-federation materialize . | tee materialize.log` passes after a failed
    materialize. Every generated workflow, for every backend, CI and deploy choice, names
    bash (`-eo pipefail`) for all its steps, and no job or step names another shell."""
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.choices import DEPLOY_TARGETS, Backends

    for deploy in DEPLOY_TARGETS:  # the deploy choice adds manifests; workflows stay held
        bootstrap_org(tmp_path / deploy, project="acme", owners=["p@x.io"], teams=["alpha"],
                      backends=Backends("postgres", "postgres", "postgres"),
                      deploy=deploy)  # fmt: skip
    workflows = [*orgs.glob("github/**/.github/workflows/*.yml"),
                 *tmp_path.glob("**/.github/workflows/*.yml")]  # fmt: skip
    assert len(workflows) == 200 * 5 + len(DEPLOY_TARGETS) * 5
    for path in workflows:
        workflow = yaml.safe_load(path.read_text())
        assert workflow["defaults"] == {"run": {"shell": "bash"}}, path
        for name, job in workflow["jobs"].items():
            for step in job["steps"]:
                if "run" in step:
                    assert github_shell(workflow, name, step) == GITHUB_SHELLS["bash"], path
    assert not list(orgs.glob("gitlab/**/.github"))  # GitLab's runner: `set -eo pipefail`


def test_the_emulator_runs_steps_in_githubs_shells(tmp_path):
    """What tests/support/pipelines.py runs a step with is what GitHub runs it with: without
    a named shell a failure inside a pipe passes, with `shell: bash` it fails the job."""
    steps = {"runs-on": "ubuntu-latest",
             "steps": [{"run": "false | tee log"}, {"run": "echo after > after"}]}  # fmt: skip
    cases = {
        "default": ({"jobs": {"j": steps}}, None),
        "workflow": ({"defaults": {"run": {"shell": "bash"}}, "jobs": {"j": steps}}, 0),
        "job": ({"jobs": {"j": {**steps, "defaults": {"run": {"shell": "bash"}}}}}, 0),
    }
    for name, (workflow, failed_at) in cases.items():
        path = tmp_path / f"{name}.yml"
        path.write_text(yaml.safe_dump(workflow))
        ran = run_github_job(path, "j", tmp_path, {"PATH": "/usr/bin:/bin"}, {})
        if failed_at is None:
            assert ran.failed is None and len(ran.commands) == 2, name
        else:
            assert ran.failed is not None and len(ran.commands) == failed_at + 1, name
