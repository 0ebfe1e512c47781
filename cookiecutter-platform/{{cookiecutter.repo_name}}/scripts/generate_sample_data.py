{%- set files = cookiecutter.offline_store in ["file", "duckdb", "ray"] -%}
"""Write realistic sample data ending now{% if files %}: parquet files, and with --postgres or --spark the tables{% endif %}.

Timestamps end at the current hour, so `materialize-incremental` right after a bootstrap
loads online rows. Run it again to refresh them.
{%- if files %} The parquet files go to the platform's data
location (`data-location` in pyproject.toml, or $FEAST_DATA_LOCATION): a folder, or an s3://
or gs:// URI (with the cloud's credentials set).
{%- endif %} --postgres loads the same rows into the
`platform` schema of the database named by the FEAST_PG_* variables; --spark into the
`platform` database of the Spark metastore of feature_store.yaml (FEAST_SPARK_MASTER).
"""

import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
{%- if files %}
import pyarrow as pa
import pyarrow.fs
import pyarrow.parquet as pq
from feast_federation import data_location
{%- endif %}

HOURS = 7 * 24


def _timeline(ids: np.ndarray) -> pd.DataFrame:
    end = pd.Timestamp(datetime.now(timezone.utc)).floor("h")
    stamps = pd.date_range(end=end, periods=HOURS // 6, freq="6h")
    frame = pd.DataFrame(
        {"entity": np.repeat(ids, len(stamps)), "event_timestamp": np.tile(stamps, len(ids))}
    )
    frame["created"] = frame["event_timestamp"]
    return frame


def sample_tables() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(7)

    users = _timeline(np.arange(1001, 1021)).rename(columns={"entity": "user_id"})
    users["age"] = np.repeat(rng.integers(18, 80, 20), len(users) // 20)
    users["account_balance"] = rng.gamma(2.0, 400.0, len(users)).round(2)

    drivers = _timeline(np.arange(2001, 2011)).rename(columns={"entity": "driver_id"})
    drivers["conv_rate"] = rng.beta(8, 3, len(drivers)).astype("float32")
    drivers["acc_rate"] = rng.beta(12, 2, len(drivers)).astype("float32")

    customers = _timeline(np.arange(3001, 3021)).rename(columns={"entity": "customer_id"})
    customers["total_purchases"] = rng.poisson(12, len(customers))
    customers["avg_order_value"] = rng.lognormal(3.8, 0.4, len(customers)).round(2)
    return {"user_features": users, "driver_stats": drivers, "customer_features": customers}


def main() -> None:
    tables = sample_tables()
{%- if files %}
    write_parquet(tables, data_location(Path(__file__).parent))
{%- endif %}
    if "--postgres" in sys.argv:
        load_into_postgres(tables)
    if "--spark" in sys.argv:
        load_into_spark(tables)
{%- if files %}


def write_parquet(tables: dict[str, pd.DataFrame], location: str) -> None:
    """One <name>.parquet file per table at ``location``, a folder or an object-store URI."""
    filesystem, folder = pyarrow.fs.FileSystem.from_uri(location)
    filesystem.create_dir(folder, recursive=True)
    for name, frame in tables.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, f"{folder}/{name}.parquet", filesystem=filesystem)
{%- endif %}


def load_into_postgres(tables: dict[str, pd.DataFrame]) -> None:
    import sqlalchemy

    env = os.environ
    url = (
        f"postgresql+psycopg://{env['FEAST_PG_USER']}:{env.get('FEAST_PG_PASSWORD', '')}"
        f"@{env['FEAST_PG_HOST']}:{env['FEAST_PG_PORT']}/{env['FEAST_PG_DATABASE']}"
    )
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("CREATE SCHEMA IF NOT EXISTS platform"))
    for name, frame in tables.items():
        frame.to_sql(name, engine, schema="platform", if_exists="replace", index=False)


def load_into_spark(tables: dict[str, pd.DataFrame]) -> None:
    from feast_federation import feature_store
    from pyspark.sql import SparkSession

    # The Spark session takes the settings of the repo's feature_store.yaml.
    feature_store(Path(__file__).resolve().parents[1])
    spark = SparkSession.builder.getOrCreate()
    spark.sql("CREATE DATABASE IF NOT EXISTS platform")
    for name, frame in tables.items():
        spark.createDataFrame(frame).write.mode("overwrite").saveAsTable(f"platform.{name}")


if __name__ == "__main__":
    main()
