"""A platform sync and a team apply killed at every write, on three registries.

A write is anything that changes durable state: a committed SQL transaction that wrote
(registry, apply log), a file registry write (killed after Feast's writer opened its
target), a rename of a file written beside its target (backups, the atomic registry), an
append to the apply log file, and the online store's table update. Each kill runs in a
fresh process forked from a warm one (``import feast`` costs about 3 s; forking costs
milliseconds), on a copy of the converged org. After each kill the registry must load with
every platform and team object of before, and the next run must converge: the plan shows
what is left, the apply completes, then the plan is empty and materialization and online
retrieval through a team service work.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.orgs import TEAMS
from support.zygote import WARM_UP

pytestmark = pytest.mark.slow

# A warm process: imports once, then forks one child per job read from stdin. A child
# redirects its output to a file, installs the kill points, runs the job's code and exits.
ZYGOTE = r"""
import json, os, sys, traceback
import feast, feast_federation.cli, feast_federation.sync, feast_federation.ops.materialize
import feast_federation.ops.audit, feast_federation.ops.restore
import feast_federation.registry.feast067
feast_federation.registry.feast067.install()  # what opening a store does, before the points
exec(sys.argv[2])  # support.zygote.WARM_UP: what the jobs go on to import
exec(open(sys.argv[1]).read())  # defines install_kill_points(kill_at, trace)
for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        out = os.open(job["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.environ.update(job["env"])
        os.chdir(job["cwd"])
        sys.argv = ["job", *job["args"]]
        code = 0
        try:
            install_kill_points(job["kill_at"], job["trace"])
            exec(compile(job["code"], "job", "exec"), {"__name__": "__main__"})
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 99
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"rc": os.waitstatus_to_exitcode(status)}), flush=True)
"""

KILL_POINTS = r'''
def install_kill_points(kill_at, trace):
    """Count every write; at write number ``kill_at`` the process dies (0: never)."""
    import os
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from feast.infra.passthrough_provider import PassthroughProvider
    from feast.infra.registry.file import FileRegistryStore

    count = [0]

    def point(label):
        count[0] += 1
        with open(trace, "a") as log:
            log.write(label + "\n")
        return count[0] == kill_at

    def die():
        os._exit(137)

    writes = ("insert", "update", "delete", "create", "drop", "alter", "replace")

    # Before each writing statement: whatever committed before it is durable, and this
    # statement's transaction dies with the process (SQLite through pysqlite commits an
    # outermost savepoint at its release, so commit events alone would miss writes).
    @event.listens_for(Engine, "before_cursor_execute")
    def before_write(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().lower().startswith(writes):
            if point("sql " + " ".join(statement.split())[:48]):
                die()

    writer = FileRegistryStore._write_registry

    class Dying:  # the registry's bytes, asked for after Feast's writer opened its target
        def __init__(self, proto):
            object.__setattr__(self, "proto", proto)
        def __getattr__(self, name):
            return getattr(self.proto, name)
        def __setattr__(self, name, value):
            setattr(self.proto, name, value)
        def SerializeToString(self, **kwargs):
            die()

    def write_registry(self, proto):
        return writer(self, Dying(proto) if point("file registry write") else proto)

    FileRegistryStore._write_registry = write_registry

    rename = os.replace

    def replace(src, dst, *args, **kwargs):
        if point(f"rename into {os.path.basename(dst)}"):
            die()
        return rename(src, dst, *args, **kwargs)

    os.replace = replace

    update_infra = PassthroughProvider.update_infra

    def online_update(self, *args, **kwargs):
        if point("online store update"):
            die()
        return update_infra(self, *args, **kwargs)

    PassthroughProvider.update_infra = online_update

    from feast_federation.registry import backends

    append = backends.append_line

    def append_line(path, line):
        if point("apply log append"):
            die()
        return append(path, line)

    backends.append_line = append_line
'''

APPLY_SCRIPT = 'import runpy\nrunpy.run_path("apply.py", run_name="__main__")'
CLI = "from feast_federation.cli import main\nmain()"
SAMPLE_DATA = 'import runpy\nrunpy.run_path("scripts/generate_sample_data.py", run_name="__main__")'
# Reads the registry with plain Feast, then runs the command line given after the repo.
WHOLE = """
import json, sys
from feast import FeatureStore
store = FeatureStore(repo_path=sys.argv[1])
whole = {
    "entities": sorted(e.name for e in store.list_entities()),
    "sources": sorted(s.name for s in store.list_data_sources()),
    "views": sorted(v.name for v in store.list_feature_views()),
    "services": sorted(s.name for s in store.list_feature_services()),
    "permissions": sorted(p.name for p in store.list_permissions()),
}
print(json.dumps(whole), file=open(sys.argv[2], "w"))
sys.argv = ["feast-federation", *sys.argv[3:]]
from feast_federation.cli import main
main()
"""
# The converged state: an empty plan, then materialization, then each service served.
CONVERGED = """
import json, sys
from feast_federation.cli import main
platform, team, *services = sys.argv[1:]
sys.argv = ["feast-federation", "plan", sys.argv[2]]
try:
    main()
