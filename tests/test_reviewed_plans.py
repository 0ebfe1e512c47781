"""The generated pipelines apply on main the plan reviewed in the pull (merge) request.

The check job's own steps save a real plan against a real registry; a GitHub or GitLab API
played by a local HTTP server hands it to the main job, whose own steps, run in order in
fresh processes, fetch it and apply exactly it, or refuse in one line, writing nothing, when
the registry changed since. The API walking itself is tested in this process."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from support import build_org, file_digest, invoke, run, venv_commands_first
from support.forges import FakeGitHub, FakeGitLab, serving, zipped
from support.pipelines import condition_holds, github_steps, run_github_job, run_gitlab_job

MAIN_SHA = "a1" * 20  # the merge commit on main
HEAD_SHA = "b2" * 20  # the pull request's head commit
WORKFLOWS = {"platform": "feature-store.yml", "team": "feature-services.yml"}
CI_VARIABLES = re.compile(r"^(GITHUB_|GITLAB_|CI_|RUNNER_|FEAST_PLAN_TOKEN|FEAST_REGISTRY_READ)")


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    """One synced org (a platform, team marketing) for the GitHub pipelines, and the same
    org baked for GitLab, whose .gitlab-ci.yml files run against the synced repos."""
    from feast_federation.onboarding import bootstrap_org

    root = tmp_path_factory.mktemp("reviewed")
    teams = (("marketing", "customer_features"),)
    platform, [team] = build_org(root / "org", teams=teams)
    gitlab, [gitlab_team] = bootstrap_org(
        root / "gitlab", project="acme", owners=["p@acme.io"], teams=teams, ci="gitlab"
    )
    return {
        "platform": platform, "team": team,
        "gitlab": {"platform": gitlab / ".gitlab-ci.yml", "team": gitlab_team / ".gitlab-ci.yml"},
    }  # fmt: skip


def runner_env(**variables: str) -> dict[str, str]:
    """This machine's environment without any CI system's variables, the venv's commands
    first on PATH (the job's `pip install -r requirements.txt` put them there)."""
    env = {k: v for k, v in os.environ.items() if not CI_VARIABLES.match(k)}
    return venv_commands_first(env | {"PYTHONWARNINGS": "ignore", "CI": "true", **variables})


def workflow(repo: Path, kind: str) -> Path:
    return repo / ".github" / "workflows" / WORKFLOWS[kind]


def bump_ttl(platform: Path, view: str = "customer_features") -> None:
    views = platform / "feature_views.py"
    pattern = rf'(name="{view}",\s+entities=\[\w+\],\s+ttl=timedelta\(days=)(\d+)'
    text, count = re.subn(pattern, lambda m: f"{m[1]}{int(m[2]) + 1}", views.read_text())
    assert count == 1
    views.write_text(text)


def describe_service(team: Path, description: str) -> None:
    services = team / "feature_services.py"
    text, count = re.subn(r'description="[^"]*"', f'description="{description}"',
                          services.read_text(), count=1)  # fmt: skip
    assert count == 1
    services.write_text(text)


def registry_file(org) -> Path:
    return org["platform"] / "data" / "registry.db"


def github_pr_plan(repo: Path, kind: str, summary: Path) -> bytes:
    """The pull-request job's plan step, with FEAST_REGISTRY_READONLY set: plan.json."""
    context = {"vars.FEAST_REGISTRY_READONLY": "true", "github.event_name": "pull_request"}
    env = runner_env(GITHUB_STEP_SUMMARY=str(summary))
    ran = run_github_job(workflow(repo, kind), "check", repo, env, context,
                         wanted=lambda command: "--out plan.json" in command)  # fmt: skip
    assert ran.failed is None and len(ran.commands) == 1, ran
    uploads = [s for s in github_steps(workflow(repo, kind), "check")
               if "upload-artifact" in s.get("uses", "")]  # fmt: skip
    assert [(s["if"], s["with"]["name"], s["with"]["path"]) for s in uploads] == [
        ("vars.FEAST_REGISTRY_READONLY == 'true'", "feast-plan", "plan.json")
    ]
    return (repo / "plan.json").read_bytes()


def github_for(repo: str, kind: str, plan: bytes) -> FakeGitHub:
    """Pull request #7 merged as MAIN_SHA; its check's newest successful run saved ``plan``."""
    return FakeGitHub(
        repo=repo,
        pulls=[{"number": 7, "merge_commit_sha": MAIN_SHA, "head_sha": HEAD_SHA}],
        runs=[{"id": 301, "workflow": WORKFLOWS[kind], "head_sha": HEAD_SHA,
               "event": "pull_request", "conclusion": "success",
               "created_at": "2026-01-02T03:00:00Z"}],
        artifacts=[{"id": 901, "run_id": 301, "name": "feast-plan",
                    "created_at": "2026-01-02T03:01:00Z", "zip": zipped("plan.json", plan)}],
    )  # fmt: skip


PUSH = {"vars.FEAST_REGISTRY_READONLY": "true", "github.event_name": "push"}


def main_job(kind: str) -> str:
    return "sync" if kind == "platform" else "apply"


def github_main_job(repo: Path, kind: str, fake: FakeGitHub, base: str, summary: Path):
    """The main job's steps that fetch and apply the plan (the backup, materialize and
    catalog steps around them are the same in every run, and tested elsewhere)."""
    env = runner_env(GITHUB_STEP_SUMMARY=str(summary), GITHUB_EVENT_NAME="push",
                     **fake.environment(base, MAIN_SHA, WORKFLOWS[kind]))  # fmt: skip
    del env["GITHUB_TOKEN"]  # the step passes the job's token itself
    return run_github_job(workflow(repo, kind), main_job(kind), repo, env,
                          PUSH | {"github.token": fake.token},
                          wanted=lambda command: "plan.json" in command)  # fmt: skip


def steps_that_run(repo: Path, kind: str, context: dict[str, str]) -> list[str]:
    """The first words of each `run:` step of the main job whose `if:` holds."""
    return [
        " ".join(step["run"].split(" ")[:3])
        for step in github_steps(workflow(repo, kind), main_job(kind))
        if "run" in step and condition_holds(str(step.get("if", "")), context)
    ]


@pytest.mark.slow
def test_github_platform_sync_applies_the_plan_reviewed_in_the_pull_request(org, tmp_path):
    platform = org["platform"]
    bump_ttl(platform)
    plan = github_pr_plan(platform, "platform", tmp_path / "pr-summary.md")
    assert "customer_features" in (tmp_path / "pr-summary.md").read_text()
    (platform / "plan.json").unlink()  # main's checkout is fresh
    fake = github_for("acme/platform", "platform", plan)
    with serving(fake) as base:
        ran = github_main_job(platform, "platform", fake, base, tmp_path / "summary.md")
    assert ran.failed is None, ran.failed and ran.failed.stderr
    assert steps_that_run(platform, "platform", PUSH) == [
        "pip install -r", "feast-federation backup .", "feast-federation reviewed-plan --out",
        "python apply.py plan.json", "feast-federation materialize .", "feast-federation catalog .",
    ]  # fmt: skip
    # Scheduled and manual runs, and repos without read-only secrets, plan and sync at once.
    for context in (PUSH | {"github.event_name": "schedule"}, {"github.event_name": "push"}):
        assert "python apply.py --yes" in steps_that_run(platform, "platform", context)
        assert "python apply.py plan.json" not in steps_that_run(platform, "platform", context)
    assert (platform / "plan.json").read_bytes() == plan  # fetched whole, through the redirect
    assert "customer_features" in (tmp_path / "summary.md").read_text()
    assert invoke("plan", platform).exit_code == 0  # the registry holds what was reviewed
    # The token went to the API and never to the blob storage the download redirects to.
    [blob] = [headers for path, headers in fake.requests if path.startswith("/blob/")]
    assert "Authorization" not in blob
    assert all(h["Authorization"] == f"Bearer {fake.token}" for p, h in fake.requests
               if not p.startswith("/blob/"))  # fmt: skip


@pytest.mark.slow
def test_github_team_apply_refuses_a_reviewed_plan_the_registry_moved_past(org, tmp_path):
    platform, team = org["platform"], org["team"]
    describe_service(team, "Reviewed on GitHub.")
    plan = saved_plan(team, tmp_path)
    bump_ttl(platform)  # the platform syncs a view the team reads, after the review
    assert invoke("apply", platform).exit_code == 0
    before = file_digest(registry_file(org))
    fake = github_for("acme/marketing", "team", plan)
    with serving(fake) as base:
        ran = github_main_job(team, "team", fake, base, tmp_path / "summary.md")
    assert [command.split(" ")[:3] for command in ran.commands] == [
        ["feast-federation", "reviewed-plan", "--out"],
        ["python", "apply.py", "plan.json"],
    ]  # and never the one-run apply
    assert ran.failed is not None and ran.failed.returncode == 1
    assert ran.failed.stderr.strip().splitlines() == [
        "error: the registry changed since the plan: FeatureView customer_features was "
        "updated; nothing was written: re-run the pull request's check to plan against the "
        "registry as it is now, review that plan, then re-run this job"
    ]
    assert file_digest(registry_file(org)) == before
    # Main moved past the pull request too: a re-run of its check would plan the same code.
    describe_service(team, "Merged after the review.")
    with serving(fake) as base:
        ran = github_main_job(team, "team", fake, base, tmp_path / "summary.md")
    assert ran.failed is not None and ran.failed.returncode == 1
    [error] = ran.failed.stderr.strip().splitlines()
    repo_first = "error: the repo changed since the plan: FeatureService marketing_campaign_model"
    assert error.startswith(f"{repo_first} was updated; the registry changed")
    assert error.endswith("nothing was written: main holds changes the pull request's check "
                          "did not plan, and re-running that check plans the same code again: "
                          "run the workflow by hand on main to plan and apply what main holds, "
                          "or merge an updated branch whose check plans them")  # fmt: skip
    assert file_digest(registry_file(org)) == before


def saved_plan(repo: Path, tmp_path: Path) -> bytes:
    """The plan the check's step saves (`apply.py --plan --out` runs this), in this process:
    the success tests above and below run that step itself."""
    assert invoke("plan", repo, "--out", tmp_path / "plan.json").exit_code == 2
    return (tmp_path / "plan.json").read_bytes()


def gitlab_mr_plan(pipeline: Path, repo: Path) -> bytes:
    ran = run_gitlab_job(pipeline, "check", repo, runner_env(FEAST_REGISTRY_READONLY="true"),
                         wanted=lambda line: "--out plan.json" in line)  # fmt: skip
    assert ran.failed is None and len(ran.commands) == 1, ran
    plan = (repo / "plan.json").read_bytes()
    (repo / "plan.json").unlink()
    return plan


def gitlab_main_job(pipeline: Path, repo: Path, job: str, fake: FakeGitLab, base: str):
    """The script line of the main job that applies (the platform's backup, materialize and
    catalog lines around it are the same in every run)."""
    env = runner_env(FEAST_REGISTRY_READONLY="true", CI_PIPELINE_SOURCE="push",
                     **fake.environment(base, MAIN_SHA))  # fmt: skip
    return run_gitlab_job(pipeline, job, repo, env, wanted=lambda line: "apply.py" in line)


@pytest.mark.slow
def test_gitlab_team_apply_applies_the_plan_reviewed_in_the_merge_request(org, tmp_path):
    import yaml

    pipeline, team = org["gitlab"]["team"], org["team"]
    assert yaml.safe_load(pipeline.read_text())["check"]["artifacts"]["paths"] == ["plan.json"]
    describe_service(team, "Reviewed on GitLab.")
    plan = gitlab_mr_plan(pipeline, team)
    fake = FakeGitLab()
    fake.merged(5, plan, merge_commit_sha=MAIN_SHA, head=HEAD_SHA)
    with serving(fake) as base:
        ran = gitlab_main_job(pipeline, team, "apply", fake, base)
    assert ran.failed is None, ran.failed and ran.failed.stderr
    [command] = ran.commands
    assert 'then FEAST_PLAN_TOKEN="$plan_token" feast-federation reviewed-plan --out plan.json; ' \
        "python apply.py plan.json --yes; else" in command  # fmt: skip
    # The job received the token; the fetch used it, and apply.py (this repo's code) never
    # had it in its environment.
    assert (team / "plan.json").read_bytes() == plan
    assert [h.get("Private-Token") for _, h in fake.requests][-1] == fake.token
    assert all(fake.token not in value for value in ran.environments[0].values())
    assert invoke("plan", team).exit_code == 0
    from feast_federation.registry import open_store

    service = open_store(team).get_feature_service("marketing_campaign_model")
    assert service.description == "Reviewed on GitLab."

    # A fetch that fails ends the job: nothing is applied, in one run or otherwise.
    (team / "plan.json").unlink()
    describe_service(team, "Never reviewed.")
    before = file_digest(registry_file(org))
    fake.merge_requests.clear()
    with serving(fake) as base:
        ran = gitlab_main_job(pipeline, team, "apply", fake, base)
    assert ran.failed is not None and ran.failed.returncode == 1
    assert "no merged merge request brought it to main" in ran.failed.stderr
    assert "Applying" not in ran.failed.stdout + ran.failed.stderr
    assert file_digest(registry_file(org)) == before


@pytest.mark.slow
def test_gitlab_platform_sync_refuses_a_plan_a_team_apply_made_stale(org, tmp_path):
    pipeline, platform, team = org["gitlab"]["platform"], org["platform"], org["team"]
    bump_ttl(platform)
    plan = saved_plan(platform, tmp_path)
    describe_service(team, "Changed while the platform's merge request waited.")
    assert invoke("apply", team).exit_code == 0  # it reads the view the plan changes
    before = file_digest(registry_file(org))
    fake = FakeGitLab()  # a merged-results pipeline: its commit merges the head into main
    fake.merged(6, plan, merge_commit_sha=MAIN_SHA, head=HEAD_SHA, ran_on="c7" * 20,
                ref="refs/merge-requests/6/merge")  # fmt: skip
    fake.commits["c7" * 20] = ["0f" * 20, HEAD_SHA]
    with serving(fake) as base:
        ran = gitlab_main_job(pipeline, platform, "sync", fake, base)
    assert len(ran.commands) == 1 and "reviewed-plan" in ran.commands[0]
    assert ran.failed is not None and ran.failed.returncode == 1
    errors = [line for line in ran.failed.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: the registry changed since the plan: FeatureService marketing_campaign_model was "
        "updated; nothing was written: re-run the merge request's check to plan against the "
        "registry as it is now, review that plan, then re-run this job"
    ], ran.failed.stderr
    assert file_digest(registry_file(org)) == before


# --- the API walk: no reviewed plan, one line --------------------------------------------


def reviewed_plan(env: dict[str, str], out: Path):
    """The command in a fresh process, as the main job runs it."""
    command = [sys.executable, "-m", "feast_federation.cli", "reviewed-plan", "--out", str(out)]
    return run(command, env=runner_env(**env))


def one_line(result, *expected: str) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def test_no_pull_request_no_artifact_or_a_refused_token_fail_in_one_line(tmp_path):
    out = tmp_path / "plan.json"
    fake = github_for("acme/platform", "platform", b"{}")
    with serving(fake) as base:
        env = fake.environment(base, MAIN_SHA, WORKFLOWS["platform"])
        # (a deadline too short to ask GitHub again: it may not know the pull request yet)
        one_line(reviewed_plan(env | {"GITHUB_SHA": "c3" * 20, "FEAST_PLAN_FETCH_SECONDS": "2"},
                               out),
                 "commit c3c3c3c3c3c3: no merged pull request brought it to main")  # fmt: skip
        fake.artifacts.clear()
        one_line(reviewed_plan(env, out), "pull request #7, run 301: no feast-plan artifact",
                 "FEAST_REGISTRY_READONLY", "re-run the pull request's check")  # fmt: skip
        one_line(reviewed_plan(env | {"GITHUB_TOKEN": "expired"}, out),
                 "GitHub API: GET /repos/acme/platform/", "answered 401 Unauthorized "
                 "(Bad credentials); the job needs permissions actions: read and pull-requests: "
                 "read")  # fmt: skip
    assert not out.exists()


def in_process(monkeypatch, env: dict[str, str], out: Path):
    for name in list(os.environ):
        if CI_VARIABLES.match(name):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return invoke("reviewed-plan", "--out", out)


def single_error(result, *expected: str) -> None:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and all(text in lines[0] for text in expected), lines


def test_github_takes_the_newest_successful_run_of_this_workflow(monkeypatch, tmp_path):
    fake = github_for("acme/platform", "platform", b'{"plan": "older"}')
    fake.runs += [
        {"id": 302, "workflow": "feature-store.yml", "head_sha": HEAD_SHA, "event": "pull_request",
         "conclusion": "success", "created_at": "2026-01-02T04:00:00Z"},
        {"id": 303, "workflow": "feature-store.yml", "head_sha": HEAD_SHA, "event": "pull_request",
         "conclusion": "failure", "created_at": "2026-01-02T05:00:00Z"},
        {"id": 304, "workflow": "materialize.yml", "head_sha": HEAD_SHA, "event": "pull_request",
         "conclusion": "success", "created_at": "2026-01-02T06:00:00Z"},
    ]  # fmt: skip
    fake.runs[-3]["pull_requests"] = [7]  # as GitHub shows it while the pull request is open
    fake.runs += newer_runs_of_other_pull_requests()
    runs = ((302, b'{"plan": "newest"}'), (303, b"failed"), (304, b"other"), (305, b"fork"),
            (306, b"pull request 8"), (307, b"branch other"))  # fmt: skip
    for run_id, text in runs:
        fake.artifacts.append({"id": 900 + run_id, "run_id": run_id, "name": "feast-plan",
                               "created_at": "2026-01-02T06:00:00Z",
                               "zip": zipped("plan.json", text)})  # fmt: skip
    out = tmp_path / "plan.json"
    with serving(fake) as base:
        result = in_process(monkeypatch, fake.environment(base, MAIN_SHA, "feature-store.yml"),
                            out)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == b'{"plan": "newest"}'
    assert "Saved the plan reviewed in pull request #7, run 302 to " in result.output


def newer_runs_of_other_pull_requests() -> list[dict]:
    """Successful runs for the same head commit that checked other pull requests: a fork's
    (GitHub lists no pull request for it), #8's, and a merged one's from another branch."""
    run = {"workflow": "feature-store.yml", "head_sha": HEAD_SHA, "event": "pull_request",
           "conclusion": "success", "created_at": "2026-01-02T07:00:00Z"}  # fmt: skip
    return [
        run | {"id": 305, "head_repository": "mallory/platform"},
        run | {"id": 306, "pull_requests": [8]},
        run | {"id": 307, "head_branch": "other"},
    ]


def test_github_refuses_a_pull_request_not_merged_as_the_commit_and_other_requests_runs(
    monkeypatch, tmp_path
):
    fake = github_for("acme/platform", "platform", b"{}")
    fake.pulls.append({"number": 3, "merge_commit_sha": "d4" * 20, "head_sha": "e5" * 20,
                       "contains": ["c3" * 20]})  # fmt: skip
    out = tmp_path / "plan.json"
    with serving(fake) as base:
        env = fake.environment(base, MAIN_SHA, "feature-store.yml")
        single_error(in_process(monkeypatch, env | {"GITHUB_SHA": "c3" * 20}, out),
                     "commit c3c3c3c3c3c3: no pull request was merged as this commit (pull "
                     "request #3 only contains it), so no plan was reviewed for it; run the "
                     "workflow by hand on main")  # fmt: skip
        fake.runs = newer_runs_of_other_pull_requests()
        fake.artifacts = [{"id": 900 + run["id"], "run_id": run["id"], "name": "feast-plan",
                           "created_at": "2026-01-02T07:01:00Z", "zip": zipped("plan.json", b"{}")}
                          for run in fake.runs]  # fmt: skip
        single_error(in_process(monkeypatch, env, out), "pull request #7: no successful "
                     "feature-store.yml run for its head commit b2b2b2b2b2b2")  # fmt: skip
    assert not out.exists()


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"GITHUB_TOKEN": ""}, "reviewed-plan: GITHUB_TOKEN is not set; pass it to the step"),
        ({"GITHUB_SHA": ""}, "reviewed-plan: GITHUB_SHA not set"),
        ({"GITHUB_ACTIONS": ""}, "runs in a GitHub Actions or GitLab CI job on main"),
        ({"GITHUB_API_URL": "http://127.0.0.1:9"}, "GitHub API: cannot reach http://127.0.0.1:9"),
        ({"zip": b"not a zip"}, "pull request #7, run 301, artifact feast-plan: not a zip"),
        ({"zip": zipped("other.json", b"{}")}, "artifact feast-plan: the archive holds no plan"),
        ({"runs": []}, "pull request #7: no successful feature-store.yml run for its head "
                       "commit b2b2b2b2b2b2, so no saved plan; re-run the pull "
                       "request's check"),
    ],
)  # fmt: skip
def test_github_failures_are_one_line_and_write_nothing(monkeypatch, tmp_path, change, expected):
    fake = github_for("acme/platform", "platform", b"{}")
    if "zip" in change:
        fake.artifacts[0]["zip"] = change.pop("zip")
    if "runs" in change:
        fake.runs = change.pop("runs")
    out = tmp_path / "plan.json"
    with serving(fake) as base:
        env = fake.environment(base, MAIN_SHA, "feature-store.yml") | change
        single_error(in_process(monkeypatch, env, out), expected)
    assert not out.exists()


