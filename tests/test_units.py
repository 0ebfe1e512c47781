"""Unit tests of the rules that need neither Feast, nor files, nor fresh processes:
backend choices, a team's feature_store.yaml, and what platform changes break."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from feast_federation.errors import FederationError
from feast_federation.onboarding.team_config import team_store_yaml
from feast_federation.rules.choices import Backends
from feast_federation.rules.ownership import (
    FEATURE_SERVICE,
    ON_DEMAND_FEATURE_VIEW,
    Definition,
    PlatformState,
    Usage,
    ViewShape,
    breakages,
    dangling,
    views_at_risk,
)

# --- Backends: the platform's backend choices ------------------------------------------


@pytest.mark.parametrize(
    "backends, message",
    [
        (
            Backends("postgres", "sqlite", "postgres"),
            "online_store sqlite with registry postgres: a local SQLite file cannot be shared "
            "by repos on other machines; choose a server online store "
            "(postgres, redis, dynamodb, datastore, bigtable)",
        ),
        (
            Backends("s3", "dynamodb", "duckdb"),
            "offline_store duckdb with registry s3: every repo and runner reads the same "
            "parquet files; give a data location they all reach (data_location: a shared "
            "folder, or an s3:// or gs:// URI), or choose a shared offline store "
            "(postgres, snowflake, bigquery, redshift, spark)",
        ),
        (
            Backends("file", "sqlite", "file", registry_server="oidc"),
            "registry_server oidc with registry file: the server must front a SQL registry; "
            "choose registry sqlite or postgres",
        ),
        (
            Backends("remote", "redis", "postgres", registry_server="kubernetes"),
            "registry_server kubernetes with registry remote: the server must front a SQL "
            "registry; choose registry sqlite or postgres",
        ),
        # The online store is checked before the offline store.
        (
            Backends("gcs", "sqlite", "file"),
            "online_store sqlite with registry gcs: a local SQLite file cannot be shared "
            "by repos on other machines; choose a server online store "
            "(postgres, redis, dynamodb, datastore, bigtable)",
        ),
        (
            Backends(registry="mysql"),
            "registry mysql: choose one of sqlite, file, postgres, remote, s3, gcs",
        ),
        (
            Backends(offline_store="parquet"),
            "offline_store parquet: choose one of file, duckdb, postgres, snowflake, bigquery, "
            "redshift, spark, ray",
        ),
        (
            Backends(compute_engine="flink"),
            "compute_engine flink: choose one of local, spark, ray",
        ),
        (
            Backends(
                offline_store="snowflake",
                registry="s3",
                online_store="dynamodb",
                compute_engine="ray",
            ),  # fmt: skip
            "compute_engine ray with offline_store snowflake: the ray engine materializes "
            "through the ray offline store; choose offline_store ray, or compute_engine local",
        ),
        # Ray reads the platform's parquet files, as file does: a shared registry needs a
        # data location every runner reaches.
        (
            Backends("postgres", "redis", "ray", compute_engine="ray"),
            "offline_store ray with registry postgres: every repo and runner reads the same "
            "parquet files; give a data location they all reach (data_location: a shared "
            "folder, or an s3:// or gs:// URI), or choose a shared offline store "
            "(postgres, snowflake, bigquery, redshift, spark)",
        ),
        (
            Backends(registry_server="nginx"),
            "registry_server nginx: choose one of none, oidc, kubernetes",
        ),
    ],
)
def test_backends_refuse_what_cannot_be_shared(backends, message):
    with pytest.raises(FederationError) as refused:
        backends.check()
    assert str(refused.value) == message


@pytest.mark.parametrize(
    "backends",
    [
        Backends(),
        Backends("file", "sqlite", "duckdb"),
        Backends("sqlite", "sqlite", "file", registry_server="oidc"),
        Backends("postgres", "redis", "postgres", registry_server="kubernetes"),
        Backends("s3", "dynamodb", "snowflake"),
    ],
)
def test_backends_accept_what_every_repo_can_share(backends):
    backends.check()


@pytest.mark.parametrize(
    "backends, clouds",
    [
        (Backends(), []),
        (Backends("postgres", "redis", "postgres"), []),
        (Backends("s3", "dynamodb", "snowflake"), ["aws"]),
        (Backends("postgres", "redis", "redshift"), ["aws"]),
        (Backends("gcs", "bigtable", "bigquery"), ["gcp"]),
        (Backends("s3", "datastore", "postgres"), ["aws", "gcp"]),
    ],
)
def test_backends_name_the_clouds_whose_credentials_they_need(backends, clouds):
    assert backends.clouds == clouds


STORES = """
online_store:
  type: {online}