except SystemExit as exc:
    assert not exc.code, f"the plan after the apply is not empty (exit {exc.code})"
from feast_federation.ops.materialize import materialize_repo
materialize_repo(platform, quiet=True)
from feast import FeatureStore
store = FeatureStore(repo_path=team)
rows = [{"customer_id": 3001, "current_cart_value": 80.0}]
for name in services:
    served = store.get_online_features(features=store.get_feature_service(name), entity_rows=rows)
    assert served.to_dict()["total_purchases"][0] is not None, name
print("converged")
"""

NEW_VIEW = """

customer_recent = FeatureView(
    name="customer_recent",
    entities=[customer],
    ttl=timedelta(days=3),
    schema=[Field(name="total_purchases", dtype=Int64, description="Orders placed so far.")],
    source=customer_features_source,
    description="Recent purchases per customer.",
    owner=OWNER,
)
"""
NEW_SERVICE = """

marketing_lite_model = FeatureService(
    name="marketing_lite_model",
    features=[platform_view("customer_features", ["total_purchases"])],
    description="The lite campaign model.",
)
"""


class Zygote:
    def __init__(self, scratch: Path, env: dict[str, str]):
        self.scratch, self.env, self.jobs = scratch, env, 0
        hooks = scratch / "kill_points.py"
        hooks.write_text(KILL_POINTS)
        self.process = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE, str(hooks), WARM_UP],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )  # fmt: skip

    def run(self, code: str, cwd: Path, *args: str, kill_at: int = 0, env=None):
        """(exit code, output, the labels of the writes it reached)."""
        self.jobs += 1
        out, trace = self.scratch / f"job-{self.jobs}.out", self.scratch / f"job-{self.jobs}.trace"
        job = {
            "code": code, "cwd": str(cwd), "args": [str(arg) for arg in args],
            "env": {**self.env, **(env or {})}, "kill_at": kill_at,
            "out": str(out), "trace": str(trace),
        }  # fmt: skip
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        rc = json.loads(self.process.stdout.readline())["rc"]
        labels = trace.read_text().splitlines() if trace.exists() else []
        return rc, out.read_text(), labels

    def ok(self, code: str, cwd: Path, *args: str, env=None) -> str:
        rc, output, _ = self.run(code, cwd, *args, env=env)
        assert rc == 0, output[-3000:]
        return output

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


class Org:
    """A converged org and how to put it back: local files always, the database if any."""

    def __init__(self, root: Path, zygote: Zygote, database=None):
        self.root, self.zygote, self.database = root, zygote, database
        self.platform = root / "platform"
        self.marketing = root / "teams" / "marketing"
        self.saved = root.parent / f"{root.name}-saved"
        self.env: dict[str, str] = {}

    def save(self):
        shutil.copytree(self.root, self.saved, symlinks=True)

    def restore(self, point: str):
        for directory in (self.platform / "data", self.platform / ".federation"):
            shutil.rmtree(directory, ignore_errors=True)
            source = self.saved / directory.relative_to(self.root)
            if source.exists():
                shutil.copytree(source, directory)
        if self.database is not None:
            self.env = {"FEAST_PG_DATABASE": self.database(point)}


def converge_check(org: Org, scenario: str, n: int, before: dict, services: list[str]) -> int:
    """After a kill: whole registry, then plan, apply, empty plan, materialize, serve."""
    z, env = org.zygote, org.env
    repo = org.platform if scenario == "sync" else org.marketing
    whole_file = org.zygote.scratch / "whole.json"
    planned, output, _ = z.run(WHOLE, repo, org.platform, whole_file, "plan", repo, env=env)
    assert planned in (0, 2), output[-3000:]
    whole = json.loads(whole_file.read_text())
    for kind, names in before.items():
        assert set(names) <= set(whole[kind]), f"{scenario} kill {n}: lost {kind}"
    z.ok(APPLY_SCRIPT, repo, env=env)
    z.ok(CONVERGED, repo, org.platform, repo, *services, env=env)
    return planned


def kill_everywhere(org: Org, scenario: str, services: list[str]) -> dict[int, tuple]:
    """Count the scenario's writes, then kill at each one on a fresh copy and converge."""
    z = org.zygote
    repo = org.platform if scenario == "sync" else org.marketing
    org.restore(f"{scenario}_count")
    whole_file = z.scratch / "whole.json"
    z.run(WHOLE, repo, org.platform, whole_file, "plan", repo, env=org.env)
    before = json.loads(whole_file.read_text())
    rc, output, labels = z.run(APPLY_SCRIPT, repo, env=org.env)
    assert rc == 0 and labels, output[-3000:]
    results = {}
    for n in range(1, len(labels) + 1):
        org.restore(f"{scenario}_{n}")
        rc, output, reached = z.run(APPLY_SCRIPT, repo, kill_at=n, env=org.env)
        assert rc == 137 and len(reached) == n, (n, labels, reached, output[-3000:])
        planned = converge_check(org, scenario, n, before, services)
        results[n] = (reached[-1], "plan showed the rest" if planned == 2 else "plan empty")
    assert results[1][1] == "plan showed the rest"  # killed at its first write: all is left
    return results