def gitlab_fake() -> FakeGitLab:
    fake = FakeGitLab()
    fake.merged(5, b'{"plan": 5}', merge_commit_sha=MAIN_SHA, head=HEAD_SHA)
    return fake


def test_gitlab_finds_the_merge_request_and_its_plan_job(monkeypatch, tmp_path):
    fake = gitlab_fake()
    out = tmp_path / "plan.json"
    with serving(fake) as base:
        result = in_process(monkeypatch, fake.environment(base, MAIN_SHA), out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == b'{"plan": 5}'
    assert "merge request !5, pipeline 77, job check" in result.output
    # The merge request, its head pipeline's jobs, that pipeline's check job's plan.json;
    # the token on every request.
    assert [path for path, _ in fake.requests] == [
        f"/api/v4/projects/42/repository/commits/{MAIN_SHA}/merge_requests",
        "/api/v4/projects/42/merge_requests/5",
        "/api/v4/projects/42/pipelines/77/jobs",
        "/api/v4/projects/42/jobs/577/artifacts/plan.json",
    ]
    assert all(h.get("Private-Token") == fake.token for _, h in fake.requests)


@pytest.mark.parametrize(
    "squash, head",
    [(MAIN_SHA, HEAD_SHA),  # squash and fast-forward
     (None, MAIN_SHA)],  # fast-forward
)  # fmt: skip
def test_gitlab_finds_a_merge_request_merged_without_a_merge_commit(monkeypatch, tmp_path,
                                                                    squash, head):  # fmt: skip
    fake = FakeGitLab()
    fake.merged(4, b'{"plan": 4}', merge_commit_sha="d4" * 20, head="e5" * 20, pipeline=70,
                contains=[MAIN_SHA])  # merged before  # fmt: skip
    fake.merged(5, b'{"plan": 5}', merge_commit_sha=None, head=head, squash_commit_sha=squash)
    out = tmp_path / "plan.json"
    with serving(fake) as base:
        result = in_process(monkeypatch, fake.environment(base, MAIN_SHA), out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == b'{"plan": 5}'


def test_gitlab_refuses_a_merge_request_that_only_contains_the_commit(monkeypatch, tmp_path):
    fake = gitlab_fake()
    fake.merged(4, b'{"plan": 4}', merge_commit_sha="d4" * 20, head="e5" * 20, pipeline=70,
                contains=["c3" * 20])  # fmt: skip
    out = tmp_path / "plan.json"
    with serving(fake) as base:
        single_error(in_process(monkeypatch, fake.environment(base, "c3" * 20), out),
                     "commit c3c3c3c3c3c3: no merge request was merged as this commit (merge "
                     "request !4 only contains it), so no plan was reviewed for it; run the "
                     "pipeline by hand on main")  # fmt: skip
    assert not out.exists()


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"CI_COMMIT_SHA": "c3" * 20}, "commit c3c3c3c3c3c3: no merged merge request"),
        ({"FEAST_PLAN_TOKEN": ""}, "FEAST_PLAN_TOKEN is not set; a project access token"),
        ({"FEAST_PLAN_TOKEN": "revoked"}, "answered 401 Unauthorized (401 Unauthorized); "
                                          "FEAST_PLAN_TOKEN needs scope read_api"),
        ({"plans": {}}, "merge request !5: no successful check job of its head pipeline 77 "
                        "saved plan.json (the check saves its plan only while "
                        "FEAST_REGISTRY_READONLY is true, and artifacts expire); re-run the "
                        "merge request's check, then this job"),
    ],
)  # fmt: skip
def test_gitlab_failures_are_one_line_and_write_nothing(monkeypatch, tmp_path, change, expected):
    fake = gitlab_fake()
    if "plans" in change:
        fake.artifacts = change.pop("plans")
    out = tmp_path / "plan.json"
    with serving(fake) as base:
        single_error(in_process(monkeypatch, fake.environment(base, MAIN_SHA) | change, out),
                     expected)  # fmt: skip
    assert not out.exists()


