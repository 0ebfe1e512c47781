"""The backend choices of the platform template, which combinations every repo of an org
can share, and how a baked feature_store.yaml maps back to them. Never imports Feast."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from feast_federation.errors import FederationError

REGISTRIES = ("sqlite", "file", "postgres", "remote", "s3", "gcs")
ONLINE_STORES = ("sqlite", "postgres", "redis", "dynamodb", "datastore", "bigtable")
OFFLINE_STORES = (
    "file", "duckdb", "postgres", "snowflake", "bigquery", "redshift", "spark", "ray"
)  # fmt: skip
# Where materialization runs: in the calling process (Feast's `local` engine), or on a Spark
# or Ray cluster (`spark.engine`, `ray.engine`), local on this machine when no address is set.
COMPUTE_ENGINES = ("local", "spark", "ray")
LOCAL_REGISTRIES = ("sqlite", "file")
SQL_REGISTRIES = ("sqlite", "postgres")
# Offline stores whose sources are the platform repo's parquet files (Ray reads them too).
LOCAL_OFFLINE_STORES = ("file", "duckdb", "ray")
# A distributed engine reads through the offline store of its own kind: Feast's Spark engine
# turns anything else into a Spark DataFrame on the driver first, and Ray's engine reads
# FileSource paths the cluster's workers must reach.
ENGINE_OFFLINE_STORE = {"spark": "spark", "ray": "ray"}
# Feast's name for each engine (batch_engine.type).
FEAST_ENGINE_TYPES = {"local": "local", "spark": "spark.engine", "ray": "ray.engine"}
REGISTRY_SERVERS = ("none", "oidc", "kubernetes")
POSTGRES_SSLMODES = ("require", "verify-full", "prefer", "disable")
CI_SYSTEMS = ("github", "gitlab", "none")
DEPLOY_TARGETS = ("none", "kubernetes", "feast-operator")


# Registries the Feast Operator cannot reach: its servers send no token to a registry
# server they do not run (a remote registry's auth would also turn on auth for them).
OPERATOR_UNREACHABLE_REGISTRIES = ("remote",)

# Choices that need a cloud's credentials in CI.
AWS_CHOICES = ("s3", "dynamodb", "redshift")
GCP_CHOICES = ("gcs", "datastore", "bigtable", "bigquery")


def check_choice(what: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise FederationError(f"{what} {value}: choose one of {', '.join(choices)}")


def check_deploy(deploy: str, backends: Backends) -> None:
    check_choice("deploy", deploy, DEPLOY_TARGETS)
    if deploy == "feast-operator" and backends.compute_engine != "local":
        raise FederationError(
            f"deploy feast-operator with compute_engine {backends.compute_engine}: the "
            "operator writes its own feature_store.yaml, which has no batch engine; choose "
            "deploy kubernetes (its CronJob runs on the engine), or compute_engine local"
        )
    if deploy == "feast-operator" and backends.registry in OPERATOR_UNREACHABLE_REGISTRIES:
        raise FederationError(
            f"deploy feast-operator with registry {backends.registry}: the operator's servers "
            "cannot send a token to a registry server they do not run; choose deploy "
            f"kubernetes, or a registry the operator serves "
            f"({_others(REGISTRIES, *OPERATOR_UNREACHABLE_REGISTRIES)})"
        )


@dataclass(frozen=True)
class Backends:
    """Where an org's shared store lives: the platform template's backend choices."""

    registry: str = "sqlite"
    online_store: str = "sqlite"
    offline_store: str = "file"
    registry_server: str = "none"
    compute_engine: str = "local"

    def check(self, data_location: str = "") -> None:
        """Refuse combinations that cannot be shared by every repo of the org, or that an
        engine cannot run; ``data_location`` is where a file offline store's data lives, if
        given."""
        check_choice("registry", self.registry, REGISTRIES)
        check_choice("online_store", self.online_store, ONLINE_STORES)
        check_choice("offline_store", self.offline_store, OFFLINE_STORES)
        check_choice("registry_server", self.registry_server, REGISTRY_SERVERS)
        check_choice("compute_engine", self.compute_engine, COMPUTE_ENGINES)
        reads = ENGINE_OFFLINE_STORE.get(self.compute_engine)
        if reads and self.offline_store != reads:
            raise FederationError(
                f"compute_engine {self.compute_engine} with offline_store {self.offline_store}: "
                f"the {self.compute_engine} engine materializes through the {reads} offline "
                f"store; choose offline_store {reads}, or compute_engine local"
            )
        shared = self.registry not in LOCAL_REGISTRIES
        if shared and self.online_store == "sqlite":
            raise FederationError(
                f"online_store sqlite with registry {self.registry}: a local SQLite file cannot "
                "be shared by repos on other machines; choose a server online store "
                f"({_others(ONLINE_STORES, 'sqlite')})"
            )
        if shared and self.offline_store in LOCAL_OFFLINE_STORES and not data_location:
            raise FederationError(
                f"offline_store {self.offline_store} with registry {self.registry}: every "
                "repo and runner reads the same parquet files; give a data location they all "
                "reach (data_location: a shared folder, or an s3:// or gs:// URI), or choose a "
                f"shared offline store ({_others(OFFLINE_STORES, *LOCAL_OFFLINE_STORES)})"
            )
        if self.registry_server != "none" and self.registry not in SQL_REGISTRIES:
            raise FederationError(
                f"registry_server {self.registry_server} with registry {self.registry}: the "
                f"server must front a SQL registry; choose registry {' or '.join(SQL_REGISTRIES)}"
            )

    @property
    def clouds(self) -> list[str]:
        """The clouds ("aws", "gcp") whose credentials the chosen stores need."""
        chosen = {self.registry, self.online_store, self.offline_store}
        return [cloud for cloud, members in (("aws", AWS_CHOICES), ("gcp", GCP_CHOICES))
                if chosen & set(members)]  # fmt: skip

    @classmethod
    def of_store_yaml(cls, store_yaml: str) -> Backends:
        """The choices a platform's feature_store.yaml was baked with."""
        config = yaml.safe_load(store_yaml) or {}
        registry = config.get("registry") or {}
        path = str(registry.get("path", "")) if isinstance(registry, dict) else str(registry)
        kind = registry.get("registry_type", "file") if isinstance(registry, dict) else "file"
        if kind == "sql":
            registry_choice = "postgres" if path.startswith("postgresql") else "sqlite"
        elif kind == "file":
            registry_choice = {"s3": "s3", "gs": "gcs"}.get(path.split("://")[0], "file")
        else:
            registry_choice = kind
        online = (config.get("online_store") or {}).get("type", "sqlite")
        offline = (config.get("offline_store") or {}).get("type", "file")
        engine = (config.get("batch_engine") or {}).get("type", "local")
        return cls(
            registry_choice, online, offline.removesuffix(".offline"),
            compute_engine=engine.removesuffix(".engine"),
        )  # fmt: skip


