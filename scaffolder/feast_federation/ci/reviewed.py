"""The reviewed plan: on main, the plan that the merged pull request's check saved.

The check of a pull request (GitHub) or merge request (GitLab) saves its plan
(``apply.py --plan --out plan.json``) as a CI artifact; the job on main fetches it through the
CI system's API and applies exactly it (``apply.py plan.json``), so what reviewers read is
what is written, or nothing is.

GitHub: a merge queue's successful check of exactly this commit (``merge_group``: the queue
pushes the commit it checked), else the pull request merged as this commit (asked again for
a while: GitHub may not know the association seconds after the merge), the newest
successful run of this workflow for that pull request's head commit in this repository, that
run's ``feast-plan`` artifact (a zip holding plan.json). GitLab: the merge request merged as
this commit (merge commit, squash commit or, fast-forwarded, its head), then its head
pipeline, which must have succeeded on the merged head (its last commit, or a merged-results
or merge-train commit made from it), and plan.json from that pipeline's plan job. A pull
request that merely contains the commit is not it: no plan was reviewed for this commit.

The PR's code decides the artifact, and the API's replies are data: every reply and the
unzipped plan are size-capped, the whole fetch has one deadline (not one per read), and a
reply of an unexpected shape is one line naming the request.

Standard library only, no Feast: the main job fetches before it loads anything heavy.
"""

from __future__ import annotations

import io
import json
import time
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
# One deadline for the whole fetch (FEAST_PLAN_FETCH_SECONDS overrides it), and caps on what
# the API may send: a JSON reply, an artifact's zip, and the plan unzipped.
DEADLINE_VARIABLE = "FEAST_PLAN_FETCH_SECONDS"
DEADLINE_SECONDS = 120.0
MAX_REPLY_BYTES = 10 * 1024 * 1024
MAX_PLAN_BYTES = 20 * 1024 * 1024
_READ_SECONDS = 30.0  # the longest one read may wait, within the deadline
_CHUNK = 64 * 1024
# GitHub may list no pull request for a merge commit, or one without its merge commit, for
# a few seconds after the merge: asked again after these waits (about a minute in all).
ASSOCIATION_WAITS = (2.0, 4.0, 8.0, 16.0, 30.0)
DEPENDABOT = "dependabot[bot]"
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
        return _guarded(lambda env, api_of: _from_github(env, api_of, github_artifact), environ)
    if environ.get("GITLAB_CI") == "true":
        return _guarded(lambda env, api_of: _from_gitlab(env, gitlab_job, api_of), environ)
    raise FederationError(
        "reviewed-plan: runs in a GitHub Actions or GitLab CI job on main (neither "
        "GITHUB_ACTIONS nor GITLAB_CI is true here)"
    )


def _guarded(walk, environ: Mapping[str, str]) -> tuple[bytes, str]:
    """Run ``walk`` with one deadline for every request it makes; a reply of another shape
    than the API's description (a mapping where a list belongs, a missing field) is one
    line naming the request that gave it."""
    deadline = time.monotonic() + _deadline_seconds(environ)
    made: list[_Api] = []

    def api_of(*args, **kwargs) -> _Api:
        made.append(_Api(*args, deadline=deadline, **kwargs))
        return made[-1]

    try:
        return walk(environ, api_of)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        api = made[-1] if made else None
        if api is None or api.last is None:
            raise
        raise FederationError(
            f"{api.forge} API: GET {api.last} answered a reply of an unexpected shape "
            f"({type(exc).__name__}: {str(exc)[:80]}); is {api.base} the {api.forge} REST API?"
        ) from None


def _deadline_seconds(environ: Mapping[str, str]) -> float:
    text = environ.get(DEADLINE_VARIABLE, "")
    try:
        seconds = float(text) if text else DEADLINE_SECONDS
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 86400:
        raise FederationError(
            f"reviewed-plan: {DEADLINE_VARIABLE}={text!r} is not a number of seconds"
        )
    return seconds