# --- what the API may send: caps, one deadline, malformed replies ------------------------


def pulls_path(sha: str = MAIN_SHA) -> str:
    return f"/repos/acme/platform/commits/{sha}/pulls"


def test_replies_past_their_caps_and_a_trickle_past_the_deadline_are_one_line(
    monkeypatch, tmp_path
):
    from feast_federation.ci import reviewed
    from support.forges import Answer

    out = tmp_path / "plan.json"
    huge = Answer(200, b"[" + b" " * reviewed.MAX_REPLY_BYTES + b"]")  # read whole: exit 1
    bomb = zipped("plan.json", b" " * (reviewed.MAX_PLAN_BYTES + 1))  # a 20 kB zip
    assert len(bomb) < 100_000
    cases = [
        ({pulls_path(): huge}, {}, f"GET {pulls_path()} answered more than 10485760 bytes"),
        ({}, {"zip": bomb}, "artifact feast-plan: plan.json unzips to more than 20971520 bytes"),
        ({pulls_path(): Answer(200, json.dumps([{"number": 7}] * 40).encode(), trickle=0.05)},
         {"FEAST_PLAN_FETCH_SECONDS": "1"},
         f"GitHub API: GET {pulls_path()} did not finish within the fetch's deadline "
         "(FEAST_PLAN_FETCH_SECONDS, default 120 s); re-run this job"),
    ]  # fmt: skip
    for replies, change, expected in cases:
        fake = github_for("acme/platform", "platform", b"{}")
        fake.replies = replies
        if "zip" in change:
            fake.artifacts[0]["zip"] = change.pop("zip")
        with serving(fake) as base:
            env = fake.environment(base, MAIN_SHA, "feature-store.yml") | change
            single_error(in_process(monkeypatch, env, out), expected)
        assert not out.exists()


def deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@pytest.mark.parametrize(
    "path, reply, expected",
    [
        (pulls_path(), {"message": "not a list"}, "answered a reply of an unexpected shape"),
        (pulls_path(), [{"number": 7, "merged_at": "2026-01-02T03:04:05Z",
                         "merge_commit_sha": MAIN_SHA}], "unexpected shape (KeyError: 'head')"),
        (pulls_path(), deep(200_000), f"GitHub API: GET {pulls_path()} did not answer JSON"),
        ("/repos/acme/platform/actions/runs/301/artifacts", {"artifacts": {"id": 1}},
         "GET /repos/acme/platform/actions/runs/301/artifacts answered a reply of an "
         "unexpected shape"),
    ],
)  # fmt: skip
def test_malformed_github_replies_are_one_line(monkeypatch, tmp_path, path, reply, expected):
    from support.forges import Answer

    fake = github_for("acme/platform", "platform", b"{}")
    body = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
    fake.replies = {path: Answer(200, body)}
    out = tmp_path / "plan.json"
    with serving(fake) as base:
        env = fake.environment(base, MAIN_SHA, "feature-store.yml")
        single_error(in_process(monkeypatch, env, out), expected)
    assert not out.exists()


@pytest.mark.parametrize(
    "path, reply",
    [
        (f"/api/v4/projects/42/repository/commits/{MAIN_SHA}/merge_requests", {"iid": 5}),
        ("/api/v4/projects/42/merge_requests/5", {"head_pipeline": {"status": "success"}}),
        ("/api/v4/projects/42/pipelines/77/jobs", {"jobs": []}),
    ],
)
def test_malformed_gitlab_replies_are_one_line(monkeypatch, tmp_path, path, reply):
    from support.forges import Answer

    fake = gitlab_fake()
    fake.replies = {path: Answer.json(reply)}
    out = tmp_path / "plan.json"
    with serving(fake) as base:
        single_error(in_process(monkeypatch, fake.environment(base, MAIN_SHA), out),
                     f"GitLab API: GET {path.removeprefix('/api/v4')} answered a reply of an "
                     "unexpected shape")  # fmt: skip
    assert not out.exists()


