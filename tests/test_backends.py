"""Backend choices: every combination bakes and loads in Feast, or is refused with a reason.

The stores are crossed in full (registry x online x offline); the registry server choice only
interacts with the registry, so it is crossed with every registry.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import re
import sys

import pytest
import yaml

from feast_federation.errors import FederationError
from feast_federation.onboarding import bake_platform, bake_team
from feast_federation.rules.choices import (
    COMPUTE_ENGINES,
    FEAST_ENGINE_TYPES,
    LOCAL_OFFLINE_STORES,
    LOCAL_REGISTRIES,
    OFFLINE_STORES,
    ONLINE_STORES,
    REGISTRIES,
    REGISTRY_SERVERS,
    Backends,
)
from feast_federation.rules.policy import load_policy
from support import ROOT, cli


def _stores_for(registry: str) -> tuple[str, str]:
    return ("sqlite", "file") if registry in LOCAL_REGISTRIES else ("redis", "postgres")


COMBINATIONS = [
    *itertools.product(REGISTRIES, ONLINE_STORES, OFFLINE_STORES, ["none"]),
    *[(registry, *_stores_for(registry), server)
      for registry in REGISTRIES for server in REGISTRY_SERVERS if server != "none"],
]  # fmt: skip
ENVIRONMENT = {
    "FEAST_PG_HOST": "127.0.0.1", "FEAST_PG_PORT": "5432", "FEAST_PG_DATABASE": "feast",
    "FEAST_PG_USER": "feast", "FEAST_PG_PASSWORD": "secret",
    "FEAST_REDIS_CONNECTION": "127.0.0.1:6379", "OIDC_CLIENT_ID": "feast",
    "OIDC_DISCOVERY_URL": "https://idp.example.com/.well-known/openid-configuration",
    "FEAST_REGISTRY_SERVER": "registry.example.com:6570", "FEAST_REGISTRY_BUCKET": "acme-feast",
    "AWS_REGION": "eu-west-1", "FEAST_GCP_PROJECT": "acme-ml", "FEAST_BIGTABLE_INSTANCE": "feast",
    "FEAST_SNOWFLAKE_ACCOUNT": "acme-eu", "FEAST_SNOWFLAKE_USER": "feast",
    "FEAST_SNOWFLAKE_PASSWORD": "secret", "FEAST_SNOWFLAKE_ROLE": "feast",
    "FEAST_SNOWFLAKE_WAREHOUSE": "feast_wh", "FEAST_SNOWFLAKE_DATABASE": "features",
    "FEAST_REDSHIFT_CLUSTER": "feast", "FEAST_REDSHIFT_USER": "feast",
    "FEAST_REDSHIFT_DATABASE": "features", "FEAST_REDSHIFT_STAGING": "s3://acme-feast/staging",
    "FEAST_REDSHIFT_IAM_ROLE": "arn:aws:iam::123456789012:role/feast",
    "FEAST_SPARK_MASTER": "spark://spark.example.com:7077",
    "FEAST_SPARK_STAGING": "s3://acme-feast/spark",
    "FEAST_RAY_ADDRESS": "ray://ray.example.com:10001", "FEAST_RAY_STORAGE": "s3://acme-feast/ray",
}  # fmt: skip
# The Feast extra each choice needs, and a module that extra installs.
EXTRA_OF_CHOICE = {
    "s3": "aws", "dynamodb": "aws", "redshift": "aws",
    "gcs": "gcp", "datastore": "gcp", "bigtable": "gcp", "bigquery": "gcp",
    "postgres": "postgres", "redis": "redis", "snowflake": "snowflake", "spark": "spark",
    "duckdb": "duckdb", "remote": "grpcio", "oidc": "grpcio", "kubernetes": "grpcio",
}  # fmt: skip
MODULE_OF_EXTRA = {
    "aws": "boto3", "gcp": "google.cloud.bigquery", "postgres": "psycopg", "redis": "redis",
    "snowflake": "snowflake.connector", "spark": "pyspark", "duckdb": "ibis", "grpcio": "grpc",
}  # fmt: skip
SOURCE_CLASS = {
    "file": "FileSource", "duckdb": "FileSource", "postgres": "PostgreSQLSource",
    "snowflake": "SnowflakeSource", "bigquery": "BigQuerySource",
    "redshift": "RedshiftSource", "spark": "SparkSource", "ray": "FileSource",
}  # fmt: skip
FEAST_TYPE = {"snowflake": "snowflake.offline"}


def refusal(combination) -> str | None:
    try:
        Backends(*combination).check()
    except FederationError as exc:
        return str(exc)
    return None


def test_the_rules_refuse_what_cannot_be_shared():
    refused = [c for c in COMBINATIONS if refusal(c)]
    assert ("postgres", "sqlite", "postgres", "none") in refused
    assert ("s3", "dynamodb", "file", "none") in refused
    assert ("gcs", "bigtable", "duckdb", "none") in refused
    assert ("file", "sqlite", "file", "oidc") in refused
    assert ("s3", "redis", "postgres", "oidc") in refused
    assert ("remote", "redis", "postgres", "kubernetes") in refused
    assert ("sqlite", "sqlite", "file", "oidc") not in refused
    assert ("s3", "dynamodb", "snowflake", "none") not in refused  # the seed's own
    assert len(refused) < len(COMBINATIONS) // 2


def _needed_extras(registry, online, offline, server) -> set[str]:
    return {EXTRA_OF_CHOICE[c] for c in (registry, online, offline, server) if c in EXTRA_OF_CHOICE}


def _feast_requirement(repo) -> str:
    lines = (repo / "requirements.txt").read_text().splitlines()
    return next(line for line in lines if line.startswith(("feast[", "feast>")))


def _import_definitions(repo):
    """Import the generated feature_views.py (and what it imports) as the repo's tests would,
    never a same-named module an earlier test of this process imported from another repo."""
    modules = ("feature_views", "data_sources", "entities")
    for module in modules:
        sys.modules.pop(module, None)
    sys.path.insert(0, str(repo))
    try:
        return importlib.import_module("feature_views")
    finally:
        sys.path.remove(str(repo))
        for module in modules:
            sys.modules.pop(module, None)


@pytest.mark.parametrize(
    "combination",
    # A refused combination never reaches Feast; the others load their config with it.
    [c if refusal(c) else pytest.param(c, marks=pytest.mark.slow) for c in COMBINATIONS],
    ids="-".join,
)
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
                tmp_path / "cli", project="acme", owners=["p@x.io"],
                backends=Backends(registry, online, offline, server),
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
    assert config.offline_store.type == FEAST_TYPE.get(offline, offline)
    assert config.registry.registry_type == {"sqlite": "sql", "postgres": "sql"}.get(
        registry, "file" if registry in ("file", "s3", "gcs") else registry
    )
    assert "${" not in yaml.safe_dump(config.model_dump(mode="json"))
    requirement = _feast_requirement(repo)
    extras = set(requirement.partition("[")[2].partition("]")[0].split(",")) - {""}
    assert extras == _needed_extras(*combination), requirement
    for extra in extras:
        assert importlib.util.find_spec(MODULE_OF_EXTRA[extra]), f"feast[{extra}] importable"
    files = offline in LOCAL_OFFLINE_STORES
    _assert_pipeline_reads_what_the_store_reads(repo, _needed_extras(*combination), files)
    views = _import_definitions(repo)
    assert type(views.user_features.batch_source).__name__ == SOURCE_CLASS[offline]
    beside = repo.parent / "platform-data" / "user_features.parquet"  # the data location
    assert beside.exists() == files
    if files:
        assert views.user_features.batch_source.path == str(beside)
    assert ("ray[data]" in (repo / "requirements.txt").read_text()) == (offline == "ray")


def _engine_case(offline: str, engine: str) -> tuple[str, str, str, str, str]:
    registry, online = (
        ("sqlite", "sqlite") if offline in LOCAL_OFFLINE_STORES else ("s3", "dynamodb")
    )
    return registry, online, offline, "none", engine


# Every offline store with each distributed engine (the local engine is every case above).
ENGINE_CASES = [
    _engine_case(offline, engine)
    for offline in OFFLINE_STORES for engine in COMPUTE_ENGINES if engine != "local"
]  # fmt: skip


@pytest.mark.parametrize(
    "case",
    [c if refusal(c) else pytest.param(c, marks=pytest.mark.slow) for c in ENGINE_CASES],
    ids=lambda case: f"{case[2]}-{case[4]}",
)
def test_each_compute_engine_bakes_and_loads_or_is_refused(cookies, monkeypatch, tmp_path, case):
    registry, online, offline, server, engine = case
    context = {"registry": registry, "online_store": online, "offline_store": offline,
               "registry_server": server, "compute_engine": engine}  # fmt: skip
    result = cookies.bake(template=str(ROOT / "cookiecutter-platform"), extra_context=context)
    reason = refusal(case)
    if reason:
        assert reason == (
            f"compute_engine {engine} with offline_store {offline}: the {engine} engine "
            f"materializes through the {engine} offline store; choose offline_store {engine}, "
            "or compute_engine local"
        )
        assert result.exit_code != 0
        refused = cli("bootstrap", str(tmp_path / "org"), "--offline-store", offline,
                      "--compute-engine", engine)  # fmt: skip
        assert refused.returncode == 1 and refused.stderr.strip() == f"error: {reason}"
        assert not (tmp_path / "org").exists()
        return
    assert result.exit_code == 0, result.exception
    repo = result.project_path
    store_yaml = (repo / "feature_store.yaml").read_text()
    assert Backends.of_store_yaml(store_yaml) == Backends(*case)
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    from feast.repo_config import load_repo_config

    config = load_repo_config(repo, repo / "feature_store.yaml")
    assert config.batch_engine.type == FEAST_ENGINE_TYPES[engine]
    assert "${" not in yaml.safe_dump(config.model_dump(mode="json"))
    _assert_pipeline_reads_what_the_store_reads(
        repo, _needed_extras(*case[:4]), case[2] in LOCAL_OFFLINE_STORES
    )


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["spark", "ray"])
def test_a_team_on_an_engine_stores_under_its_own_path_with_the_platforms_packages(
    tmp_path, engine
):
    backends = Backends(offline_store=engine, compute_engine=engine)
    platform = bake_platform(tmp_path, project="acme", owners=["p@x.io"], backends=backends)
    team = bake_team(platform, team="growth", owners=["g@x.io"], output_dir=tmp_path / "teams")
    shared = yaml.safe_load((platform / "feature_store.yaml").read_text())
    own = yaml.safe_load((team / "feature_store.yaml").read_text())
    setting, platform_value, team_value = SCOPED_SETTING[engine]
    assert shared["offline_store"][setting] == platform_value
    assert own["offline_store"] == {**shared["offline_store"], setting: team_value}
    assert own["batch_engine"] == shared["batch_engine"]
    assert load_policy(platform).teams["growth"].offline_schema == "growth"
    platform_lines = set((platform / "requirements.txt").read_text().splitlines())
    team_lines = set((team / "requirements.txt").read_text().splitlines())
    assert {line for line in platform_lines if line.startswith(("feast", "ray"))} <= team_lines


AWS_KEYS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
GOOGLE_KEY = "GOOGLE_APPLICATION_CREDENTIALS"
DATA_LOCATION = "FEAST_DATA_LOCATION"


def _assert_pipeline_reads_what_the_store_reads(repo, extras: set[str], files: bool = False):
    """Every job maps each ${VAR} of feature_store.yaml (comments aside) from a secret of the
    same name, plus the credentials of the clouds the choices use; with sources that read
    files, the repository variable that moves their data location on a runner."""
    store_text = (repo / "feature_store.yaml").read_text()
    config_text = "\n".join(line.split("#")[0] for line in store_text.splitlines())
    wanted = set(re.findall(r"\$\{(\w+)\}", config_text))
    wanted |= (
        {"FEAST_REGISTRY_TOKEN"} if "token_env_var: FEAST_REGISTRY_TOKEN" in store_text else set()
    )
    wanted |= (AWS_KEYS if "aws" in extras else set()) | (
        {GOOGLE_KEY} if "gcp" in extras else set()
    )
    workflow = yaml.safe_load((repo / ".github/workflows/feature-store.yml").read_text())
    for job_name, job in workflow["jobs"].items():
        env = job.get("env") or {}
        assert set(env) == wanted | ({DATA_LOCATION} if files else set())
        if files:
            assert env[DATA_LOCATION] == "${{ vars.FEAST_DATA_LOCATION }}"  # no secret
        # The pull-request job reads read-only secrets of their own names, never the apply's.
        readonly = job_name == "check"
        secrets = {name: value for name, value in env.items()
                   if name not in (GOOGLE_KEY, DATA_LOCATION)}  # fmt: skip
        for name, value in secrets.items():
            parts = name.split("_")
            cut = 2 if parts[0] == "FEAST" and len(parts) > 2 else 1
            secret = "_".join([*parts[:cut], "READONLY", *parts[cut:]]) if readonly else name
            assert value == "${{ secrets." + secret + " }}"
        key = "GCP_READONLY_SERVICE_ACCOUNT_KEY" if readonly else "GCP_SERVICE_ACCOUNT_KEY"
        writes_key = [step for step in job["steps"] if f"secrets.{key} " in str(step)]
        assert bool(writes_key) == ("gcp" in extras)
        if writes_key:
            assert env[GOOGLE_KEY] in writes_key[0]["run"]


SCOPED_SETTING = {
    "postgres": ("db_schema", "platform", "growth"),
    "snowflake": ("schema", "platform", "growth"),
    "bigquery": ("dataset", "platform", "growth"),
    "redshift": ("s3_staging_location", "${FEAST_REDSHIFT_STAGING}/platform",
                 "${FEAST_REDSHIFT_STAGING}/growth"),
    "spark": ("staging_location", "${FEAST_SPARK_STAGING}/platform",
              "${FEAST_SPARK_STAGING}/growth"),
    "ray": ("storage_path", "${FEAST_RAY_STORAGE}/platform", "${FEAST_RAY_STORAGE}/growth"),
}  # fmt: skip


SECRETS_OF_OFFLINE_STORE = {
    "postgres": {"FEAST_PG_HOST", "FEAST_PG_PORT", "FEAST_PG_DATABASE", "FEAST_PG_USER",
                 "FEAST_PG_PASSWORD"},
    "snowflake": {"FEAST_SNOWFLAKE_ACCOUNT", "FEAST_SNOWFLAKE_USER", "FEAST_SNOWFLAKE_PASSWORD",
                  "FEAST_SNOWFLAKE_ROLE", "FEAST_SNOWFLAKE_WAREHOUSE", "FEAST_SNOWFLAKE_DATABASE"},
    "bigquery": {"FEAST_GCP_PROJECT", "GOOGLE_APPLICATION_CREDENTIALS"},
    "redshift": {"FEAST_REDSHIFT_CLUSTER", "FEAST_REDSHIFT_USER", "FEAST_REDSHIFT_DATABASE",
                 "FEAST_REDSHIFT_STAGING", "FEAST_REDSHIFT_IAM_ROLE"},
    "spark": {"FEAST_SPARK_MASTER", "FEAST_SPARK_STAGING"},
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("offline", ["postgres", "snowflake", "bigquery", "redshift", "spark"])
def test_team_repos_share_the_stores_and_work_in_their_own_schema(monkeypatch, tmp_path, offline):
    platform = bake_platform(tmp_path, project="acme", owners=["p@x.io"],
                             backends=Backends("s3", "dynamodb", offline))  # fmt: skip
    team = bake_team(platform, team="growth", owners=["g@x.io"], output_dir=tmp_path / "teams")
    shared = yaml.safe_load((platform / "feature_store.yaml").read_text())
    own = yaml.safe_load((team / "feature_store.yaml").read_text())
    assert own["registry"] == shared["registry"] and own["online_store"] == shared["online_store"]
    recorded = load_policy(platform).teams["growth"].offline_schema
    if offline in SCOPED_SETTING:
        setting, platform_value, team_value = SCOPED_SETTING[offline]
        assert shared["offline_store"][setting] == platform_value
        assert own["offline_store"] == {**shared["offline_store"], setting: team_value}
        assert recorded == "growth"
    else:
        assert own["offline_store"] == shared["offline_store"] and recorded == ""
    assert _feast_requirement(team) == _feast_requirement(platform)
    workflow = yaml.safe_load((team / ".github/workflows/feature-services.yml").read_text())
    # The same variables; the pull-request job reads them from read-only secrets.
    assert set(workflow["jobs"]["apply"]["env"]) == set(workflow["jobs"]["check"]["env"])
    assert set(workflow["jobs"]["apply"]["env"]) == {
        "FEAST_REGISTRY_BUCKET", "AWS_REGION", *AWS_KEYS, *SECRETS_OF_OFFLINE_STORE[offline]
    }  # fmt: skip
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    from feast.repo_config import load_repo_config

    load_repo_config(team, team / "feature_store.yaml")


def test_a_team_schema_comes_from_the_policy_and_is_its_own(tmp_path):
    platform = bake_platform(tmp_path, project="acme", owners=["p@x.io"],
                             backends=Backends("postgres", "redis", "postgres"))  # fmt: skip
    team = bake_team(platform, team="growth", owners=["g@x.io"], output_dir=tmp_path / "teams",
                     offline_schema="gx")  # fmt: skip
    assert (
        yaml.safe_load((team / "feature_store.yaml").read_text())["offline_store"]["db_schema"]
        == "gx"
    )
    assert "offline_schema: gx" in (platform / "federation.yaml").read_text()
    before = (platform / "federation.yaml").read_text()
    for schema, rule in [("gx", "already team growth's"), ("platform", "is the platform's"),
                         ("Bad-Name", "lowercase letters")]:  # fmt: skip
        with pytest.raises(FederationError, match=rule):
            bake_team(platform, team="risk", owners=["r@x.io"], output_dir=tmp_path / "teams",
                      offline_schema=schema)  # fmt: skip
    assert (platform / "federation.yaml").read_text() == before
    assert not (tmp_path / "teams" / "risk").exists()


def test_a_team_cannot_choose_other_stores_than_the_platform(tmp_path):
    platform = bake_platform(tmp_path, project="acme", owners=["p@x.io"],
                             backends=Backends("postgres", "redis", "postgres"))  # fmt: skip
    with pytest.raises(FederationError) as refused:
        bake_team(platform, team="risk", owners=["r@x.io"], output_dir=tmp_path / "teams",
                  online_store="dynamodb")  # fmt: skip
    assert str(refused.value) == (
        "team risk: online_store dynamodb differs from the platform's redis; "
        "team repos share the platform's stores"
    )
    team = bake_team(platform, team="risk", owners=["r@x.io"], output_dir=tmp_path / "teams",
                     registry="postgres",
                     online_store="redis", offline_store="postgres")  # fmt: skip
    assert team.is_dir()
    policy = (platform / "federation.yaml").read_text()
    refused = cli("add-team", "growth", "--platform", str(platform), "--offline-store", "spark")
    assert refused.returncode == 1 and refused.stderr.strip() == (
        "error: team growth: offline_store spark differs from the platform's postgres; "
        "team repos share the platform's stores"
    )
    assert (platform / "federation.yaml").read_text() == policy
    added = cli("add-team", "growth", "--platform", str(platform), "--offline-schema", "gx")
    assert added.returncode == 0, added.stderr
    assert "offline_schema: gx" in (platform / "federation.yaml").read_text()
