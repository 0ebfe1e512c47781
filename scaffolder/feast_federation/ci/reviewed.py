"""The reviewed plan: on main, the plan that the merged pull request's check saved.

The check of a pull request (GitHub) or merge request (GitLab) saves its plan
(``apply.py --plan --out plan.json``) as a CI artifact; the job on main fetches it through the
CI system's API and applies exactly it (``apply.py plan.json``), so what reviewers read is
what is written, or nothing is.

GitHub: the pull request merged as this commit, the newest successful run of this workflow for
that pull request's head commit in this repository, that run's ``feast-plan`` artifact (a zip
holding plan.json). GitLab: the merge request merged as this commit (merge commit, squash
commit or, fast-forwarded, its head), then plan.json from the newest successful pipeline of
its ref (``refs/merge-requests/IID/merge`` for merged-results pipelines, else ``/head``). A
pull request that merely contains the commit is not it: no plan was reviewed for this commit.

Standard library only, no Feast: the main job fetches before it loads anything heavy.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Mapping

from feast_federation.errors import FederationError

PLAN_FILE = "plan.json"
GITHUB_ARTIFACT = "feast-plan"
GITLAB_PLAN_JOB = "check"
# GitLab's job token may not list a commit's merge requests: a project access token
# (role Reporter, scope read_api) in this CI/CD variable does both look-ups.
GITLAB_TOKEN = "FEAST_PLAN_TOKEN"
_TIMEOUT_SECONDS = 30
_REPLAN = (
    "re-run the {request}'s check, then this job (or run the pipeline by hand on main to plan "
    "and apply in one run)"
)


def fetch_reviewed_plan(
    environ: Mapping[str, str], *, gitlab_job: str = GITLAB_PLAN_JOB,
    github_artifact: str = GITHUB_ARTIFACT,
) -> tuple[bytes, str]:  # fmt: skip
    """plan.json's bytes, and where they came from (``pull request #7, run 42``); each
    environment's plan is its own artifact (GitHub) or job (GitLab)."""
    if environ.get("GITHUB_ACTIONS") == "true":
        return _from_github(environ, github_artifact)
    if environ.get("GITLAB_CI") == "true":
        return _from_gitlab(environ, gitlab_job)
    raise FederationError(
        "reviewed-plan: runs in a GitHub Actions or GitLab CI job on main (neither "
        "GITHUB_ACTIONS nor GITLAB_CI is true here)"
    )


def stale_plan_advice(environ: Mapping[str, str], *, repo_changed: bool) -> str | None:
    """What to do when a CI job refuses a saved plan (the reviewed one, in the generated
    pipelines) as stale; None outside CI, where "plan again" says it. Re-running the check
    plans the same code again (GitHub re-runs its merge commit, GitLab the branch), so it
    helps only when the registry moved."""
    if environ.get("GITHUB_ACTIONS") == "true":
        request, runner = "pull request", "workflow"
    elif environ.get("GITLAB_CI") == "true":
        request, runner = "merge request", "pipeline"
    else:
        return None
    if repo_changed:
        return (
            f"main holds changes the {request}'s check did not plan, and re-running that check "
            f"plans the same code again: run the {runner} by hand on main to plan and apply "
            f"what main holds, or merge an updated branch whose check plans them"
        )
    return (
        f"re-run the {request}'s check to plan against the registry as it is now, review "
        "that plan, then re-run this job"
    )


