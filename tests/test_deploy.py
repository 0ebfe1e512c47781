"""The generated deployment: Kubernetes manifests (validated offline against the published
schemas) and the scheduled materialization pipelines (linted as the other workflows are)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from support import free_port, run
from support.operator import crd_schema, errors, template_schema
from support.serving import running_server

SERVING_ORGS = {  # every registry choice, with stores a deployed server can share
    "sqlite-oidc": ("sqlite", "sqlite", "file", "oidc"),
    "file": ("file", "sqlite", "file", "none"),
    "postgres-kubernetes": ("postgres", "postgres", "postgres", "kubernetes"),
    "postgres-oidc": ("postgres", "redis", "postgres", "oidc"),
    "remote": ("remote", "redis", "snowflake", "none"),
    "s3": ("s3", "dynamodb", "redshift", "none"),
    "gcs": ("gcs", "datastore", "bigquery", "none"),
    # Each distributed compute engine: the CronJob runs on it.
    "spark": ("postgres", "redis", "spark", "none", "spark"),
    "ray": ("sqlite", "sqlite", "ray", "none", "ray"),
}
# The operator cannot reach a registry server it does not run, nor set a batch engine
# (refused: see below).
OPERATOR_ORGS = [name for name in SERVING_ORGS if name not in ("remote", "spark", "ray")]
GIT = {"platform_repo_url": "git@git.example.com:acme/platform.git", "platform_repo_ref": "v1.2"}
BIN = Path(sys.executable).parent


def bake(directory: Path, choices, deploy="kubernetes", ci="github", **values) -> Path:
    from feast_federation.onboarding import bake_platform
    from feast_federation.rules.choices import Backends

    return bake_platform(directory, project="acme_co", owners=["p@x.io"],
                         backends=Backends(*choices), deploy=deploy, ci=ci, **values)  # fmt: skip


@pytest.fixture(scope="module")
def baked(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("deploy")
    return {name: bake(root / name, choices) for name, choices in SERVING_ORGS.items()}


def documents(platform: Path) -> list[dict]:
    return [doc for f in sorted((platform / "k8s").glob("*.yaml"))
            for doc in yaml.safe_load_all(f.read_text()) if doc]  # fmt: skip


def pod_spec(doc: dict) -> dict:
    """The pod spec of a Deployment or a CronJob; {} for other kinds."""
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return doc["spec"]["template"]["spec"] if doc["kind"] == "Deployment" else {}


@pytest.mark.parametrize("name", SERVING_ORGS)
def test_manifests_pass_the_kubernetes_schemas(baked, name):
    import kubernetes_validate

    docs = documents(baked[name])
    for doc in docs:
        kubernetes_validate.validate(doc, "1.30", strict=True)
    kinds = sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs)
    servers = ["Deployment/acme-co-feature-server", "Service/acme-co-feature-server"]
    assert set(servers) | {"CronJob/acme-co-materialize"} <= set(kinds)
    has_registry_server = SERVING_ORGS[name][3] != "none"
    assert ("Deployment/acme-co-registry-server" in kinds) == has_registry_server


@pytest.mark.parametrize("name", SERVING_ORGS)
def test_each_container_gets_exactly_its_config_variables_from_the_secret(baked, name):
    from feast_federation.onboarding.ci_secrets import store_variables

    platform = baked[name]
    for doc in documents(platform):
        for container in pod_spec(doc).get("containers", []):
            command = container["command"]
            config = "registry_server.yaml" if (
                "registry_server.yaml" in command
                or (command[1] == "serve" and (platform / "registry_server.yaml").is_file())
            ) else "feature_store.yaml"  # fmt: skip
            expected = store_variables((platform / config).read_text())
            env = container.get("env") or []
            assert [item["name"] for item in env] == expected, (name, container["name"])
            for item in env:
                if item["name"] != "GOOGLE_APPLICATION_CREDENTIALS":
                    ref = item["valueFrom"]["secretKeyRef"]
                    assert ref == {"name": "acme-co-feast-store", "key": item["name"]}


@pytest.mark.parametrize("engine", ["spark", "ray"])
def test_the_materialization_job_runs_on_the_chosen_engine(baked, engine):
    platform = baked[engine]
    (cronjob,) = [doc for doc in documents(platform) if doc["kind"] == "CronJob"]
    (container,) = pod_spec(cronjob)["containers"]
    assert container["command"] == ["feast-federation", "materialize", "."]
    address = {"spark": "FEAST_SPARK_MASTER", "ray": "FEAST_RAY_ADDRESS"}[engine]
    assert address in {variable["name"] for variable in container["env"]}
    # Spark's driver is this image, and needs a Java; Ray's client does not.
    dockerfile = (platform / "k8s" / "Dockerfile").read_text()
    assert ("openjdk-17-jre-headless" in dockerfile) == (engine == "spark")
    assert ("memory" in container.get("resources", {}).get("requests", {})) == (engine == "spark")


def test_no_manifests_unless_chosen(tmp_path):
    platform = bake(tmp_path, SERVING_ORGS["postgres-oidc"], deploy="none")
    assert not (platform / "k8s").exists()


def test_deploy_choice_is_checked(tmp_path):
    from feast_federation.errors import FederationError

    with pytest.raises(
        FederationError, match="deploy helm: choose one of none, kubernetes, feast-operator"
    ):
        bake(tmp_path, SERVING_ORGS["file"], deploy="helm")


def test_scheduled_materialization_pipelines_pass_their_linters(tmp_path):
    github = bake(tmp_path / "gh", SERVING_ORGS["postgres-oidc"], ci="github")
    gitlab = bake(tmp_path / "gl", SERVING_ORGS["postgres-oidc"], ci="gitlab")
    workflow = github / ".github/workflows/materialize.yml"
    parsed = yaml.safe_load(workflow.read_text())
    assert set(parsed[True]) == {"schedule", "workflow_dispatch"}  # YAML reads "on" as True
    job = parsed["jobs"]["materialize"]
    assert job["env"]["FEAST_PG_PASSWORD"] == "${{ secrets.FEAST_PG_PASSWORD }}"
    assert "feast-federation materialize ." in workflow.read_text()
    schema = run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                  str(workflow)])  # fmt: skip
    assert schema.returncode == 0, schema.stdout + schema.stderr
    audit = run([str(BIN / "zizmor"), "--offline", "--no-progress", str(workflow)])
    assert audit.returncode == 0 and "No findings" in audit.stdout + audit.stderr, audit.stdout
    pipeline = gitlab / ".gitlab-ci.yml"
    jobs = yaml.safe_load(pipeline.read_text())
    assert jobs["materialize"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    schema = run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci",
                  str(pipeline)])  # fmt: skip
    assert schema.returncode == 0, schema.stdout + schema.stderr


@pytest.mark.slow
def test_the_generated_feature_server_command_serves(tmp_path):
    from feast_federation import sync
    from feast_federation.ops.materialize import materialize_repo
    from feast_federation.rules.repo import find_repo

    platform = bake(tmp_path, ("sqlite", "sqlite", "file", "none"))
    sync.apply(find_repo(platform))
    materialize_repo(platform, quiet=True)
    containers = [c for d in documents(platform) for c in pod_spec(d).get("containers", [])]
    [command] = [c["command"] for c in containers if c["name"] == "feature-server"]
    port = free_port()
    local = [sys.executable, "-m", "feast_federation.cli", *command[1:]]
    local[local.index("--host") + 1], local[local.index("--port") + 1] = "127.0.0.1", str(port)
    with running_server(local, platform, tmp_path / "server.log", port):
        from support.serving import Client

        body = b'{"features": ["user_features:age"], "entities": {"user_id": [1001]}}'
        status, answer = Client(port).post("/get-online-features", body)
    assert status == 200, answer
    assert "registry refreshed every 10 s" in (tmp_path / "server.log").read_text()


# --- the Feast Operator flavour -----------------------------------------------------------


@pytest.fixture(scope="module")
def operator_baked(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("operator")
    return {name: bake(root / name, SERVING_ORGS[name], deploy="feast-operator", **GIT)
            for name in OPERATOR_ORGS}  # fmt: skip


def feature_store(platform: Path) -> dict:
    [doc] = [d for d in documents(platform) if d["kind"] == "FeatureStore"]
    return doc


def settings(platform: Path) -> dict:
    """The settings Secret's entries, each parsed as the operator parses it (YAML)."""
    found = [d for d in documents(platform) if d["kind"] == "Secret"]
    return {key: yaml.safe_load(value) for d in found for key, value in d["stringData"].items()}


