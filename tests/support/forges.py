"""GitHub's and GitLab's REST APIs, the parts ``feast-federation reviewed-plan`` walks, served
on 127.0.0.1 by a thread: merged pull (merge) requests, workflow runs, artifacts, pipelines.

The replies have the shapes the official descriptions give (GitHub's OpenAPI description,
github/rest-api-description: ``pull-request-simple``, ``workflow-run``, ``artifact``;
GitLab's REST API docs: merge requests with ``head_pipeline``, pipeline jobs, job artifacts,
commits with ``parent_ids``), with the fields the client reads and the ones beside them.
Each fake holds its state in plain attributes a test edits, answers what it does not know
with 404 and a wrong token with 401, records every request it served, and answers any path
in ``replies`` with that recorded reply instead (a malformed one, a huge one, a trickle).
"""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import threading
import time
import urllib.parse
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field


def zipped(name: str, data: bytes) -> bytes:
    """An artifact archive as GitHub serves one: a zip holding the uploaded file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    trickle: float = 0.0  # seconds between bytes: a reply sent one byte at a time

    @classmethod
    def json(cls, data, status: int = 200) -> Answer:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json"})


@dataclass
class FakeGitHub:
    """One repository: ``pulls`` (number, merge_commit_sha, head_sha; optional head_ref,
    default ``feature``, and ``contains``: other commits it brought), ``runs`` (id, workflow
    file, head_sha, event, conclusion, created_at; optional head_repository, default this
    one, head_branch, default ``feature``, and pull_requests: numbers, default none, as
    GitHub shows a merged pull request's runs) and ``artifacts`` (id, run_id, name, the zip).
    A zip download redirects to a blob host that refuses a request carrying an Authorization
    header, as GitHub's artifact storage does."""

    repo: str = "acme/platform"
    token: str = "ghs_test_token"
    pulls: list[dict] = field(default_factory=list)
    runs: list[dict] = field(default_factory=list)
    artifacts: list[dict] = field(default_factory=list)
    requests: list[tuple[str, dict]] = field(default_factory=list)
    replies: dict[str, Answer] = field(default_factory=dict)
    # GitHub lists a merge commit's pull requests only a while after the merge: the first
    # this many answers are empty.
    unassociated: int = 0

    def answer(self, path: str, query: dict, headers: dict, base: str) -> Answer:
        if path in self.replies:
            return self.replies[path]
        parts = [urllib.parse.unquote(part) for part in path.strip("/").split("/")]
        if parts[0] == "blob":
            if "Authorization" in headers:
                return Answer(400, b"<Error>Authorization header on a signed URL</Error>")
            [zip_bytes] = [a["zip"] for a in self.artifacts if str(a["id"]) == parts[1]]
            return Answer(200, zip_bytes, {"Content-Type": "application/zip"})
        if headers.get("Authorization") != f"Bearer {self.token}":
            return Answer.json({"message": "Bad credentials"}, 401)
        owner, name = self.repo.split("/")
        if parts[:3] != ["repos", owner, name]:
            return Answer.json({"message": "Not Found"}, 404)
        rest = parts[3:]
        if rest[:1] == ["commits"] and rest[2:] == ["pulls"]:
            if self.unassociated > 0:
                self.unassociated -= 1
                return Answer.json([])
            return Answer.json(
                [
                    self._pull(p)
                    for p in self.pulls
                    if rest[1] in (p["merge_commit_sha"], *p.get("contains", ()))
                ]
            )
        if rest[:2] == ["actions", "workflows"] and rest[3:] == ["runs"]:
            runs = [
                {**run, "status": "completed",
                 "head_repository": {"full_name": run.get("head_repository", self.repo)},
                 "head_branch": run.get("head_branch", "feature"),
                 "pull_requests": [{"number": n} for n in run.get("pull_requests", ())]}
                for run in self.runs
                if run["workflow"] == rest[2] and run["head_sha"] == query.get("head_sha")
                and run["event"] == query.get("event")
                and query.get("status") in (None, run["conclusion"])
            ]  # fmt: skip
            return Answer.json({"total_count": len(runs), "workflow_runs": runs})
        if rest[:2] == ["actions", "runs"] and rest[3:] == ["artifacts"]:
            found = [
                {
                    "node_id": f"MDg6QXJ0aWZhY3R{a['id']}",
                    "size_in_bytes": len(a["zip"]),
                    "url": f"{base}/repos/{self.repo}/actions/artifacts/{a['id']}",
                    "archive_download_url": f"{base}/repos/{self.repo}/actions/artifacts/"
                    f"{a['id']}/zip",
                    "expired": False,
                    "expires_at": None,
                    "updated_at": a.get("created_at"),
                    "workflow_run": {"id": a["run_id"], "head_sha": None},
                }
                | {key: value for key, value in a.items() if key != "zip"}
                for a in self.artifacts
                if str(a["run_id"]) == rest[2] and query.get("name") in (None, a["name"])
            ]
            return Answer.json({"total_count": len(found), "artifacts": found})
        if rest[:2] == ["actions", "artifacts"] and rest[3:] == ["zip"]:
            if any(str(a["id"]) == rest[2] for a in self.artifacts):
                return Answer(302, headers={"Location": f"{base}/blob/{rest[2]}?sig=signed"})
        return Answer.json({"message": "Not Found"}, 404)

    def _pull(self, p: dict) -> dict:
        """A ``pull-request-simple``: who opened it, from which repository and branch."""
        head_repo = p.get("head_repo", self.repo)
        return {
            "url": f"https://api.github.com/repos/{self.repo}/pulls/{p['number']}",
            "number": p["number"], "state": "closed", "locked": False, "title": "A change",
            "user": {"login": p.get("author", "octocat"), "type": p.get("author_type", "User")},
            "created_at": "2026-01-01T03:04:05Z", "closed_at": "2026-01-02T03:04:05Z",
            "merged_at": "2026-01-02T03:04:05Z", "merge_commit_sha": p["merge_commit_sha"],
            "head": {"label": f"{head_repo.split('/')[0]}:{p.get('head_ref', 'feature')}",
                     "ref": p.get("head_ref", "feature"), "sha": p["head_sha"],
                     "repo": {"full_name": head_repo, "fork": head_repo != self.repo}},
            "base": {"ref": "main", "sha": "0f" * 20, "repo": {"full_name": self.repo}},
            "author_association": "MEMBER", "draft": False,
        }  # fmt: skip

    def environment(self, base: str, sha: str, workflow: str) -> dict[str, str]:
        """What a GitHub runner sets in a job on main (and the step passes as GITHUB_TOKEN)."""
        return {
            "GITHUB_ACTIONS": "true", "GITHUB_API_URL": base, "GITHUB_REPOSITORY": self.repo,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_SHA": sha, "GITHUB_TOKEN": self.token,
            "GITHUB_WORKFLOW_REF": f"{self.repo}/.github/workflows/{workflow}@refs/heads/main",
        }  # fmt: skip


@dataclass
class FakeGitLab:
    """One project: ``merge_requests`` (iid, merge_commit_sha; optional squash_commit_sha,
    sha: its head, ``contains``: other commits it brought, and ``head_pipeline``: id, sha,
    ref, status), ``jobs`` (pipeline id to its jobs: id, name, status), ``artifacts`` (job
    id to the plan.json it saved) and ``commits`` (sha to its parent_ids)."""

    project_id: str = "42"
    token: str = "glpat-test-token"
    merge_requests: list[dict] = field(default_factory=list)
    jobs: dict[int, list[dict]] = field(default_factory=dict)
    artifacts: dict[int, bytes] = field(default_factory=dict)
    commits: dict[str, list[str]] = field(default_factory=dict)
    requests: list[tuple[str, dict]] = field(default_factory=list)
    replies: dict[str, Answer] = field(default_factory=dict)

    def answer(self, path: str, query: dict, headers: dict, base: str) -> Answer:
        if path in self.replies:
            return self.replies[path]
        if headers.get("PRIVATE-TOKEN") != self.token:
            return Answer.json({"message": "401 Unauthorized"}, 401)
        parts = [urllib.parse.unquote(part) for part in path.strip("/").split("/")]
        if parts[:4] != ["api", "v4", "projects", self.project_id]:
            return Answer.json({"message": "404 Project Not Found"}, 404)
        rest = parts[4:]
        if rest[:2] == ["repository", "commits"] and rest[3:] == ["merge_requests"]:
            commits = ("merge_commit_sha", "squash_commit_sha", "sha")
            return Answer.json([
                self._merge_request(mr) for mr in self.merge_requests
                if rest[2] in (*(mr.get(key) for key in commits), *mr.get("contains", ()))
            ])  # fmt: skip
        if rest[:2] == ["repository", "commits"] and len(rest) == 3 and rest[2] in self.commits:
            return Answer.json({"id": rest[2], "short_id": rest[2][:8], "title": "Merge",
                                "parent_ids": self.commits[rest[2]]})  # fmt: skip
        if rest[:1] == ["merge_requests"] and len(rest) == 2:
            for mr in self.merge_requests:
                if str(mr["iid"]) == rest[1]:
                    return Answer.json(self._merge_request(mr) | {
                        "head_pipeline": mr.get("head_pipeline") and {
                            "project_id": int(self.project_id), "source": "merge_request_event",
                            "web_url": f"{base}/-/pipelines/{mr['head_pipeline']['id']}",
                            **mr["head_pipeline"]},
                        "diff_refs": {"head_sha": mr.get("sha"), "base_sha": "0f" * 20},
                    })  # fmt: skip
        if rest[:1] == ["pipelines"] and rest[2:] == ["jobs"]:
            jobs = self.jobs.get(int(rest[1]), [])
            scope = query.get("scope[]")
            return Answer.json([
                {"id": job["id"], "name": job["name"], "status": job["status"], "stage": "check",
                 "ref": "refs/merge-requests/5/head", "artifacts_file": {"filename":
                 "artifacts.zip"}, "pipeline": {"id": int(rest[1])}}
                for job in jobs if scope in (None, job["status"])
            ])  # fmt: skip
        if rest[:1] == ["jobs"] and rest[2:] == ["artifacts", "plan.json"]:
            plan = self.artifacts.get(int(rest[1]))
            if plan is not None:
                return Answer(200, plan, {"Content-Type": "application/json"})
        return Answer.json({"message": "404 Not found"}, 404)

    @staticmethod
    def _merge_request(mr: dict) -> dict:
        commits = ("merge_commit_sha", "squash_commit_sha", "sha")
        return {"id": 1000 + mr["iid"], "iid": mr["iid"], "project_id": 42, "state": "merged",
                "title": "A change", "source_branch": "feature", "target_branch": "main",
                **{key: mr.get(key) for key in commits}}  # fmt: skip

    def merged(self, iid: int, plan: bytes | None, *, merge_commit_sha: str, head: str,
               pipeline: int = 77, status: str = "success", ran_on: str | None = None,
               ref: str | None = None, **more) -> None:  # fmt: skip
        """Merge request ``iid`` merged as ``merge_commit_sha`` from ``head``; its head
        pipeline ``pipeline`` ran on ``ran_on`` (default: the head) and, given ``plan``,
        its check job saved it."""
        self.merge_requests.append({
            "iid": iid, "merge_commit_sha": merge_commit_sha, "sha": head, **more,
            "head_pipeline": {"id": pipeline, "iid": pipeline - 70, "sha": ran_on or head,
                              "ref": ref or f"refs/merge-requests/{iid}/head", "status": status},
        })  # fmt: skip
        job = 500 + pipeline
        self.jobs[pipeline] = [{"id": job - 1, "name": "ruff", "status": "success"},
                               {"id": job, "name": "check", "status": status}]  # fmt: skip
        if plan is not None:
            self.artifacts[job] = plan

    def environment(self, base: str, sha: str) -> dict[str, str]:
        """What GitLab sets in a job on main, plus the FEAST_PLAN_TOKEN variable."""
        return {
            "GITLAB_CI": "true", "CI_API_V4_URL": f"{base}/api/v4",
            "CI_PROJECT_ID": self.project_id, "CI_COMMIT_SHA": sha,
            "FEAST_PLAN_TOKEN": self.token,
        }  # fmt: skip


@contextlib.contextmanager
def serving(fake) -> Iterator[str]:
    """Serve ``fake`` on 127.0.0.1 while the block runs; yields its base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            path, _, query = self.path.partition("?")
            fake.requests.append((path, dict(self.headers.items())))
            host = f"http://{self.headers['Host']}"
            # self.headers matches names case-insensitively, as HTTP does.
            answer = fake.answer(path, dict(urllib.parse.parse_qsl(query)), self.headers, host)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            try:
                if not answer.trickle:
                    self.wfile.write(answer.body)
                    return
                for index in range(len(answer.body)):
                    self.wfile.write(answer.body[index : index + 1])
                    self.wfile.flush()
                    time.sleep(answer.trickle)
            except OSError:  # the client stopped reading (a reply past its cap, a deadline)
                self.close_connection = True

        def log_message(self, *args):  # the test's output stays quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.handle_error = lambda request, address: None  # a client that hung up is no news
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


MAIN_SHA = "a1" * 20  # the merge commit on main
HEAD_SHA = "b2" * 20  # the pull (merge) request's head commit


def github_merged(repo: str, workflow: str, plan: bytes) -> FakeGitHub:
    """Pull request #7 merged as MAIN_SHA; its check's newest successful run (301) of
    ``workflow`` saved ``plan`` as the feast-plan artifact."""
    return FakeGitHub(
        repo=repo,
        pulls=[{"number": 7, "merge_commit_sha": MAIN_SHA, "head_sha": HEAD_SHA}],
        runs=[{"id": 301, "workflow": workflow, "head_sha": HEAD_SHA, "event": "pull_request",
               "conclusion": "success", "created_at": "2026-01-02T03:00:00Z"}],
        artifacts=[{"id": 901, "run_id": 301, "name": "feast-plan",
                    "created_at": "2026-01-02T03:01:00Z", "zip": zipped("plan.json", plan)}],
    )  # fmt: skip
