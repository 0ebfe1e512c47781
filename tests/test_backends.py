"""Backend choices: every combination bakes and loads in Feast, or is refused with a reason."""

from __future__ import annotations

import importlib.util
import itertools
import sys

import pytest
import yaml

from conftest import ROOT
from feast_federation.errors import FederationError
from feast_federation.onboarding import (
    OFFLINE_STORES,
    ONLINE_STORES,
    REGISTRIES,
    REGISTRY_SERVERS,
    bake_platform,
    bake_team,
    check_backends,
)

pytestmark = pytest.mark.slow

COMBINATIONS = list(itertools.product(REGISTRIES, ONLINE_STORES, OFFLINE_STORES, REGISTRY_SERVERS))
ENVIRONMENT = {
    "FEAST_PG_HOST": "127.0.0.1", "FEAST_PG_PORT": "5432", "FEAST_PG_DATABASE": "feast",
    "FEAST_PG_USER": "feast", "FEAST_PG_PASSWORD": "secret",
    "FEAST_REDIS_CONNECTION": "127.0.0.1:6379", "OIDC_CLIENT_ID": "feast",
    "OIDC_DISCOVERY_URL": "https://idp.example.com/.well-known/openid-configuration",
}  # fmt: skip
EXTRAS = {"postgres": "psycopg", "redis": "redis", "grpcio": "grpc"}


def refusal(combination) -> str | None:
    try:
        check_backends(*combination)
    except FederationError as exc:
        return str(exc)
    return None


def test_the_rules_refuse_what_cannot_be_shared():
    refused = [c for c in COMBINATIONS if refusal(c)]
    assert ("postgres", "sqlite", "postgres", "none") in refused
    assert ("postgres", "postgres", "file", "none") in refused
    assert ("file", "sqlite", "file", "oidc") in refused
    assert ("sqlite", "sqlite", "file", "oidc") not in refused
    assert len(refused) < len(COMBINATIONS) // 2


@pytest.mark.parametrize("combination", COMBINATIONS, ids="-".join)
def test_each_combination_bakes_and_loads_or_is_refused(
    cookies, monkeypatch, tmp_path, combination
):
    registry, online, offline, server = combination
    context = {"registry": registry, "online_store": online, "offline_store": offline,
               "registry_server": server}  # fmt: skip
    result = cookies.bake(template=str(ROOT / "cookiecutter-platform"), extra_context=context)
    reason = refusal(combination)
    if reason:
        assert result.exit_code != 0  # the template's hook refused it
        with pytest.raises(FederationError) as refused:  # and so does the CLI, before baking
            bake_platform(
                tmp_path / "cli", "acme", ["p@x.io"], registry=registry,
                online_store=online, offline_store=offline, registry_server=server,
            )  # fmt: skip
        assert str(refused.value) == reason
        assert not (tmp_path / "cli" / "platform").exists()
        return
    assert result.exit_code == 0, result.exception
    repo = result.project_path
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    from feast.repo_config import load_repo_config

    config = load_repo_config(repo, repo / "feature_store.yaml")
    assert config.online_store.type == online
    assert config.offline_store.type == offline
    assert "${" not in yaml.safe_dump(config.model_dump(mode="json"))
    requirement = next(line for line in (repo / "requirements.txt").read_text().splitlines()
                        if line.startswith("feast["  ) or line.startswith("feast>"))  # fmt: skip
    for extra, module in EXTRAS.items():
        needed = extra in requirement
        assert needed == (
            (extra == "postgres" and "postgres" in (registry, online, offline))
            or (extra == "redis" and online == "redis")
            or (extra == "grpcio" and server != "none")
        ), requirement
        if needed:
            assert importlib.util.find_spec(module), f"{module} for feast[{extra}]"
    sys.path.insert(0, str(repo))
    try:
        spec = importlib.util.spec_from_file_location("baked_sources", repo / "data_sources.py")
        sources = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sources)
    finally:
        sys.path.remove(str(repo))
    kind = type(sources.user_features_source).__name__
    assert kind == {"file": "FileSource", "postgres": "PostgreSQLSource"}[offline]


def test_team_repos_inherit_stores_and_get_their_own_schema(tmp_path):
    platform = bake_platform(tmp_path, "acme", ["p@x.io"], registry="postgres",
                             online_store="redis", offline_store="postgres")  # fmt: skip
    team = bake_team(platform, "growth", ["g@x.io"], tmp_path / "teams")
    shared = yaml.safe_load((platform / "feature_store.yaml").read_text())
    own = yaml.safe_load((team / "feature_store.yaml").read_text())
    assert own["registry"] == shared["registry"] and own["online_store"] == shared["online_store"]
    assert shared["offline_store"]["db_schema"] == "platform"
    assert own["offline_store"] == {**shared["offline_store"], "db_schema": "growth"}
    assert "feast[postgres,redis]>=0.67,<0.68" in (team / "requirements.txt").read_text()