def build(org: Org, postgres: bool) -> None:
    z = org.zygote
    if postgres:
        z.ok(SAMPLE_DATA, org.platform, "--postgres", env=org.env)
    z.ok(APPLY_SCRIPT, org.platform, env=org.env)
    z.ok(CLI, org.platform, "materialize", org.platform, env=org.env)
    for team, _ in TEAMS:
        z.ok(APPLY_SCRIPT, org.root / "teams" / team, env=org.env)


def run_backend(scratch: Path, registry: str, online: str, offline: str, env: dict, database):
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.choices import Backends

    root = scratch / "org"
    bootstrap_org(
        root, project="acme", owners=["p@acme.io"], teams=TEAMS,
        backends=Backends(registry, online, offline), postgres_sslmode="disable",
    )  # fmt: skip
    zygote = Zygote(scratch, {**env, "FEAST_FEDERATION_ACTOR": "kill-test"})
    try:
        org = Org(root, zygote, database)
        if database is not None:
            org.env = {"FEAST_PG_DATABASE": database(None)}
        build(org, postgres=database is not None)
        org.save()
        if database is not None:
            database("saved")  # later copies are made from this state
        # The team scenario's service is applied by the sync scenario's converge runs too:
        # only the platform repo changes first.
        with open(org.platform / "feature_views.py", "a") as views:
            views.write(NEW_VIEW)
        sync = kill_everywhere(org, "sync", ["marketing_campaign_model"])
        with open(org.marketing / "feature_services.py", "a") as services:
            services.write(NEW_SERVICE)
        team = kill_everywhere(org, "team", ["marketing_campaign_model", "marketing_lite_model"])
    finally:
        zygote.close()
    report(registry, sync, team)
    return sync, team


def report(registry: str, sync: dict, team: dict) -> None:
    for scenario, results in (("sync", sync), ("team apply", team)):
        print(f"\n{registry}: {len(results)} kill points in a {scenario}, each converged:")
        for n, (label, plan) in results.items():
            print(f"  {n:2d}. {label}: {plan}")


@pytest.mark.parametrize("registry", ["sqlite", "file"])
def test_kill_at_every_write_on_local_registries(tmp_path, registry):
    sync, team = run_backend(tmp_path, registry, "sqlite", "file", {}, None)
    assert len(sync) >= 3 and len(team) >= 2


def test_kill_at_every_write_on_postgres(tmp_path):
    import sqlalchemy

    from support.postgres import postgres_on_loopback

    with postgres_on_loopback(tmp_path) as settings:
        url = "postgresql+psycopg://{FEAST_PG_USER}:@{FEAST_PG_HOST}:{FEAST_PG_PORT}/{db}"
        admin = sqlalchemy.create_engine(
            url.format(db="postgres", **settings), isolation_level="AUTOCOMMIT"
        )

        def database(point: str | None) -> str:
            """The database a step runs in: the org's, or a fresh copy of the saved one."""
            with admin.connect() as connection:
                if point is None:
                    connection.exec_driver_sql("CREATE DATABASE org")
                    org_engine = sqlalchemy.create_engine(url.format(db="org", **settings))
                    with org_engine.begin() as org_connection:
                        for schema in ("marketing", "risk"):
                            org_connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
                    org_engine.dispose()
                    return "org"
                if point == "saved":
                    connection.exec_driver_sql("CREATE DATABASE saved TEMPLATE org")
                    return "saved"
                connection.exec_driver_sql(f"CREATE DATABASE {point} TEMPLATE saved")
                return point

        env = {**os.environ, **settings, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
        try:
            sync, team = run_backend(tmp_path, "postgres", "postgres", "postgres", env, database)
        finally:
            admin.dispose()
    assert len(sync) >= 3 and len(team) >= 2
