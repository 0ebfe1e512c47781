"""End to end on the seed's AWS shape: an S3 file registry and a DynamoDB online store
(moto's servers on 127.0.0.1), with the offline store on a real PostgreSQL server.

Every step is a generated script or the CLI in a fresh process, as in a deployment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from support import run
from support.aws import BUCKET, aws_on_loopback, client
from support.orgs import BARRIER, FETCH, RUN_APPLY_SCRIPT, run_together, running_org
from support.postgres import postgres_on_loopback

pytestmark = pytest.mark.slow

LOCK_KEY = "acme/registry.pb.lock"


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("aws")
    with aws_on_loopback() as aws, postgres_on_loopback(scratch) as postgres:
        env = {**os.environ, **aws, **postgres}
        yield running_org(scratch / "org", env, "s3", "dynamodb", versioning=True)


def s3(org):
    return client(org.env, "s3")


def test_the_registry_is_in_s3_and_the_online_rows_in_dynamodb(org):
    keys = [item["Key"] for item in s3(org).list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == ["acme/registry.pb", "acme/registry.pb.apply-log.jsonl"]  # no lock left
    dynamodb = client(org.env, "dynamodb")
    tables = dynamodb.list_tables()["TableNames"]
    assert {"acme.customer_features", "acme.user_features", "acme.driver_stats"} <= set(tables)
    assert dynamodb.scan(TableName="acme.customer_features", Select="COUNT")["Count"] == 20
    assert not [path for path in org.platform.glob("data/*") if path.suffix != ".parquet"]


def test_online_retrieval_through_a_team_service(org):
    repo = org.root / "teams" / "marketing"
    result = org.run([sys.executable, "-c", FETCH, str(repo), "marketing_campaign_model", "online"])
    served = json.loads(result.stdout)
    assert served["total_purchases"][0] is not None
    assert 0 < served["purchase_propensity_score"][0] < 1


def test_eight_simultaneous_team_applies_keep_every_object(org):
    from feast_federation.onboarding import bake_team

    teams = [f"crowd{index:02d}" for index in range(8)]
    repos = [
        bake_team(org.platform, team=team, owners=[f"{team}@x.io"], output_dir=org.root / "crowd")
        for team in teams
    ]
    org.run([sys.executable, "apply.py"], org.platform)  # publish the new teams
    script = BARRIER.format(preload="feast_federation.sync", action=RUN_APPLY_SCRIPT)
    saved = dict(os.environ)
    os.environ.update(org.env)
    try:
        results = run_together([([sys.executable, "-c", script], repo) for repo in repos],
                               org.root)  # fmt: skip
    finally:
        os.environ.clear()
        os.environ.update(saved)
    for returncode, stdout, stderr in results:
        assert returncode == 0, stdout + stderr
    listed = org.run([sys.executable, "-m", "feast_federation.cli", "audit", str(org.platform)])
    assert "No drift" in listed.stdout
    result = org.run([sys.executable, "-c", LIST_SERVICES, str(org.platform)])
    services = set(json.loads(result.stdout))
    assert {f"{team}_model" for team in teams} | {"marketing_campaign_model", "risk_model"} <= (
        services
    )


LIST_SERVICES = """
import json, sys
from feast import FeatureStore
store = FeatureStore(repo_path=sys.argv[1])
print(json.dumps([service.name for service in store.list_feature_services()]))
"""


def test_an_apply_waits_for_a_held_lock_and_says_who_holds_it(org):
    held = {"holder": "ci-runner-7:4242:abcd", "renewed": time.time()}
    s3(org).put_object(Bucket=BUCKET, Key=LOCK_KEY, Body=json.dumps(held).encode())
    try:
        env = {**org.env, "FEAST_FEDERATION_LOCK_WAIT_SECONDS": "1"}
        result = run([sys.executable, "apply.py"], cwd=org.platform, env=env)
    finally:
        s3(org).delete_object(Bucket=BUCKET, Key=LOCK_KEY)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: registry s3://{BUCKET}/acme/registry.pb: the lock s3://{BUCKET}/{LOCK_KEY} is "
        "held by ci-runner-7:4242:abcd; gave up after 1 s. If no apply is running, delete that "
        "object"
    ]


def test_a_lease_its_holder_stopped_renewing_is_taken_over(org):
    crashed = {"holder": "crashed:1:dead", "renewed": time.time()}
    s3(org).put_object(Bucket=BUCKET, Key=LOCK_KEY, Body=json.dumps(crashed).encode())
    env = {**org.env, "FEAST_FEDERATION_LOCK_LEASE_SECONDS": "1"}
    result = run([sys.executable, "apply.py"], cwd=org.platform, env=env)
    assert result.returncode == 0, result.stderr
    keys = [item["Key"] for item in s3(org).list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert LOCK_KEY not in keys


def test_an_unreachable_bucket_is_one_line_and_nothing_is_written(org):
    env = {**org.env, "AWS_MAX_ATTEMPTS": "1"}
    env["AWS_ENDPOINT_URL"] = env["FEAST_S3_ENDPOINT_URL"] = "http://127.0.0.1:9"
    before = s3(org).get_object(Bucket=BUCKET, Key="acme/registry.pb")["ETag"]
    result = run([sys.executable, "apply.py"], cwd=org.root / "teams" / "risk", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: registry s3://{BUCKET}/acme/registry.pb: s3://{BUCKET}/{LOCK_KEY}: "
        'Could not connect to the endpoint URL: "http://127.0.0.1:9/acme-feast/acme/registry.pb.lock"'
    ]
    assert s3(org).get_object(Bucket=BUCKET, Key="acme/registry.pb")["ETag"] == before


def test_the_apply_log_lives_beside_the_registry_in_s3(org):
    result = org.run([sys.executable, "-m", "feast_federation.cli", "log", str(org.platform),
                      "--json"])  # fmt: skip
    entries = json.loads(result.stdout)
    owners = [entry["owner"] for entry in entries]
    assert owners[:3] == ["platform", "marketing", "risk"]
    assert entries[1]["changes"] and all(c["action"] == "add" for c in entries[1]["changes"])


def test_a_live_holder_renews_its_lease_and_is_never_taken_over(org, monkeypatch):
    from feast_federation.registry.s3_lock import s3_lease

    for name, value in {**org.env, "FEAST_FEDERATION_LOCK_LEASE_SECONDS": "1"}.items():
        monkeypatch.setenv(name, value)
    with s3_lease(f"s3://{BUCKET}/acme/registry.pb"):
        first = s3(org).head_object(Bucket=BUCKET, Key=LOCK_KEY)["ETag"]
        waiter = subprocess.Popen(
            [sys.executable, "apply.py"], cwd=org.platform, env=dict(os.environ),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(10)  # its imports, then several leases of waiting
        assert waiter.poll() is None, waiter.communicate()
        assert s3(org).head_object(Bucket=BUCKET, Key=LOCK_KEY)["ETag"] != first
    stdout, stderr = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, stdout + stderr


def test_an_unset_bucket_variable_is_named(org):
    env = {name: value for name, value in org.env.items() if name != "FEAST_REGISTRY_BUCKET"}
    result = run([sys.executable, "apply.py", "--plan"], cwd=org.root / "teams" / "risk", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: registry s3://${FEAST_REGISTRY_BUCKET}/acme/registry.pb: the environment "
        "variable FEAST_REGISTRY_BUCKET is not set"
    )


COUNT_OBJECTS = """
import json, sys
from feast_federation.registry import open_store
from feast_federation.registry.feast067 import stored_proto
from feast_federation.registry.kinds import kind_of_proto
from feast_federation.registry.protos import project_objects
objects = project_objects(stored_proto(open_store(sys.argv[1])), "acme")
print(json.dumps(sorted([kind_of_proto(c, item), name] for (c, name), item in objects.items())))
"""


def test_a_pinned_service_keeps_its_version_after_a_schema_change(org, monkeypatch):
    """DynamoDB serves pinned versions (Feast 0.67, on moto): each version is a table."""
    from support.versions import DRIVERS, assert_pins_served, pinned_story

    for name, value in org.env.items():
        monkeypatch.setenv(name, value)
    story = pinned_story(
        org.platform, org.root / "teams" / "marketing", DRIVERS,
        lambda by: org.sql(f"UPDATE platform.driver_stats SET conv_rate = conv_rate + {by}"),
    )  # fmt: skip
    assert_pins_served(story)
    tables = client(org.env, "dynamodb").list_tables()["TableNames"]
    assert {"acme.driver_stats", "acme.driver_stats_v1"} <= set(tables)


def test_writes_longer_than_the_registry_cache_keep_every_object(org, tmp_path):
    """With a one-second cache, a sync publishing 400 teams (1,600 Permissions), a team apply
    of 750 objects, their prune and a restore of them: the S3 registry holds every one."""
    from support.bulk import register_teams, short_cache, write_bulk_module

    marketing = org.root / "teams" / "marketing"
    for repo in (org.platform, marketing):
        short_cache(repo)
    cli = [sys.executable, "-m", "feast_federation.cli"]

    def held() -> set[tuple[str, str]]:
        listed = org.run([sys.executable, "-c", COUNT_OBJECTS, str(org.platform)])
        return {tuple(pair) for pair in json.loads(listed.stdout)}

    teams = register_teams(org.platform, 400, prefix="bulk")
    org.run([sys.executable, "apply.py", "--yes"], org.platform)
    permissions = {name for kind, name in held() if kind == "Permission"}
    assert {f"federation-team-{team}-write" for team in teams} <= permissions
    expected = write_bulk_module(marketing, "marketing", 250)
    org.run([sys.executable, "apply.py"], marketing)
    assert expected <= held()
    snapshot = tmp_path / "snapshot.pb"
    org.run([*cli, "backup", str(org.platform), "--output", str(snapshot)])
    (marketing / "bulk.py").unlink()
    org.run([sys.executable, "apply.py", "--prune", "--yes"], marketing)
    assert not expected & held()
    org.run([*cli, "restore", str(org.platform), "--input", str(snapshot), "--yes"])
    assert expected <= held()