# The embedded local default: SQLite registry and online store, parquet files offline.
LOCAL_DEFAULT = Backends()


def _others(choices: Sequence[str], *excluded: str) -> str:
    return ", ".join(choice for choice in choices if choice not in excluded)


# How a team's feature_store.yaml scopes the platform's offline store to the team: the
# setting that names its schema (or dataset), and the value it takes for the team.
TEAM_SCOPED_OFFLINE_SETTINGS = {
    "postgres": ("db_schema", lambda platform_value, schema: schema),
    "snowflake": ("schema", lambda platform_value, schema: schema),
    "bigquery": ("dataset", lambda platform_value, schema: schema),
    # Feast's Redshift offline store has no schema setting: the team stages under its own prefix.
    "redshift": (
        "s3_staging_location",
        lambda platform_value, schema: f"{platform_value.rsplit('/', 1)[0]}/{schema}",
    ),
    # Spark and Ray have no schema for what Feast writes: the team stages (Spark's retrieval
    # results) and stores (Ray's) under its own path.
    "spark": (
        "staging_location",
        lambda platform_value, schema: f"{platform_value.rsplit('/', 1)[0]}/{schema}",
    ),
    "ray": (
        "storage_path",
        lambda platform_value, schema: f"{platform_value.rsplit('/', 1)[0]}/{schema}",
    ),
}
SCHEMA_SCOPED_OFFLINE_STORES = tuple(TEAM_SCOPED_OFFLINE_SETTINGS)
