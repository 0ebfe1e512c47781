"""The policy enforced by a real `feast serve_registry` with OIDC, not only by apply.py.

The fixture starts a local OIDC provider and the registry server the platform template
ships, over the SQL registry the platform's first (direct) sync seeded with Permissions.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from feast_federation.rules.choices import Backends
from support import free_port, invoke, run
from support.oidc import CLIENT_ID, OidcProvider

pytestmark = pytest.mark.slow

TEAM_ROLE = "feast-team-marketing"
PLATFORM_ROLE = "feast-platform"


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the registry server did not start")


class Org:
    def __init__(self, root: Path, idp: OidcProvider, port: int):
        self.root, self.idp, self.port = root, idp, port
        self.platform = root / "platform"
        self.marketing = root / "teams" / "marketing"
        self.risk = root / "teams" / "risk"

    def token(self, roles: list[str], **kwargs) -> str:
        return self.idp.token("someone", roles, **kwargs)

    def fingerprints(self) -> dict:
        """The registry's objects by spec, read directly from the database."""
        from feast_federation.ops.restore import snapshot
        from feast_federation.registry import open_store
        from feast_federation.registry.protos import fingerprint, parse_snapshot, project_objects

        store = open_store(self.platform)
        items = project_objects(parse_snapshot(snapshot(store)), "acme").items()
        return {key: fingerprint(item) for key, item in items}


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    from feast_federation import sync
    from feast_federation.onboarding import bake_platform, bake_team
    from feast_federation.ops.materialize import materialize_repo
    from feast_federation.rules.repo import find_repo

    root = tmp_path_factory.mktemp("served") / "org"
    port = free_port()
    address = f"127.0.0.1:{port}"
    platform = bake_platform(
        root, project="acme", owners=["p@acme.io"], backends=Backends(registry_server="oidc")
    )
    for team, view in (("marketing", "customer_features"), ("risk", "user_features")):
        bake_team(platform, team=team, owners=[f"{team[0]}@acme.io"], output_dir=root / "teams",
                  starter_view=view, registry_server=address)  # fmt: skip
    sync.apply(find_repo(platform))  # direct: seeds the Permissions the server enforces
    materialize_repo(platform, quiet=True)
    with OidcProvider() as idp:
        env = {**os.environ, "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_DISCOVERY_URL": idp.discovery_url}
        server = subprocess.Popen(
            [sys.executable, "-m", "feast.cli.cli", "-f", "registry_server.yaml",
             "serve_registry", "--port", str(port)],
            cwd=platform, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            wait_for_port(port, server)
            yield Org(root, idp, port)
        finally:
            server.terminate()
            server.wait(timeout=30)


def as_team(org: Org, repo: Path, token: str, *args: str):
    """The team's own apply script, in a fresh process, with a token from the environment."""
    env = {**os.environ, "FEAST_REGISTRY_TOKEN": token}
    return run([sys.executable, "apply.py", *args], cwd=repo, env=env)


def test_team_repo_is_configured_for_the_server(org):
    config = yaml.safe_load((org.marketing / "feature_store.yaml").read_text())
    assert config["registry"] == {"registry_type": "remote", "path": f"127.0.0.1:{org.port}"}
    assert config["auth"] == {"type": "oidc", "token_env_var": "FEAST_REGISTRY_TOKEN"}
    assert "feast[grpcio]>=0.67,<0.68" in (org.marketing / "requirements.txt").read_text()


def test_team_applies_and_updates_its_own_objects_through_the_server(org):
    token = org.token([TEAM_ROLE])
    first = as_team(org, org.marketing, token)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "3 changed" in first.stdout
    services = org.marketing / "feature_services.py"
    services.write_text(
        services.read_text().replace('description="Features of', 'description="V2:')
    )
    second = as_team(org, org.marketing, token)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "update" in second.stdout and "marketing_campaign_model" in second.stdout


FETCH_ONLINE = """
import json, sys
from feast import FeatureStore
store = FeatureStore(repo_path=sys.argv[1])
rows = [{"customer_id": 3001, "current_cart_value": 50.0}]
service = store.get_feature_service(sys.argv[2])
print(json.dumps(store.get_online_features(features=service, entity_rows=rows).to_dict()))
"""


def test_team_serves_online_features_through_the_same_setup(org):
    env = {**os.environ, "FEAST_REGISTRY_TOKEN": org.token([TEAM_ROLE])}
    args = [sys.executable, "-c", FETCH_ONLINE, str(org.marketing), "marketing_campaign_model"]
    result = run(args, env=env)
    assert result.returncode == 0, result.stderr
    served = json.loads(result.stdout)
    assert served["total_purchases"][0] is not None
    assert 0 < served["purchase_propensity_score"][0] < 1


def _forbidden_writes():
    """What a team token must not do, written with the raw Feast client (bypassing apply.py)."""
    from feast import Entity, FeatureService, FeatureView, Field, RequestSource
    from feast.types import Float64, Int64

    def service(name):
        return lambda store: store.apply(
            [FeatureService(name=name, features=[store.get_feature_view("user_features")])]
        )

    def overwrite_view(store):
        view = store.get_feature_view("user_features")
        view.description = "hijacked"
        store.apply([view])

    return {
        "another team's prefix": service("risk_stolen"),
        "an unprefixed name": service("campaign"),
        "a feature view": lambda store: store.apply([FeatureView(
            name="marketing_view", source=store.get_data_source("user_features_source"),
            ttl=timedelta(days=1), schema=[Field(name="age", dtype=Int64)])]),
        "an entity": lambda store: store.apply([Entity(name="marketing_entity", join_keys=["k"])]),
        "overwriting a platform view": overwrite_view,
        "overwriting a platform source": lambda store: store.apply(
            [RequestSource(name="user_features_source", schema=[Field(name="x", dtype=Float64)])]
        ),
        "deleting its own service": lambda store: store.delete_feature_service(
            "marketing_campaign_model"
        ),
        "deleting a platform view": lambda store: store.delete_feature_view("driver_stats"),
    }  # fmt: skip


@pytest.mark.parametrize("attempt", list(_forbidden_writes()))
def test_team_token_is_denied_and_the_registry_unchanged(org, attempt, monkeypatch):
    from feast import FeatureStore

    monkeypatch.setenv("FEAST_REGISTRY_TOKEN", org.token([TEAM_ROLE]))
    before = org.fingerprints()
    store = FeatureStore(repo_path=str(org.marketing))
    with pytest.raises(Exception) as denied:
        _forbidden_writes()[attempt](store)
    assert type(denied.value).__name__ == "FeastPermissionError", repr(denied.value)
    assert org.fingerprints() == before


def test_a_denied_feature_view_can_leave_its_prefixed_source_behind(org, monkeypatch):
    """Known gap in Feast 0.67: the team's DataSource permission (needed for RequestSources;
    Feast refuses types=[RequestSource]) cannot tell source kinds apart, and Feast writes a
    view's source before the view. The view is denied; the source lands; the audit flags it."""
    from feast import FeatureStore, FeatureView, Field, FileSource
    from feast.types import Int64

    monkeypatch.setenv("FEAST_REGISTRY_TOKEN", org.token([TEAM_ROLE]))
    before = org.fingerprints()
    source = FileSource(name="marketing_src", path="/tmp/x.parquet", timestamp_field="ts")
    view = FeatureView(
        name="marketing_view", source=source, ttl=timedelta(days=1),
        schema=[Field(name="x", dtype=Int64)],
    )  # fmt: skip
    with pytest.raises(Exception) as denied:
        FeatureStore(repo_path=str(org.marketing)).apply([view])
    assert type(denied.value).__name__ == "FeastPermissionError"
    after = org.fingerprints()
    assert set(after) - set(before) == {("data_sources", "marketing_src")}
    assert {k: v for k, v in after.items() if k in before} == before
    audit = invoke("audit", org.platform, "--json")
    findings = {(f["rule"], f["subject"]) for f in json.loads(audit.stdout)["findings"]}
    assert ("wrong-kind", "DataSource marketing_src") in findings
    from feast_federation.registry import open_store

    store = open_store(org.platform)
    store.registry.delete_data_source("marketing_src", store.project)


def test_another_teams_token_gets_a_clear_denial(org, monkeypatch):
    assert as_team(org, org.marketing, org.token([TEAM_ROLE])).returncode == 0  # up to date
    monkeypatch.setenv("FEAST_REGISTRY_TOKEN", org.token(["feast-team-risk"]))
    (org.marketing / "extra.py").write_text(
        "from feast import FeatureService\nfrom feast_federation import platform_view\n"
        "marketing_extra = FeatureService(name='marketing_extra',"
        " features=[platform_view('customer_features')])\n"
    )
    try:
        result = invoke("apply", org.marketing)
    finally:
        (org.marketing / "extra.py").unlink()
    assert result.exit_code == 1
    # Only the new service is written (unchanged objects are not), and the risk token may not.
    assert result.output.strip() == (
        "error: permission denied: team marketing may not CREATE FeatureService "
        "marketing_extra with this token (the registry server's policy)"
    )


@pytest.mark.parametrize(
    "kind, message",
    [
        ("forged", "is not signed by the identity provider the server trusts"),
        ("expired", "expired"),
        ("garbage", "does not hold a JWT"),
    ],
)
def test_bad_tokens_are_refused_with_a_clear_message(org, kind, message):
    token = {
        "forged": org.idp.forged_token("mallory", [PLATFORM_ROLE]),
        "expired": org.token([TEAM_ROLE], expires_in=-120),
        "garbage": "not-a-token",
    }[kind]
    before = org.fingerprints()
    result = as_team(org, org.marketing, token)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: the registry server rejected the token: ")
    assert message in line and "Traceback" not in result.stderr
    assert org.fingerprints() == before


def test_platform_token_runs_a_full_sync_through_the_server(org, tmp_path):
    remote = tmp_path / "platform"
    shutil.copytree(org.platform, remote, ignore=shutil.ignore_patterns("data", ".federation"))
    config = yaml.safe_load((org.marketing / "feature_store.yaml").read_text())
    (remote / "feature_store.yaml").write_text(yaml.safe_dump(config))
    views = remote / "feature_views.py"
    views.write_text(views.read_text().replace('"Hourly driver performance."', '"Hourly, served."'))
    result = as_team(org, remote, org.token([PLATFORM_ROLE]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "driver_stats" in result.stdout and "update" in result.stdout
    from feast_federation.registry import open_store

    assert (
        open_store(org.platform).get_feature_view("driver_stats").description == "Hourly, served."
    )


def test_team_prune_marks_and_the_platform_sync_deletes(org):
    token = org.token(["feast-team-risk"])
    assert as_team(org, org.risk, token).returncode == 0
    services = org.risk / "feature_services.py"
    saved = services.read_text()
    services.unlink()
    try:
        pruned = as_team(org, org.risk, token, "--prune", "--yes")
        assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    finally:
        services.write_text(saved)
    from feast_federation.registry import open_store

    store = open_store(org.platform)
    marked = store.get_feature_service("risk_model")
    assert marked.tags["feast-federation/remove"] == "true"  # marked, not deleted
    synced = invoke("apply", org.platform, "--yes")
    assert synced.exit_code == 0, synced.output
    assert "risk_model" in synced.output
    names = {service.name for service in store.list_feature_services()}
    assert "risk_model" not in names and "marketing_campaign_model" in names


def test_a_platform_repo_baked_for_the_remote_registry_plans_through_the_server(org, tmp_path):
    from feast_federation.onboarding import bake_platform

    platform = bake_platform(tmp_path, project="acme", owners=["p@acme.io"],
                             backends=Backends("remote", "redis", "postgres"))  # fmt: skip
    shutil.copy(org.platform / "federation.yaml", platform / "federation.yaml")  # same teams
    env = {
        **os.environ, "FEAST_REGISTRY_SERVER": f"127.0.0.1:{org.port}",
        "FEAST_REDIS_CONNECTION": "127.0.0.1:1", "FEAST_PG_HOST": "127.0.0.1",
        "FEAST_PG_PORT": "1", "FEAST_PG_DATABASE": "feast", "FEAST_PG_USER": "feast",
    }  # fmt: skip
    env["FEAST_REGISTRY_TOKEN"] = org.token([PLATFORM_ROLE])
    result = run([sys.executable, "apply.py", "--plan", "--json"], cwd=platform, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    changes = {(c["kind"], c["name"]): c for c in json.loads(result.stdout)["changes"]}
    # The served registry holds the same objects over parquet; this repo reads PostgreSQL tables.
    assert changes[("DataSource", "user_features_source")]["action"] == "update"
    assert changes[("Entity", "user")]["action"] == "unchanged"
    assert not [c for c in changes.values() if c["action"] == "delete"]


def test_restore_to_a_log_point_is_refused_where_teams_write_through_the_server(org):
    before = org.fingerprints()
    result = invoke("restore", org.platform, "--to", "1", "--yes")
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "the apply log does not cover writes made through it" in result.output
    assert "restore --input FILE" in result.output
    assert org.fingerprints() == before