@pytest.mark.parametrize("name", OPERATOR_ORGS)
def test_operator_resources_pass_their_schemas(operator_baked, name):
    import kubernetes_validate

    platform = operator_baked[name]
    files = sorted(p.name for p in (platform / "k8s").iterdir())
    assert files == ["Dockerfile", "feature-store.yaml"]
    docs = documents(platform)
    for doc in docs:
        if doc["kind"] == "FeatureStore":
            assert errors(doc, template_schema()) == [], name
        else:
            kubernetes_validate.validate(doc, "1.30", strict=True)
    kinds = sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs)
    local = SERVING_ORGS[name][0] in ("sqlite", "file")
    assert ("PersistentVolumeClaim/acme-co-feast-data" in kinds) == local
    assert "FeatureStore/acme-co" in kinds


@pytest.mark.skipif(not crd_schema(), reason="FEAST_OPERATOR_CRD names no CRD file")
@pytest.mark.parametrize("name", OPERATOR_ORGS)
def test_operator_resources_pass_the_published_crd(operator_baked, name):
    assert errors(feature_store(operator_baked[name]), crd_schema()) == []


def test_the_schemas_refuse_a_misplaced_or_misspelt_field(operator_baked):
    schemas = [template_schema(), *filter(None, [crd_schema()])]
    good = feature_store(operator_baked["postgres-oidc"])
    assert all(errors(good, schema) == [] for schema in schemas)
    mutations = {
        "services/onlineStore/server/imageName": ("services", "onlineStore", "server"),
        "cronJob/command": ("cronJob",),
        "authz/oidc/clientId": ("authz", "oidc"),
    }
    for field, where in mutations.items():
        bad = yaml.safe_load(yaml.safe_dump(good))
        node = bad["spec"]
        for key in where:
            node = node[key]
        node[field.rsplit("/", 1)[1]] = "x"
        for schema in schemas:
            assert errors(bad, schema), field
    wrong_type = yaml.safe_load(yaml.safe_dump(good))
    wrong_type["spec"]["services"]["onlineStore"]["persistence"]["store"]["type"] = "sqlite"
    assert all(errors(wrong_type, schema) for schema in schemas)


