"""`feast-federation serve` with the org's auth (issue 17): on an org whose platform runs the
registry server with OIDC, the feature server enforces the same Permissions (a local OIDC
provider on 127.0.0.1); a platform repo that reaches its registry only through a server is
refused in one line."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from feast_federation.rules.choices import Backends
from support import free_port, invoke
from support.oidc import CLIENT_ID, OidcProvider
from support.serving import Client, federation_serve, fetch_body, running_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from feast_federation import sync
    from feast_federation.onboarding import bake_platform, bake_team
    from feast_federation.ops.materialize import materialize_repo
    from feast_federation.rules.repo import find_repo

    root = tmp_path_factory.mktemp("serve-auth") / "org"
    platform = bake_platform(
        root, project="acme", owners=["p@acme.io"], backends=Backends(registry_server="oidc")
    )
    team = bake_team(
        platform,
        team="marketing",
        owners=["m@acme.io"],
        output_dir=root / "teams",
        starter_view="customer_features",
    )
    sync.apply(find_repo(platform))
    materialize_repo(platform, quiet=True)
    # The team applies with direct access here; through the registry server in its own tests.
    shutil.copy(platform / "feature_store.yaml", team / "feature_store.yaml")
    sync.apply(find_repo(team))
    port = free_port()
    with OidcProvider() as idp:
        env = {**os.environ, "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_DISCOVERY_URL": idp.discovery_url}
        command = federation_serve(platform, port, "--workers", "2", "--max-requests", "0")
        log = root.parent / "server.log"
        with running_server(command, platform, log, port, env=env):
            yield idp, port, log


def test_a_request_without_a_token_is_refused(served):
    _, port, log = served
    status, body = Client(port).post("/get-online-features", fetch_body("marketing_campaign_model"))
    assert status in (401, 403), body
    assert "auth: oidc" in log.read_text()


def test_a_team_token_reads_through_its_own_service(served):
    idp, port, _ = served
    token = idp.token("someone", ["feast-team-marketing"])
    client = Client(port)
    status, body = client.post(
        "/get-online-features", fetch_body("marketing_campaign_model"), token
    )
    assert status == 200, body
    result = json.loads(body)
    names = result["metadata"]["feature_names"]
    values = {name: r["values"][0] for name, r in zip(names, result["results"], strict=True)}
    assert values["total_purchases"] is not None
    forged = idp.forged_token("someone", ["feast-team-marketing"])
    status, _ = client.post("/get-online-features", fetch_body("marketing_campaign_model"), forged)
    assert status in (401, 403)


def test_a_platform_repo_on_a_remote_registry_is_refused_in_one_line(tmp_path, monkeypatch):
    from feast_federation.onboarding import bake_platform

    platform = bake_platform(tmp_path, project="acme", owners=["p@acme.io"],
                             backends=Backends("remote", "redis", "postgres"))  # fmt: skip
    for name, value in {
        "FEAST_REGISTRY_SERVER": "127.0.0.1:1", "FEAST_REGISTRY_TOKEN": "x",
        "FEAST_REDIS_CONNECTION": "127.0.0.1:1", "FEAST_PG_HOST": "127.0.0.1",
        "FEAST_PG_PORT": "1", "FEAST_PG_DATABASE": "feast", "FEAST_PG_USER": "feast",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    result = invoke("serve", platform, "--port", str(free_port()))
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "registry server" in lines[0] and "registry_type: remote" in lines[0]