def reconcile_note(environ: Mapping[str, str]) -> str | None:
    """What a scheduled or manual run that applied changes says about them: no push applied
    them (a squash message with ``[skip ci]`` runs no pipeline, or a pending run was
    cancelled); None in any other run."""
    if environ.get("GITHUB_ACTIONS") == "true":
        caught_up = environ.get("GITHUB_EVENT_NAME") in ("schedule", "workflow_dispatch")
    elif environ.get("GITLAB_CI") == "true":
        caught_up = environ.get("CI_PIPELINE_SOURCE") in ("schedule", "web")
    else:
        caught_up = False
    if not caught_up:
        return None
    return (
        "this reconcile run applied changes that no push to main had applied: a commit "
        "pushed with [skip ci] (or [ci skip]) in its message, or a pending run that was "
        "cancelled; they were not applied as a reviewed plan, so check them against the "
        "merged requests"
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


def _from_github(environ: Mapping[str, str], api_of, artifact: str) -> tuple[bytes, str]:
    base, repo, sha, workflow_ref = _required(
        environ, "GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_WORKFLOW_REF"
    )
    token = _token(
        environ, "GITHUB_TOKEN", "pass it to the step: GITHUB_TOKEN: ${{ github.token }}"
    )
    api = api_of("GitHub", base, {
        "Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }, hint="the job needs permissions actions: read and pull-requests: read")  # fmt: skip
    # The workflow file, from "owner/repo/.github/workflows/feature-store.yml@refs/heads/main".
    workflow = workflow_ref.partition("@")[0].rpartition("/")[2]
    runs_path = f"/repos/{repo}/actions/workflows/{urllib.parse.quote(workflow)}/runs"
    queued = _runs(api, runs_path, head_sha=sha, event="merge_group")
    queued = [run for run in queued if _same_repo(run, repo)]
    if queued:  # a merge queue checked exactly this commit, then pushed it
        run = _newest(queued)
        origin = f"merge queue run {run['id']}"
        return _artifact_plan(api, repo, run, origin, _ghes(environ), None, artifact), origin
    pull = _merged_pull(api, repo, sha)
    number, head, branch = pull["number"], pull["head"]["sha"], pull["head"].get("ref")
    found = _runs(api, runs_path, head_sha=head, event="pull_request")
    runs = [run for run in found if _checked(run, number, repo, branch)]
    if not runs:
        raise FederationError(
            f"pull request #{number}: no successful {workflow} run for its head commit "
            f"{head[:12]}, so no saved plan; {_no_plan_cause(pull, repo, environ)}"
        )
    run = _newest(runs)
    origin = f"pull request #{number}, run {run['id']}"
    return _artifact_plan(api, repo, run, origin, _ghes(environ), pull, artifact), origin


def _runs(api: _Api, path: str, **query) -> list[dict]:
    reply = api.json(path, status="success", per_page=100, **query)
    runs = reply["workflow_runs"]
    if not isinstance(runs, list) or not all(isinstance(run, dict) for run in runs):
        raise TypeError("workflow_runs is not a list of runs")
    return runs


def _newest(items: list[dict]) -> dict:
    return max(items, key=lambda r: (str(r.get("run_started_at") or r.get("created_at") or ""),
                                     int(r["id"])))  # fmt: skip


def _same_repo(run: dict, repo: str) -> bool:
    head_repository = (run.get("head_repository") or {}).get("full_name") or ""
    return head_repository.lower() == repo.lower()


def _merged_pull(api: _Api, repo: str, sha: str) -> dict:
    """The pull request merged as ``sha``, asked again while GitHub does not know it yet."""
    for wait in (*ASSOCIATION_WAITS, None):
        pulls = api.json(f"/repos/{repo}/commits/{sha}/pulls")
        if not isinstance(pulls, list) or not all(isinstance(pull, dict) for pull in pulls):
            raise TypeError("not a list of pull requests")
        merged = [pull for pull in pulls if pull.get("merged_at")]
        # Settled once a merged pull request names its merge commit (this one or another).
        settled = any(pull.get("merge_commit_sha") for pull in merged)
        if settled or wait is None or not api.can_wait(wait):
            break
        time.sleep(wait)
    return _merged_as(sha, merged, "pull request", lambda p: f"#{p['number']}",
                      lambda p: p.get("merge_commit_sha"))  # fmt: skip


def _artifact_plan(api: _Api, repo: str, run: dict, origin: str, ghes: bool,
                   pull: dict | None = None, wanted: str = GITHUB_ARTIFACT) -> bytes:  # fmt: skip
    reply = api.json(f"/repos/{repo}/actions/runs/{int(run['id'])}/artifacts",
                     name=wanted, per_page=100)  # fmt: skip
    artifacts = [
        artifact for artifact in reply["artifacts"]
        if artifact.get("name") == wanted and not artifact.get("expired")
    ]  # fmt: skip
    if not artifacts:
        cause = (
            "GitHub Enterprise Server runs no actions/upload-artifact@v4: pin the v3 action "
            "in the check job (docs/platform-guide.md, GitHub Enterprise Server)"
            if ghes
            else "the check saves its plan only while FEAST_REGISTRY_READONLY is true, and "
            "artifacts expire"
        )
        advice = _no_plan_cause(pull, repo, {}) if pull else _REPLAN.format(request="pull request")
        raise FederationError(f"{origin}: no {wanted} artifact ({cause}); {advice}")
    artifact = max(artifacts, key=lambda a: (str(a.get("created_at") or ""), int(a["id"])))
    size = artifact.get("size_in_bytes")
    if isinstance(size, int) and size > MAX_PLAN_BYTES:
        raise FederationError(
            f"{origin}: artifact {wanted} holds {size} bytes, more than a plan "
            f"({MAX_PLAN_BYTES} at most); not fetched"
        )
    archive = api.data(f"/repos/{repo}/actions/artifacts/{int(artifact['id'])}/zip",
                       limit=MAX_PLAN_BYTES)  # fmt: skip
    return _plan_in_zip(archive, f"{origin}, artifact {wanted}")


def _ghes(environ: Mapping[str, str]) -> bool:
    """Whether the job runs on GitHub Enterprise Server (not github.com or GHE.com)."""
    server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/").lower()
    return not (server == "https://github.com" or server.endswith(".ghe.com"))


def _no_plan_cause(pull: dict | None, repo: str, environ: Mapping[str, str]) -> str:
    """Why a pull request's check saved no plan, when the pull request shows it: a fork's
    or Dependabot's runs get none of this repository's secrets, so never plan."""
    head_repo = ((pull or {}).get("head") or {}).get("repo") or {}
    fork = str(head_repo.get("full_name") or repo)
    author = str(((pull or {}).get("user") or {}).get("login") or "")
    by_hand = "review its changes, then run the workflow by hand on main to plan and apply them"
    if fork.lower() != repo.lower():
        return (
            f"it comes from the fork {fork}, whose checks run without this repository's "
            f"secrets and save no plan; {by_hand}"
        )
    if author == DEPENDABOT:
        return (
            "Dependabot's checks run with Dependabot secrets only (not the read-only "
            f"environment's), so they save no plan; {by_hand}"
        )
    return _REPLAN.format(request="pull request")


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
    if not _same_repo(run, repo):
        return False
    numbers = {pull.get("number") for pull in run.get("pull_requests") or []}
    return number in numbers if numbers else run.get("head_branch") == branch


def _from_gitlab(environ: Mapping[str, str], job: str, api_of) -> tuple[bytes, str]:
    base, project, sha = _required(environ, "CI_API_V4_URL", "CI_PROJECT_ID", "CI_COMMIT_SHA")
    token = _token(
        environ, GITLAB_TOKEN, "a project access token (role Reporter, scope read_api) as a "
        "masked, protected CI/CD variable",
    )  # fmt: skip
    api = api_of("GitLab", base, {"PRIVATE-TOKEN": token},
                 hint=f"{GITLAB_TOKEN} needs scope read_api and role Reporter")  # fmt: skip
    project = urllib.parse.quote(project, safe="")
    requests = api.json(f"/projects/{project}/repository/commits/{sha}/merge_requests")
    if not isinstance(requests, list) or not all(isinstance(mr, dict) for mr in requests):
        raise TypeError("not a list of merge requests")
    merged = [mr for mr in requests if mr.get("state") == "merged"]
    # What GitLab itself shows as the merged commit: the merge commit, else the squash commit
    # (squash and fast-forward), else the head (fast-forward).
    request = _merged_as(sha, merged, "merge request", lambda mr: f"!{mr['iid']}", lambda mr: (
        mr.get("merge_commit_sha") or mr.get("squash_commit_sha") or mr.get("sha")))  # fmt: skip
    iid = int(request["iid"])
    details = api.json(f"/projects/{project}/merge_requests/{iid}")
    pipeline = details.get("head_pipeline")
    name = f"merge request !{iid}"
    if not isinstance(pipeline, dict):
        raise FederationError(
            f"{name}: GitLab shows no head pipeline for it, so no plan was reviewed for its "
            f"last commit; {_REPLAN.format(request='merge request')}"
        )
    _check_head_pipeline(api, project, name, pipeline, head=str(details.get("sha") or ""),
                         merged=sha)  # fmt: skip
    pipeline_id = int(pipeline["id"])
    jobs = api.json(f"/projects/{project}/pipelines/{pipeline_id}/jobs", per_page=100,
                    **{"scope[]": "success"})  # fmt: skip
    if not isinstance(jobs, list) or not all(isinstance(item, dict) for item in jobs):
        raise TypeError("not a list of jobs")
    done = [item for item in jobs if item.get("name") == job and item.get("status") == "success"]
    plan = None
    if done:
        newest = max(done, key=lambda item: int(item["id"]))
        plan = api.data(f"/projects/{project}/jobs/{int(newest['id'])}/artifacts/{PLAN_FILE}",
                        missing_ok=True, limit=MAX_PLAN_BYTES)  # fmt: skip
    if plan is None:
        raise FederationError(
            f"{name}: no successful {job} job of its head pipeline {pipeline_id} saved "
            f"{PLAN_FILE} (the check saves its plan only while FEAST_REGISTRY_READONLY is "
            "true, and artifacts expire); " + _REPLAN.format(request="merge request")
        )
    return plan, f"{name}, pipeline {pipeline_id}, job {job}"


def _check_head_pipeline(api: _Api, project: str, name: str, pipeline: dict, *, head: str,
                         merged: str) -> None:  # fmt: skip
    """The head pipeline must have succeeded on what was merged: the request's last commit,
    or a merged-results or merge-train commit made from it (``refs/merge-requests/IID/merge``
    or ``/train``), which a merge train may push to main as it is."""
    pipeline_id, status = int(pipeline["id"]), str(pipeline.get("status"))
    ran_on, ref = str(pipeline.get("sha") or ""), str(pipeline.get("ref") or "")
    if status != "success":
        state = "is still running" if status in _GITLAB_RUNNING else f"ended {status}"
        raise FederationError(
            f"{name}: its head pipeline {pipeline_id} {state}, so no plan was reviewed for "
            f"its last commit; wait for it to succeed (or re-run it), then re-run this job"
        )
    if ran_on in (head, merged):
        return
    if ref.endswith(("/merge", "/train")):
        commit = api.json(f"/projects/{project}/repository/commits/{ran_on}")
        if head in (commit.get("parent_ids") or []):
            return
    raise FederationError(
        f"{name}: its head pipeline {pipeline_id} ran on commit {ran_on[:12]}, not on its "
        f"merged head {head[:12]}, so no plan was reviewed for what was merged; "
        + _REPLAN.format(request="merge request")
    )


_GITLAB_RUNNING = frozenset(
    {"created", "waiting_for_resource", "preparing", "pending", "running", "scheduled", "manual"}
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
    """GET requests to one CI system's REST API within one deadline; any failure is one line
    naming the request, and no reply is read past its cap."""

    def __init__(self, forge: str, base: str, headers: dict[str, str], *, hint: str,
                 deadline: float):  # fmt: skip
        self.forge, self.base, self.headers, self.hint = forge, base.rstrip("/"), headers, hint
        self.deadline = deadline
        self.last: str | None = None  # the path of the last request, for messages

    def can_wait(self, seconds: float) -> bool:
        """Whether waiting ``seconds`` leaves time for another request."""
        return time.monotonic() + seconds + 1 < self.deadline

    def json(self, path: str, **query):
        body = self.data(path, limit=MAX_REPLY_BYTES, **query)
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise FederationError(f"{self.forge} API: GET {path} did not answer JSON") from None

    def data(self, path: str, *, limit: int, missing_ok: bool = False, **query) -> bytes | None:
        self.last = path
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        request = urllib.request.Request(url, headers={"User-Agent": "feast-federation"})
        for name, value in self.headers.items():
            # Unredirected: an artifact download redirects to blob storage, which must not
            # receive the token (and refuses a request that carries an Authorization header).
            request.add_unredirected_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self._read_timeout(path)) as response:
                return self._read(response, path, limit)
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and missing_ok:
                return None
            hint = f"; {self.hint}" if exc.code in (401, 403) else ""
            raise FederationError(
                f"{self.forge} API: GET {path} answered {exc.code} {exc.reason}"
                f"{_message(exc)}{hint}"
            ) from None
        except TimeoutError:
            raise self._late(path) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            if isinstance(reason, TimeoutError) or self._remaining() <= 0:
                raise self._late(path) from None
            raise FederationError(f"{self.forge} API: cannot reach {url} ({reason})") from None

    def _read(self, response, path: str, limit: int) -> bytes:
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > limit:
            raise self._too_big(path, limit)
        chunks, size = [], 0
        while True:
            if self._remaining() <= 0:
                raise self._late(path)
            chunk = response.read1(_CHUNK)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                raise self._too_big(path, limit)
            chunks.append(chunk)

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _read_timeout(self, path: str) -> float:
        remaining = self._remaining()
        if remaining <= 0:
            raise self._late(path)
        return min(_READ_SECONDS, remaining)

    def _late(self, path: str) -> FederationError:
        return FederationError(
            f"{self.forge} API: GET {path} did not finish within the fetch's deadline "
            f"({DEADLINE_VARIABLE}, default {DEADLINE_SECONDS:g} s); re-run this job"
        )

    def _too_big(self, path: str, limit: int) -> FederationError:
        return FederationError(
            f"{self.forge} API: GET {path} answered more than {limit} bytes, more than "
            "this request ever needs; not read"
        )


def _message(exc: urllib.error.HTTPError) -> str:
    """The API's own explanation (``Bad credentials``), when it gives one."""
    try:
        message = json.loads(exc.read(MAX_REPLY_BYTES)).get("message")
    except (ValueError, AttributeError, OSError, RecursionError):
        return ""
    return f" ({message[:200]})" if isinstance(message, str) and message else ""


def _plan_in_zip(archive: bytes, origin: str) -> bytes:
    """plan.json from an artifact's zip, read no further than a plan can be (the sizes a zip
    declares are the uploader's word)."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
            if bundle.getinfo(PLAN_FILE).file_size > MAX_PLAN_BYTES:
                raise _plan_too_big(origin)
            with bundle.open(PLAN_FILE) as member:
                plan = member.read(MAX_PLAN_BYTES + 1)
    except KeyError:
        raise FederationError(f"{origin}: the archive holds no {PLAN_FILE}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError,
            OSError, ValueError):  # fmt: skip
        raise FederationError(f"{origin}: not a zip archive this check uploaded") from None
    if len(plan) > MAX_PLAN_BYTES:
        raise _plan_too_big(origin)
    return plan


def _plan_too_big(origin: str) -> FederationError:
    return FederationError(
        f"{origin}: {PLAN_FILE} unzips to more than {MAX_PLAN_BYTES} bytes, more than a plan; "
        "not read"
    )
