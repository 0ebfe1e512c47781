"""`feast-federation serve`: Feast's feature server for every team, on 127.0.0.1.

One server per module (starting one costs Feast's import and a registry load); requests are
bounded in count. Speed is the benchmark's business (bench/serve.py); these tests check
behaviour: answers through a team service, a team's new service served by the running
workers' registry refresh, and no failed request while workers are replaced.
"""

from __future__ import annotations

import json
import time

import pytest

from support import build_org, free_port, invoke
from support.serving import Client, federation_serve, fetch_body, running_server, worker_boots

pytestmark = pytest.mark.slow

REFRESH_SECONDS = 2
MAX_REQUESTS, JITTER = 150, 50
NEW_SERVICE = '''"""A service the test adds while the server runs."""

from feast import FeatureService
from feast_federation import platform_view

from on_demand_views import marketing_purchase_propensity

marketing_fresh_model = FeatureService(
    name="marketing_fresh_model",
    features=[platform_view("customer_features", ["total_purchases"]),
              marketing_purchase_propensity],
)
'''


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    from feast_federation.ops.materialize import materialize_repo

    platform, teams = build_org(tmp_path_factory.mktemp("serve") / "org")
    materialize_repo(platform, quiet=True)
    return platform, teams


@pytest.fixture(scope="module")
def server(org, tmp_path_factory):
    platform, _ = org
    port = free_port()
    log = tmp_path_factory.mktemp("serve-log") / "server.log"
    command = federation_serve(
        platform, port, "--workers", "2", "--max-requests", str(MAX_REQUESTS),
        "--max-requests-jitter", str(JITTER), "--refresh-seconds", str(REFRESH_SECONDS),
    )  # fmt: skip
    with running_server(command, platform, log, port):
        yield port, log


def test_serves_a_team_service_and_states_the_refresh_interval(server):
    port, log = server
    status, body = Client(port).post("/get-online-features", fetch_body("marketing_campaign_model"))
    assert status == 200, body
    result = json.loads(body)
    names = result["metadata"]["feature_names"]
    assert "purchase_propensity_score" in names and "total_purchases" in names
    values = {name: r["values"][0] for name, r in zip(names, result["results"], strict=True)}
    assert values["total_purchases"] is not None
    assert f"registry refreshed every {REFRESH_SECONDS} s" in log.read_text()


def test_a_new_team_service_is_served_by_the_running_workers_refresh(server, org):
    """Requests never refresh the registry: the workers' timer does. The service must be
    served before the worker answering (one keep-alive connection) retires, which a fresh
    worker loading the registry would otherwise explain. How soon after the apply (about
    one interval) is bench/serve.py's freshness figure; a test on a busy machine can only
    bound it loosely, so here requests, not seconds, are counted (this test runs before
    the recycling one, while the workers are fresh)."""
    from feast_federation import sync
    from feast_federation.rules.repo import find_repo

    port, log = server
    _, [marketing, _] = org
    (marketing / "fresh_services.py").write_text(NEW_SERVICE)
    boots_before = worker_boots(log)
    sync.apply(find_repo(marketing))
    client, body = Client(port), fetch_body("marketing_fresh_model")
    # At most 10 requests a second: 140 span 7 refresh intervals or more, and stop short of
    # the 150 after which a worker may retire.
    statuses = [client.post("/get-online-features", body)[0]]
    while statuses[-1] != 200 and len(statuses) < MAX_REQUESTS - 10:
        time.sleep(REFRESH_SECONDS / 20)
        statuses.append(client.post("/get-online-features", body)[0])
    assert statuses[-1] == 200, f"not served after {len(statuses)} requests: {set(statuses)}"
    assert worker_boots(log) == boots_before, "a fresh worker, not the refresh, served it"


def test_no_request_fails_while_workers_are_replaced(server):
    port, log = server
    client, body = Client(port), fetch_body("marketing_campaign_model")
    boots_before = worker_boots(log)
    # One worker answers a keep-alive connection and retires after 150 to 200 requests, once
    # its peer is warm: keep asking (at most 3,000 requests) until two workers were replaced.
    statuses: list[int] = []
    while worker_boots(log) - boots_before < 2 and len(statuses) < 3000:
        statuses += [client.post("/get-online-features", body)[0] for _ in range(50)]
    assert worker_boots(log) - boots_before >= 2, log.read_text()[-2000:]
    assert [s for s in statuses if s != 200] == []


def test_mistakes_are_one_line(org, tmp_path):
    platform, [marketing, _] = org
    cases = [
        ((marketing,), "serve the platform repo"),
        ((platform, "--refresh-seconds", "0"), "--refresh-seconds 0: give 1 or more"),
        ((platform, "--workers", "1"), "--workers 1 with --max-requests"),
        ((tmp_path,), "not a feature repo"),
    ]
    for args, message in cases:
        result = invoke("serve", *args)
        assert result.exit_code == 1, result.output
        assert result.output.count("\n") == 1 and message in result.output, result.output


def test_a_busy_port_is_one_line(org):
    import socket

    platform, _ = org
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = invoke("serve", platform, "--port", taken.getsockname()[1])
    assert result.exit_code == 1
    assert "cannot listen there" in result.output and result.output.count("\n") == 1


def test_serve_benchmark_quick_mode_reports_every_figure(tmp_path):
    import sys

    from support import ROOT, run

    script = [sys.executable, str(ROOT / "bench" / "serve.py"), "--quick", "--output", tmp_path]
    result = run([str(part) for part in script])
    assert result.returncode == 0, result.stderr[-3000:]
    serve = json.loads((tmp_path / "results.json").read_text())["serve"]
    for key in ("stock_10", "ours_10", "ours_many"):
        assert serve[key]["requests"] > 0 and serve[key]["service_p99_ms"] > 0
    # No replacement need land in a run this short (its successor takes seconds to load
    # Feast): surviving replacements is the sequential-requests test's job.
    assert serve["ours_10"]["failed"] == 0
    assert isinstance(serve["ours_10"]["worker_replacements"], int)
    assert serve["freshness"]["seconds"] is not None and serve["teams_many_vs_10_p50"] > 0
    assert "| failed requests |" in result.stdout


def test_a_client_error_is_one_line_in_the_servers_log(server):
    """A request for a service that does not exist: Feast's own 404 answer, and one line in
    the log (Feast and Starlette would each log a whole traceback for it)."""
    port, log = server
    before = len(log.read_text())
    status, body = Client(port).post("/get-online-features", fetch_body("marketing_nope"))
    assert status == 404 and b"FeatureServiceNotFoundException" in body
    deadline = time.monotonic() + 10
    while "marketing_nope" not in log.read_text()[before:] and time.monotonic() < deadline:
        time.sleep(0.2)
    logged = log.read_text()[before:]
    lines = [line for line in logged.splitlines() if "marketing_nope" in line]
    assert len(lines) == 1 and "404 FeatureServiceNotFoundException" in lines[0], logged
    assert "Traceback" not in logged