@pytest.mark.parametrize("name", OPERATOR_ORGS)
def test_the_operator_runs_the_repo_with_its_settings_and_never_feast_apply(operator_baked, name):
    from feast_federation.onboarding.ci_secrets import store_variables

    platform = operator_baked[name]
    registry, online, offline, auth = SERVING_ORGS[name]
    spec = feature_store(platform)["spec"]
    assert spec["feastProject"] == "acme_co"
    assert spec["feastProjectDir"]["git"] == {"url": GIT["platform_repo_url"],
                                              "ref": GIT["platform_repo_ref"],
                                              "featureRepoPath": "."}  # fmt: skip
    services = spec["services"]
    assert services["runFeastApplyOnInit"] is False
    assert spec["cronJob"]["containerConfigs"]["commands"] == ["feast-federation materialize ."]
    assert spec["cronJob"]["schedule"] == "17 * * * *"

    store_yaml = yaml.safe_load((platform / "feature_store.yaml").read_text())
    given = settings(platform)
    for key, service in (("online_store", "onlineStore"), ("offline_store", "offlineStore")):
        if key in given:  # a database: the repo's settings, without the kind
            expected = {k: v for k, v in store_yaml[key].items() if k != "type"}
            assert given[key] == expected, (name, key)
            store = services[service]["persistence"]["store"]
            assert store["secretRef"] == {"name": "acme-co-feast-store-settings"}
            assert store["secretKeyName"] == key
    assert ("online_store" in given) == (online != "sqlite")
    assert ("offline_store" in given) == (offline not in ("file", "duckdb"))
    persistence = services["registry"]["local"]["persistence"]
    if registry == "postgres":
        assert given["registry"] == {"path": store_yaml["registry"]["path"],
                                     "cache_ttl_seconds": 60,
                                     "serve_features_while_materializing": True}  # fmt: skip
    elif registry == "sqlite":
        assert given["registry"]["path"] == "sqlite:////feast/data/registry.db"
        assert given["registry"]["serve_features_while_materializing"] is True
    else:
        path = "/feast/data/registry.pb" if registry == "file" else store_yaml["registry"]["path"]
        assert persistence == {"file": {"path": path, "cache_ttl_seconds": 60}}

    server = services["registry"]["local"].get("server")
    assert (server is not None) == (auth != "none")
    authz = {"none": {"noAuth": True}, "kubernetes": {"kubernetes": {}},
             "oidc": {"oidc": {"secretRef": {"name": "acme-co-feast-store-settings"},
                               "secretKeyName": "oidc"}}}  # fmt: skip
    assert spec["authz"] == authz[auth]
    if auth == "oidc":
        assert given["oidc"] == {"client_id": "${OIDC_CLIENT_ID}",
                                 "auth_discovery_url": "${OIDC_DISCOVERY_URL}"}  # fmt: skip
    config = "registry_server.yaml" if auth != "none" else "feature_store.yaml"
    expected_env = store_variables((platform / config).read_text())
    for container in filter(None, [server, services["onlineStore"]["server"]]):
        assert container["image"] == "acme-co-platform:latest"
        env = container.get("env") or []
        assert [item["name"] for item in env] == expected_env, name
        for item in env:
            if item["name"] != "GOOGLE_APPLICATION_CREDENTIALS":
                ref = item["valueFrom"]["secretKeyRef"]
                assert ref == {"name": "acme-co-feast-store", "key": item["name"]}


def test_the_operator_flavour_refuses_what_it_cannot_deploy(tmp_path):
    from feast_federation.errors import FederationError

    with pytest.raises(FederationError) as refused:
        bake(tmp_path, SERVING_ORGS["remote"], deploy="feast-operator")
    assert str(refused.value).startswith("deploy feast-operator with registry remote: ")
    for engine in ("spark", "ray"):
        with pytest.raises(
            FederationError, match=rf"^deploy feast-operator with compute_engine {engine}: "
        ):
            bake(tmp_path, SERVING_ORGS[engine], deploy="feast-operator")
    with pytest.raises(FederationError, match=r"^platform_repo_ref 'main;reboot': "):
        bake(tmp_path, SERVING_ORGS["file"], deploy="feast-operator",
             platform_repo_ref="main;reboot")  # fmt: skip
    with pytest.raises(FederationError, match=r"^platform_repo_url 'https://x.io/\$\(id\)': "):
        bake(tmp_path, SERVING_ORGS["file"], deploy="feast-operator",
             platform_repo_url="https://x.io/$(id)")  # fmt: skip
    assert list(tmp_path.iterdir()) == []