offline_store:
  type: {offline}
"""
REGISTRY_YAML = {
    "sqlite": "registry:\n  registry_type: sql\n  path: sqlite:///org/platform/data/registry.db\n",
    "file": "registry:\n  registry_type: file\n  path: /org/platform/data/registry.pb\n",
    "postgres": (
        "registry:\n  registry_type: sql\n  path: postgresql+psycopg://${FEAST_PG_USER}:"
        "${FEAST_PG_PASSWORD}@${FEAST_PG_HOST}:${FEAST_PG_PORT}/${FEAST_PG_DATABASE}"
        "?sslmode=require\n  cache_ttl_seconds: 60\n"
    ),
    "s3": "registry:\n  registry_type: file\n  path: s3://${FEAST_REGISTRY_BUCKET}/acme/registry.pb\n",
    "gcs": "registry:\n  registry_type: file\n  path: gs://${FEAST_REGISTRY_BUCKET}/acme/registry.pb\n",
    "remote": 'registry:\n  registry_type: remote\n  path: "${FEAST_REGISTRY_SERVER}"\n',
}


@pytest.mark.parametrize(
    "backends",
    [
        Backends("sqlite", "sqlite", "file"),
        Backends("file", "sqlite", "duckdb"),
        Backends("postgres", "postgres", "postgres"),
        Backends("s3", "dynamodb", "redshift"),
        Backends("gcs", "bigtable", "bigquery"),
        Backends("remote", "redis", "spark"),
    ],
)
def test_a_baked_store_yaml_maps_back_to_its_choices(backends):
    store_yaml = (
        "project: acme\n"
        + REGISTRY_YAML[backends.registry]
        + STORES.format(online=backends.online_store, offline=backends.offline_store)
    )
    assert Backends.of_store_yaml(store_yaml) == backends


def test_store_yaml_details_that_map_to_choices():
    snowflake = STORES.format(online="redis", offline="snowflake.offline")
    assert Backends.of_store_yaml(REGISTRY_YAML["s3"] + snowflake) == Backends(
        "s3", "redis", "snowflake"
    )
    # A registry given as a bare path is a file registry; unnamed stores are the defaults.
    assert Backends.of_store_yaml("registry: data/registry.pb\n") == Backends(registry="file")
    assert Backends.of_store_yaml("registry: s3://bucket/registry.pb\n") == Backends("s3")
    assert Backends.of_store_yaml("") == Backends(registry="file")
    # A registry server is not recorded in feature_store.yaml.
    assert Backends.of_store_yaml(REGISTRY_YAML["postgres"]).registry_server == "none"


# --- team_store_yaml: a team's feature_store.yaml from the platform's ------------------

PLATFORM_YAML = """\
project: acme
provider: local
registry:
  registry_type: sql
  path: postgresql+psycopg://${FEAST_PG_USER}:${FEAST_PG_PASSWORD}@${FEAST_PG_HOST}:5432/feast
  cache_ttl_seconds: 60
online_store:
  type: postgres
  host: ${FEAST_PG_HOST}
  db_schema: feast_online
  password: "${FEAST_PG_PASSWORD}"
offline_store:
  type: postgres
  host: ${FEAST_PG_HOST}
  db_schema: platform
  password: "${FEAST_PG_PASSWORD}"
entity_key_serialization_version: 3
"""
LOCAL_PLATFORM_YAML = """\
project: acme
registry:
  registry_type: sql
  path: sqlite:///org/platform/data/registry.db
online_store:
  type: sqlite
offline_store:
  type: file
