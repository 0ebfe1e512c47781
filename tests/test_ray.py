"""End to end on Ray, run on this machine: the platform's parquet sources read by Ray's offline
store, the platform sync, materialization through Feast's Ray engine, the team applies,
online features and training rows through each team's service (with its ODFV), equal to the
same org on the local default with the same data.

No cluster is named (FEAST_RAY_ADDRESS unset): the test starts one Ray runtime for the whole
module, bounded to this machine's two cores, and Feast uses it.
"""

from __future__ import annotations

import shutil
import tempfile

import pytest

from support.engines import (
    SERVICES,
    bootstrap,
    engine_environment,
    guarded_and_recovered,
    same_data,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def orgs(tmp_path_factory):
    import ray
    from feast.infra.ray_initializer import shutdown_ray

    scratch = tmp_path_factory.mktemp("ray")
    # Ray's sockets live under its temp folder, and a socket path holds 107 bytes at most:
    # pytest's folders can be deeper than that leaves room for.
    sockets = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    with engine_environment(scratch / "cache"):
        ray.init(
            num_cpus=2, include_dashboard=False, object_store_memory=256 * 1024**2,
            _temp_dir=sockets, log_to_driver=False,
        )  # fmt: skip
        try:
            ray_org = bootstrap(scratch / "ray-org", "ray", "ray")  # its sample parquet files
            local = bootstrap(scratch / "local", "file")
            same_data(ray_org, local)
            for org in (ray_org, local):
                org.apply()
            yield ray_org, local
        finally:
            shutdown_ray()  # also clears Feast's record of the runtime
            shutil.rmtree(sockets, ignore_errors=True)


def test_materialization_runs_on_the_ray_engine_of_this_machine(orgs):
    import ray

    from feast_federation.registry import open_store

    ray_org, _ = orgs
    synced, materialized, *team_applies = ray_org.results
    assert materialized == 3 and synced.changes and all(plan.changes for plan in team_applies)
    store = open_store(ray_org.platform)
    assert store.config.batch_engine.type == "ray.engine"
    assert store.config.offline_store.ray_address == ""  # no FEAST_RAY_ADDRESS: this machine
    assert ray.is_initialized() and ray.cluster_resources()["CPU"] == 2


@pytest.mark.parametrize("team", list(SERVICES))
def test_online_features_through_a_team_service_equal_the_local_default(orgs, team):
    ray_org, local = orgs
    served = ray_org.online(team)
    assert served == local.online(team)
    name, key, ids, request, values = SERVICES[team]
    view_feature = {"marketing": "total_purchases", "risk": "age"}[team]
    assert served[key] == ids and None not in served[view_feature][:2]  # materialized


@pytest.mark.parametrize("team", list(SERVICES))
def test_training_rows_through_a_team_service_equal_the_local_default(orgs, team):
    import pandas as pd

    ray_org, local = orgs
    at = pd.Timestamp.now(tz="UTC").floor("s")
    rows = ray_org.training(team, at)
    pd.testing.assert_frame_equal(rows, local.training(team, at), check_dtype=False)
    odfv_columns = {"marketing": "purchase_propensity_score", "risk": "spend_ratio"}
    assert rows[odfv_columns[team]].notna().all()  # the ODFV ran on Ray's rows
    from feast_federation import feature_store

    storage = ray_org.root.parent / "cache" / "feast-federation" / "acme" / "ray-storage"
    # Each team stores what Ray's offline store writes (results, saved datasets) apart.
    assert feature_store(ray_org.teams[team]).config.offline_store.storage_path == str(
        storage / team
    )


def test_materialize_refuses_an_unfinished_sync_and_runs_once_the_apply_finished_it(orgs):
    refused, materialized = guarded_and_recovered(orgs[0])
    assert refused.exit_code == 1 and refused.output.strip().endswith(
        "did not finish; run the platform apply, then materialize"
    ), refused.output
    # The apply's sync loaded nothing new, and Feast 0.67's Ray offline store fails on an empty
    # window (Spark's does not, tests/test_spark.py): one line, past the guard, not a traceback.
    assert materialized.exit_code == 1, materialized.output
    assert (
        "error: Ray's offline store found no rows in a view's materialization window and "
        "Feast 0.67 fails on an empty window; nothing new to load: materialize again once the "
        "sources hold rows newer than the last materialization"
    ) in materialized.output.splitlines(), materialized.output
    assert "Traceback" not in materialized.output