def _from_github(environ: Mapping[str, str], artifact_name: str) -> tuple[bytes, str]:
    base, repo, sha, workflow_ref = _required(
        environ, "GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_WORKFLOW_REF"
    )
    token = _token(
        environ, "GITHUB_TOKEN", "pass it to the step: GITHUB_TOKEN: ${{ github.token }}"
    )
    api = _Api("GitHub", base, {
        "Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }, hint="the job needs permissions actions: read and pull-requests: read")  # fmt: skip
    pulls = api.json(f"/repos/{repo}/commits/{sha}/pulls")
    merged = [pull for pull in pulls if pull.get("merged_at")]
    pull = _merged_as(sha, merged, "pull request", lambda p: f"#{p['number']}",
                      lambda p: p.get("merge_commit_sha"))  # fmt: skip
    number, head, branch = pull["number"], pull["head"]["sha"], pull["head"].get("ref")
    # The workflow file, from "owner/repo/.github/workflows/feature-store.yml@refs/heads/main".
    workflow = workflow_ref.partition("@")[0].rpartition("/")[2]
    found = api.json(
        f"/repos/{repo}/actions/workflows/{urllib.parse.quote(workflow)}/runs",
        head_sha=head, event="pull_request", status="success", per_page=100,
    )["workflow_runs"]  # fmt: skip
    runs = [run for run in found if _checked(run, number, repo, branch)]
    if not runs:
        raise FederationError(
            f"pull request #{number}: no successful {workflow} run for its head commit "
            f"{head[:12]}, so no saved plan; {_REPLAN.format(request='pull request')}"
        )
    run = max(runs, key=lambda r: (r.get("run_started_at") or r.get("created_at") or "", r["id"]))
    artifacts = [
        artifact
        for artifact in api.json(
            f"/repos/{repo}/actions/runs/{run['id']}/artifacts", name=artifact_name, per_page=100
        )["artifacts"]
        if artifact.get("name") == artifact_name and not artifact.get("expired")
    ]
    origin = f"pull request #{number}, run {run['id']}"
    if not artifacts:
        raise FederationError(
            f"{origin}: no {artifact_name} artifact (the check saves its plan only while "
            f"FEAST_REGISTRY_READONLY is true, and artifacts expire); "
            + _REPLAN.format(request="pull request")
        )
    artifact = max(artifacts, key=lambda a: (a.get("created_at") or "", a["id"]))
    archive = api.data(f"/repos/{repo}/actions/artifacts/{artifact['id']}/zip")
    return _plan_in_zip(archive, f"{origin}, artifact {artifact_name}"), origin


def _merged_as(sha: str, merged: list[dict], kind: str, name, merged_commit) -> dict:
    """The request merged as ``sha``. The API also lists requests that merely contain the
    commit (a direct push of a commit from some branch): none of their plans was made for it."""
    for request in merged:
        if merged_commit(request) == sha:
            return request
    runner = "workflow" if kind == "pull request" else "pipeline"
    if not merged:
        raise FederationError(
            f"commit {sha[:12]}: no merged {kind} brought it to main, so no plan was "
            f"reviewed; run the {runner} by hand on main to plan and apply in one run"
        )
    numbers = ", ".join(name(request) for request in merged)
    raise FederationError(
        f"commit {sha[:12]}: no {kind} was merged as this commit ({kind} {numbers} only "
        f"contains it), so no plan was reviewed for it; run the {runner} by hand on main to "
        "plan and apply in one run"
    )


def _checked(run: dict, number: int, repo: str, branch: str | None) -> bool:
    """Whether ``run`` is a check of pull request ``number`` from this repository, never of a
    fork's pull request with the same head commit. GitHub lists a run's pull requests only
    while they are open (and never a fork's), so a merged one's run is known by its head
    repository and branch."""
    head_repository = (run.get("head_repository") or {}).get("full_name") or ""
    if head_repository.lower() != repo.lower():
        return False
    numbers = {pull.get("number") for pull in run.get("pull_requests") or []}
    return number in numbers if numbers else run.get("head_branch") == branch


def _from_gitlab(environ: Mapping[str, str], job: str) -> tuple[bytes, str]:
    base, project, sha = _required(environ, "CI_API_V4_URL", "CI_PROJECT_ID", "CI_COMMIT_SHA")
    token = _token(
        environ, GITLAB_TOKEN, "a project access token (role Reporter, scope read_api) as a "
        "masked, protected CI/CD variable",
    )  # fmt: skip
    api = _Api("GitLab", base, {"PRIVATE-TOKEN": token},
               hint=f"{GITLAB_TOKEN} needs scope read_api and role Reporter")  # fmt: skip
    project = urllib.parse.quote(project, safe="")
    requests = api.json(f"/projects/{project}/repository/commits/{sha}/merge_requests")
    merged = [mr for mr in requests if mr.get("state") == "merged"]
    # What GitLab itself shows as the merged commit: the merge commit, else the squash commit
    # (squash and fast-forward), else the head (fast-forward).
    request = _merged_as(sha, merged, "merge request", lambda mr: f"!{mr['iid']}", lambda mr: (
        mr.get("merge_commit_sha") or mr.get("squash_commit_sha") or mr.get("sha")))  # fmt: skip
    iid = request["iid"]
    for kind in ("merge", "head"):
        ref = urllib.parse.quote(f"refs/merge-requests/{iid}/{kind}", safe="")
        plan = api.data(f"/projects/{project}/jobs/artifacts/{ref}/raw/{PLAN_FILE}", job=job,
                        missing_ok=True)  # fmt: skip
        if plan is not None:
            return plan, f"merge request !{iid}, job {job}"
    raise FederationError(
        f"merge request !{iid}: no successful {job} job saved {PLAN_FILE} (the check saves its "
        "plan only while FEAST_REGISTRY_READONLY is true, and artifacts expire); "
        + _REPLAN.format(request="merge request")
    )


def _required(environ: Mapping[str, str], *names: str) -> list[str]:
    missing = [name for name in names if not environ.get(name)]
    if missing:
        raise FederationError(f"reviewed-plan: {', '.join(missing)} not set (a CI job has it)")
    return [environ[name] for name in names]


def _token(environ: Mapping[str, str], name: str, how: str) -> str:
    if not environ.get(name):
        raise FederationError(f"reviewed-plan: {name} is not set; {how}")
    return environ[name]


class _Api:
    """GET requests to one CI system's REST API; any failure is one line naming the request."""

    def __init__(self, forge: str, base: str, headers: dict[str, str], *, hint: str):
        self.forge, self.base, self.headers, self.hint = forge, base.rstrip("/"), headers, hint

    def json(self, path: str, **query):
        body = self.data(path, **query)
        try:
            return json.loads(body)
        except ValueError:
            raise FederationError(f"{self.forge} API: GET {path} did not answer JSON") from None

    def data(self, path: str, *, missing_ok: bool = False, **query) -> bytes | None:
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        request = urllib.request.Request(url, headers={"User-Agent": "feast-federation"})
        for name, value in self.headers.items():
            # Unredirected: an artifact download redirects to blob storage, which must not
            # receive the token (and refuses a request that carries an Authorization header).
            request.add_unredirected_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and missing_ok:
                return None
            hint = f"; {self.hint}" if exc.code in (401, 403) else ""
            raise FederationError(
                f"{self.forge} API: GET {path} answered {exc.code} {exc.reason}"
                f"{_message(exc)}{hint}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise FederationError(f"{self.forge} API: cannot reach {url} ({reason})") from None


def _message(exc: urllib.error.HTTPError) -> str:
    """The API's own explanation (``Bad credentials``), when it gives one."""
    try:
        message = json.loads(exc.read()).get("message")
    except (ValueError, AttributeError, OSError):
        return ""
    return f" ({message})" if isinstance(message, str) and message else ""


def _plan_in_zip(archive: bytes, origin: str) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
            return bundle.read(PLAN_FILE)
    except KeyError:
        raise FederationError(f"{origin}: the archive holds no {PLAN_FILE}") from None
    except zipfile.BadZipFile:
        raise FederationError(f"{origin}: not a zip archive") from None
