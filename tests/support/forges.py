"""GitHub's and GitLab's REST APIs, the parts ``feast-federation reviewed-plan`` walks, served
on 127.0.0.1 by a thread: merged pull (merge) requests, workflow runs, artifacts.

Each fake holds its state in plain attributes a test edits, answers what it does not know
with 404 and a wrong token with 401, and records every request it served.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import threading
import urllib.parse
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field


def zipped(name: str, data: bytes) -> bytes:
    """An artifact archive as GitHub serves one: a zip holding the uploaded file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

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

    def answer(self, path: str, query: dict, headers: dict, base: str) -> Answer:
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
            return Answer.json([
                {"number": p["number"], "state": "closed", "merged_at": "2026-01-02T03:04:05Z",
                 "merge_commit_sha": p["merge_commit_sha"],
                 "head": {"sha": p["head_sha"], "ref": p.get("head_ref", "feature"),
                          "repo": {"full_name": self.repo}}}
                for p in self.pulls if rest[1] in (p["merge_commit_sha"], *p.get("contains", ()))
            ])  # fmt: skip
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
                {key: value for key, value in a.items() if key != "zip"} | {"expired": False}
                for a in self.artifacts
                if str(a["run_id"]) == rest[2] and query.get("name") in (None, a["name"])
            ]
            return Answer.json({"total_count": len(found), "artifacts": found})
        if rest[:2] == ["actions", "artifacts"] and rest[3:] == ["zip"]:
            if any(str(a["id"]) == rest[2] for a in self.artifacts):
                return Answer(302, headers={"Location": f"{base}/blob/{rest[2]}?sig=signed"})
        return Answer.json({"message": "Not Found"}, 404)

    def environment(self, base: str, sha: str, workflow: str) -> dict[str, str]:
        """What a GitHub runner sets in a job on main (and the step passes as GITHUB_TOKEN)."""
        return {
            "GITHUB_ACTIONS": "true", "GITHUB_API_URL": base, "GITHUB_REPOSITORY": self.repo,
            "GITHUB_SHA": sha, "GITHUB_TOKEN": self.token,
            "GITHUB_WORKFLOW_REF": f"{self.repo}/.github/workflows/{workflow}@refs/heads/main",
        }  # fmt: skip


@dataclass
class FakeGitLab:
    """One project: ``merge_requests`` (iid, merge_commit_sha; optional squash_commit_sha,
    sha: its head, and ``contains``: other commits it brought) and ``plans`` (ref, job name)
    to the plan.json the newest successful pipeline of that ref saved."""

    project_id: str = "42"
    token: str = "glpat-test-token"
    merge_requests: list[dict] = field(default_factory=list)
    plans: dict[tuple[str, str], bytes] = field(default_factory=dict)
    requests: list[tuple[str, dict]] = field(default_factory=list)

    def answer(self, path: str, query: dict, headers: dict, base: str) -> Answer:
        if headers.get("PRIVATE-TOKEN") != self.token:
            return Answer.json({"message": "401 Unauthorized"}, 401)
        parts = [urllib.parse.unquote(part) for part in path.strip("/").split("/")]
        if parts[:4] != ["api", "v4", "projects", self.project_id]:
            return Answer.json({"message": "404 Project Not Found"}, 404)
        rest = parts[4:]
        if rest[:2] == ["repository", "commits"] and rest[3:] == ["merge_requests"]:
            commits = ("merge_commit_sha", "squash_commit_sha", "sha")
            return Answer.json([
                {"iid": mr["iid"], "state": "merged", **{key: mr.get(key) for key in commits}}
                for mr in self.merge_requests
                if rest[2] in (*(mr.get(key) for key in commits), *mr.get("contains", ()))
            ])  # fmt: skip
        if rest[:2] == ["jobs", "artifacts"] and rest[3:] == ["raw", "plan.json"]:
            plan = self.plans.get((rest[2], query.get("job")))
            if plan is not None:
                return Answer(200, plan, {"Content-Type": "application/json"})
        return Answer.json({"message": "404 Not found"}, 404)

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
            self.wfile.write(answer.body)

        def log_message(self, *args):  # the test's output stays quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