"""


def _comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("#")]


def test_without_server_or_scoped_schema_the_platform_text_is_kept_verbatim():
    team = team_store_yaml(LOCAL_PLATFORM_YAML, offline_schema="marketing")
    assert team.endswith("\n" + LOCAL_PLATFORM_YAML)
    assert _comments(team) == [
        "# Shared settings, copied from the platform repo's feature_store.yaml when this repo was",
        "# created: the registry and online store are the platform's. Keep them in step with it.",
    ]
    assert team_store_yaml(PLATFORM_YAML).endswith("\n" + PLATFORM_YAML)


def test_a_registry_server_makes_the_registry_remote_with_an_oidc_token():
    team = team_store_yaml(PLATFORM_YAML, registry_server="registry.acme.io:6570")
    config, platform = yaml.safe_load(team), yaml.safe_load(PLATFORM_YAML)
    assert config["registry"] == {"registry_type": "remote", "path": "registry.acme.io:6570"}
    assert config["auth"] == {"type": "oidc", "token_env_var": "FEAST_REGISTRY_TOKEN"}
    assert list(config) == [*platform, "auth"]
    for setting in ("project", "provider", "online_store", "offline_store"):
        assert config[setting] == platform[setting], setting
    assert _comments(team)[2:] == [
        "# The registry is reached through the platform's registry server, which enforces the",
        "# federation policy; the access token comes from $FEAST_REGISTRY_TOKEN.",
    ]


def test_the_offline_store_is_scoped_to_the_teams_schema():
    team = team_store_yaml(PLATFORM_YAML, offline_schema="marketing")
    config, platform = yaml.safe_load(team), yaml.safe_load(PLATFORM_YAML)
    assert config["offline_store"]["db_schema"] == "marketing"
    assert config["online_store"]["db_schema"] == "feast_online"  # only the offline store
    config["offline_store"]["db_schema"] = "platform"
    assert config == platform
    assert _comments(team)[2:] == ["# Offline work lands in this team's own schema, marketing."]


@pytest.mark.parametrize(
    "offline, setting, platform_value, team_value",
    [
        ("snowflake.offline", "schema", "platform", "risk_dw"),
        ("bigquery", "dataset", "platform", "risk_dw"),
        (
            "redshift",
            "s3_staging_location",
            "${FEAST_REDSHIFT_STAGING}/platform",
            "${FEAST_REDSHIFT_STAGING}/risk_dw",
        ),
    ],
)
def test_other_offline_stores_scope_their_own_setting(offline, setting, platform_value, team_value):
    platform = f'offline_store:\n  type: {offline}\n  {setting}: "{platform_value}"\n'
    config = yaml.safe_load(team_store_yaml(platform, offline_schema="risk_dw"))
    assert config["offline_store"] == {"type": offline, setting: team_value}


def test_environment_variables_stay_quoted_when_the_yaml_is_rewritten():
    team = team_store_yaml(PLATFORM_YAML, registry_server="registry.acme.io:6570",
                           offline_schema="marketing")  # fmt: skip
    lines = team.splitlines()
    # Unquoted in the platform's file; quoted here, so an empty variable is not YAML null.
    assert lines.count('  host: "${FEAST_PG_HOST}"') == 2
    assert lines.count('  password: "${FEAST_PG_PASSWORD}"') == 2
    assert "  db_schema: marketing" in lines and "  type: postgres" in lines  # plain values
    config = yaml.safe_load(team.replace("${FEAST_PG_HOST}", ""))
    assert config["online_store"]["host"] == "" and config["offline_store"]["host"] == ""


@pytest.mark.parametrize(
    "address",
    ["registry.acme.io", "http://registry.acme.io:6570", "registry.acme.io:123456", "a b:1", ":80"],
)
def test_a_malformed_registry_server_address_is_refused(address):
    with pytest.raises(FederationError) as refused:
        team_store_yaml(PLATFORM_YAML, registry_server=address)
    assert str(refused.value) == f"registry server {address!r}: expected HOST:PORT"


# --- breakages and dangling: what platform changes break in team objects ---------------

USER_FEATURES = ViewShape(
    "user_features",
    frozenset({"age", "balance"}),
    entities=frozenset({"user"}),
    sources=frozenset({"user_source"}),
)
BEFORE = PlatformState(
    views={"user_features": USER_FEATURES},
    entities=frozenset({"user"}),
    sources=frozenset({"user_source"}),
)
SERVICE = Usage(
    Definition(FEATURE_SERVICE, "marketing_model"), "marketing", "user_features", frozenset({"age"})
)
ODFV = Usage(
    Definition(ON_DEMAND_FEATURE_VIEW, "risk_score"),
    "risk",
    "user_features",
    frozenset({"age", "balance"}),
)
BOTH = "FeatureService marketing_model (team marketing), OnDemandFeatureView risk_score (team risk)"


def _after(features=("age", "balance"), entities=("user",), sources=("user_source",), **view):
    shape = ViewShape(
        "user_features",
        frozenset(features),
        entities=frozenset(view.get("view_entities", ("user",))),
        sources=frozenset(view.get("view_sources", ("user_source",))),
    )
    return PlatformState({"user_features": shape}, frozenset(entities), frozenset(sources))


def test_an_unchanged_platform_breaks_nothing():
    assert breakages([SERVICE, ODFV], BEFORE, _after()) == []
    assert breakages([SERVICE, ODFV], BEFORE, BEFORE) == []


def test_dropping_a_feature_breaks_only_its_readers():
    assert breakages([SERVICE, ODFV], BEFORE, _after(features=["age"])) == [
        "dropping feature balance from FeatureView user_features "
        "breaks OnDemandFeatureView risk_score (team risk)"
    ]
    assert breakages([ODFV, SERVICE], BEFORE, _after(features=["balance", "height"])) == [
        f"dropping feature age from FeatureView user_features breaks {BOTH}"
    ]


def test_deleting_a_view_breaks_every_reader():
    after = PlatformState({}, frozenset({"user"}), frozenset({"user_source"}))
    assert breakages([ODFV, SERVICE], BEFORE, after) == [
        f"deleting FeatureView user_features breaks {BOTH}"
    ]


def test_deleting_what_a_view_still_needs_breaks_its_readers():
    assert breakages([SERVICE], BEFORE, _after(entities=[])) == [
        "deleting Entity user, which FeatureView user_features needs, "
        "breaks FeatureService marketing_model (team marketing)"
    ]
    assert breakages([SERVICE], BEFORE, _after(sources=[])) == [
        "deleting DataSource user_source, which FeatureView user_features needs, "
        "breaks FeatureService marketing_model (team marketing)"
    ]
    # Nothing breaks when the view stops needing what is deleted.
    assert breakages([SERVICE], BEFORE, _after(entities=[], view_entities=[])) == []


def test_breakages_are_one_sorted_line_per_problem():
    after = _after(features=["age"], entities=[], sources=[])
    assert breakages([SERVICE, ODFV], BEFORE, after) == [
        f"deleting DataSource user_source, which FeatureView user_features needs, breaks {BOTH}",
        f"deleting Entity user, which FeatureView user_features needs, breaks {BOTH}",
        "dropping feature balance from FeatureView user_features "
        "breaks OnDemandFeatureView risk_score (team risk)",
    ]


def test_views_at_risk_are_the_views_of_every_breakage():
    assert views_at_risk(BEFORE, _after()) == frozenset()
    assert views_at_risk(BEFORE, _after(features=["age", "height"])) == {"user_features"}
    assert views_at_risk(BEFORE, _after(entities=[], view_entities=[])) == frozenset()
    assert views_at_risk(BEFORE, PlatformState({}, frozenset(), frozenset())) == {"user_features"}


_NAMES = st.sampled_from(["a", "b", "c"])
_SETS = st.frozensets(_NAMES)


@st.composite
def _states(draw):
    views = {
        name: ViewShape(name, draw(_SETS), entities=draw(_SETS), sources=draw(_SETS))
        for name in draw(st.lists(st.sampled_from(["v1", "v2", "v3"]), unique=True))
    }
    return PlatformState(views, draw(_SETS), draw(_SETS))


_USAGES = st.lists(
    st.builds(
        Usage,
        st.sampled_from([SERVICE.user, ODFV.user]),
        st.just("marketing"),
        st.sampled_from(["v1", "v2", "v3"]),
        _SETS,
        st.sampled_from([None, 0]),
    )
)


@settings(max_examples=100, deadline=None)
@given(before=_states(), after=_states(), usages=_USAGES)
def test_only_usages_of_views_at_risk_can_break(before, after, usages):
    """Delete protection reads no usage when no view is at risk: it loses no breakage."""
    at_risk = views_at_risk(before, after)
    kept = [usage for usage in usages if usage.view in at_risk]
    assert breakages(kept, before, after) == breakages(usages, before, after)


def test_what_was_broken_before_the_change_is_not_this_changes_breakage():
    ghost = Usage(SERVICE.user, "marketing", "user_features", frozenset({"age", "ghost"}))
    missing_view = Usage(ODFV.user, "risk", "driver_stats", frozenset({"trips"}))
    assert breakages([ghost, missing_view], BEFORE, _after()) == []
    assert breakages([ghost], BEFORE, _after(features=["balance"])) == [
        "dropping feature age from FeatureView user_features "
        "breaks FeatureService marketing_model (team marketing)"
    ]


def test_dangling_names_each_read_of_a_missing_view_or_feature():
    views = {"user_features": ViewShape("user_features", frozenset({"age"}))}
    lost_view = Usage(
        Definition(FEATURE_SERVICE, "risk_model"), "risk", "driver_stats", frozenset({"trips"})
    )
    lacking = Usage(ODFV.user, "risk", "user_features", frozenset({"balance", "age", "income"}))
    assert dangling([lacking, SERVICE, lost_view], views) == [
        (lost_view, "reads driver_stats, which does not exist"),
        (lacking, "reads balance, income from user_features, which lacks it"),
    ]
    assert dangling([SERVICE], views) == []
    assert dangling([SERVICE], {}) == [(SERVICE, "reads user_features, which does not exist")]


# --- starter views ------------------------------------------------------------------------

STARTER_VIEWS = {
    "class": {"fields": {"tier": "Int64"}},
    "merchant_weights": {"fields": {"request_weight": "Float64", "volume": "Int64"}},
    "merchant_stats": {"fields": {"volume": "Int64", "name": "String"}},
}


@pytest.mark.parametrize(
    ("view", "reason"),
    [
        ("class", "the generic starter names a Python variable after the view"),
        ("merchant_weights", "the view has a field request_weight, a name the generic starter"),
        ("ghost", "not a view of the platform at ../platform (its views: class,"),
    ],
)
def test_a_starter_view_the_generic_starter_cannot_build_on_is_refused(view, reason):
    from feast_federation.onboarding.starters import check_starter_view

    with pytest.raises(FederationError) as refused:
        check_starter_view(STARTER_VIEWS, view, "at ../platform")
    assert reason in str(refused.value) and "\n" not in str(refused.value)


def test_the_default_starter_view_is_the_first_the_generic_starter_can_build_on():
    from feast_federation.onboarding.starters import check_starter_view, default_starter_view

    view = default_starter_view(STARTER_VIEWS)
    assert view == "merchant_stats"
    check_starter_view(STARTER_VIEWS, view, "at ../platform")
    assert default_starter_view({**STARTER_VIEWS, "driver_stats": {}}) == "driver_stats"


# --- issue 24: policy keys given twice, values in markdown, torn log lines ---------------


@pytest.mark.parametrize(
    "text, key, lines",
    [
        ("project: a\nproject: b\n", "project", (1, 2)),
        ("project: a\nteams:\n  ml:\n    owners: [a]\n    owners: [b]\n", "owners", (4, 5)),
        ("project: a\nteams: {ml: {}, ml: {}}\n", "ml", (2, 2)),
    ],
)
def test_the_policy_reader_refuses_a_key_given_twice(text, key, lines):
    from feast_federation.errors import FederationError
    from feast_federation.rules.policy import read_yaml

    with pytest.raises(FederationError) as refused:
        read_yaml(text, "federation.yaml")
    assert str(refused.value) == (
        f"federation.yaml: key {key} appears twice in one mapping (lines {lines[0]} and "
        f"{lines[1]}); YAML would keep only the last: remove one"
    )
    assert read_yaml("a: {b: 1}\nc: {b: 2}\n", "x") == {"a": {"b": 1}, "c": {"b": 2}}


def test_markdown_values_cannot_end_a_row_a_cell_or_the_summary_early():
    from feast_federation.rules.values import markdown_code, markdown_fence, markdown_text

    hostile = "a|b\n<!-- hide `code` [link](x) *em*\n- item"
    for shown in (markdown_text(hostile), markdown_code(hostile)):
        assert "\n" not in shown and not set("|<>`*[]") & set(shown.replace("<code>", "").replace(
            "</code>", "")), shown  # fmt: skip
    assert markdown_text("- item").startswith("&#45;") and markdown_text("12. x") == "12&#46; x"
    assert markdown_code("marketing_model") == "<code>marketing_model</code>"
    assert markdown_fence("```` inside") == "`````"


@pytest.mark.slow  # the transaction package reads the registry, through Feast
def test_a_torn_line_of_the_apply_log_is_skipped_and_keeps_its_id(tmp_path):
    import json

    from feast_federation.files import append_line, read_lines
    from feast_federation.transaction.applylog import _parsed

    log = tmp_path / "registry.pb.apply-log.jsonl"
    entry = {"at": "2026-01-01T00:00:00.000+00:00", "actor": "ci", "owner": "ml",
             "action": "apply", "changes": []}  # fmt: skip
    append_line(log, json.dumps(entry))
    with log.open("a") as handle:
        handle.write('{"at": "2026-01-01T00:00:01.000+00:00", "actor": "ci", "own')  # torn
    append_line(log, json.dumps(entry | {"owner": "risk"}))
    assert [number for number, _ in read_lines(log)] == [1, 2, 3]
    assert [(e["id"], e["owner"]) for e in _parsed(read_lines(log))] == [(1, "ml"), (3, "risk")]
    # A torn line that still parses (a number, an object cut before its last fields) too.
    assert _parsed([(1, "7"), (2, '{"at": "x", "actor": "ci"}')]) == []