# --- the CI systems as their APIs describe them ------------------------------------------


def test_github_takes_the_merge_queue_check_of_the_pushed_commit(monkeypatch, tmp_path):
    """Several pull requests landing as one push: the queue checked exactly the commit it
    pushed, and that run's plan covers them all (no pull request is asked)."""
    fake = github_for("acme/platform", "platform", b'{"plan": "pull request 7 alone"}')
    fake.runs.append({"id": 401, "workflow": "feature-store.yml", "head_sha": MAIN_SHA,
                      "event": "merge_group", "conclusion": "success",
                      "created_at": "2026-01-02T03:30:00Z", "head_branch":
                      "gh-readonly-queue/main/pr-8-0f0f0f"})  # fmt: skip
    fake.artifacts.append({"id": 991, "run_id": 401, "name": "feast-plan",
                           "created_at": "2026-01-02T03:31:00Z",
                           "zip": zipped("plan.json", b'{"plan": "the queue"}')})  # fmt: skip
    out = tmp_path / "plan.json"
    with serving(fake) as base:
        env = fake.environment(base, MAIN_SHA, "feature-store.yml")
        result = in_process(monkeypatch, env, out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == b'{"plan": "the queue"}'
    assert "Saved the plan reviewed in merge queue run 401 to " in result.output
    assert not any("/pulls" in path for path, _ in fake.requests)


def test_github_asks_again_while_the_merge_is_not_associated_yet(monkeypatch, tmp_path):
    from feast_federation.ci import reviewed

    monkeypatch.setattr(reviewed, "ASSOCIATION_WAITS", (0.01, 0.01, 0.01))
    fake = github_for("acme/platform", "platform", b'{"plan": 7}')
    fake.unassociated = 2  # seconds after the merge, GitHub lists no pull request
    out = tmp_path / "plan.json"
    with serving(fake) as base:
        env = fake.environment(base, MAIN_SHA, "feature-store.yml")
        result = in_process(monkeypatch, env, out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == b'{"plan": 7}'
    assert sum("/pulls" in path for path, _ in fake.requests) == 3
    fake.unassociated = 10  # never within the waits: one line, nothing written
    out.unlink()
    with serving(fake) as base:
        env = fake.environment(base, MAIN_SHA, "feature-store.yml")
        single_error(in_process(monkeypatch, env, out),
                     "no merged pull request brought it to main")  # fmt: skip
    assert not out.exists()


@pytest.mark.parametrize(
    "pull, server, expected",
    [
        ({"head_repo": "mallory/platform"}, "https://github.com",
         "it comes from the fork mallory/platform, whose checks run without this repository's "
         "secrets and save no plan; review its changes, then run the workflow by hand"),
        ({"author": "dependabot[bot]", "author_type": "Bot"}, "https://github.com",
         "Dependabot's checks run with Dependabot secrets only (not the read-only "
         "environment's), so they save no plan"),
        ({}, "https://ghe.acme.io", "GitHub Enterprise Server runs no "
         "actions/upload-artifact@v4: pin the v3 action in the check job"),
    ],
)  # fmt: skip
def test_github_says_why_a_pull_request_saved_no_plan(monkeypatch, tmp_path, pull, server,
                                                       expected):  # fmt: skip
    fake = github_for("acme/platform", "platform", b"{}")
    fake.pulls[0].update(pull)
    fake.artifacts.clear()  # a successful check without its plan (the step did not run)
    if "head_repo" in pull:
        fake.runs[0]["head_repository"] = pull["head_repo"]  # the fork's own run
    out = tmp_path / "plan.json"
    with serving(fake) as base:
        env = fake.environment(base, MAIN_SHA, "feature-store.yml") | {"GITHUB_SERVER_URL": server}
        single_error(in_process(monkeypatch, env, out), expected)
    assert not out.exists()


@pytest.mark.parametrize(
    "pipeline, expected",
    [
        ({"status": "running"}, "merge request !5: its head pipeline 77 is still running, so "
         "no plan was reviewed for its last commit; wait for it to succeed"),
        ({"status": "failed"}, "its head pipeline 77 ended failed"),
        ({"ran_on": "d4" * 20}, "its head pipeline 77 ran on commit d4d4d4d4d4d4, not on its "
         "merged head b2b2b2b2b2b2"),
        ({"ran_on": "c7" * 20, "ref": "refs/merge-requests/5/merge"}, "ran on commit c7c7c7c7c7c7"),
    ],
)  # fmt: skip
def test_gitlab_refuses_a_head_pipeline_that_did_not_succeed_on_the_merged_head(
    monkeypatch, tmp_path, pipeline, expected
):
    fake = FakeGitLab()  # the newest successful pipeline of the ref holds an older plan
    fake.merged(5, b'{"plan": "older"}', merge_commit_sha=MAIN_SHA, head=HEAD_SHA, **pipeline)
    fake.commits["c7" * 20] = ["0f" * 20, "e5" * 20]  # a merge of another commit
    out = tmp_path / "plan.json"
    with serving(fake) as base:
        single_error(in_process(monkeypatch, fake.environment(base, MAIN_SHA), out), expected)
    assert not out.exists()


@pytest.mark.parametrize(
    "ran_on, parents",
    [(MAIN_SHA, None),  # a fast-forward merge train pushes the commit its pipeline checked
     ("c7" * 20, ["0f" * 20, HEAD_SHA])],  # a merge train's merge commit, made from the head
)  # fmt: skip
def test_gitlab_takes_a_merge_train_pipeline_of_the_merged_head(monkeypatch, tmp_path, ran_on,
                                                                parents):  # fmt: skip
    fake = FakeGitLab()
    fake.merged(5, b'{"plan": "train"}', merge_commit_sha=MAIN_SHA, head=HEAD_SHA,
                ran_on=ran_on, ref="refs/merge-requests/5/train")  # fmt: skip
    if parents:
        fake.commits[ran_on] = parents
    out = tmp_path / "plan.json"
    with serving(fake) as base:
        result = in_process(monkeypatch, fake.environment(base, MAIN_SHA), out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == b'{"plan": "train"}'
