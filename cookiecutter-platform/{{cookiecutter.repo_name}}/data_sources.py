{%- if cookiecutter.offline_store == "postgres" -%}
"""Batch sources: tables in the `platform` schema of the offline PostgreSQL database.

`python scripts/generate_sample_data.py --postgres` loads sample rows into them.
"""

from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
    PostgreSQLSource,
)


def _table_source(name: str) -> PostgreSQLSource:
    return PostgreSQLSource(
        name=f"{name}_source",
        table=f"platform.{name}",
        timestamp_field="event_timestamp",
        created_timestamp_column="created",
    )


user_features_source = _table_source("user_features")
driver_stats_source = _table_source("driver_stats")
customer_features_source = _table_source("customer_features")
{%- else -%}
"""Batch sources: the parquet files written by scripts/generate_sample_data.py.

Paths are absolute because team repos resolve a relative FileSource path against
themselves, not against this repo.
"""

from pathlib import Path

from feast import FileSource

DATA_DIR = Path(__file__).resolve().parent / "data"


def _parquet_source(name: str) -> FileSource:
    return FileSource(
        name=f"{name}_source",
        path=str(DATA_DIR / f"{name}.parquet"),
        timestamp_field="event_timestamp",
        created_timestamp_column="created",
    )


user_features_source = _parquet_source("user_features")
driver_stats_source = _parquet_source("driver_stats")
customer_features_source = _parquet_source("customer_features")
{%- endif %}
