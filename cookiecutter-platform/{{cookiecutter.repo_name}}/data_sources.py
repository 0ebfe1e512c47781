{%- set store = cookiecutter.offline_store -%}
{%- if store in ["file", "duckdb", "ray"] -%}
"""Batch sources: parquet files at the platform's data location{% if store == "ray" %}, read by Ray{% endif %}.

The location is `data-location` in pyproject.toml (or $FEAST_DATA_LOCATION): a folder outside
this repo, or an s3:// or gs:// URI. The registry stores each source's path, so it never
depends on where this repo is checked out; `feast-federation check` refuses a path inside
the checkout. scripts/generate_sample_data.py writes sample files there.
"""

from feast import FileSource
from feast_federation import data_location

DATA_LOCATION = data_location(__file__)


def _parquet_source(name: str) -> FileSource:
    return FileSource(
        name=f"{name}_source",
        path=f"{DATA_LOCATION}/{name}.parquet",
        timestamp_field="event_timestamp",
        created_timestamp_column="created",
    )


user_features_source = _parquet_source("user_features")
driver_stats_source = _parquet_source("driver_stats")
customer_features_source = _parquet_source("customer_features")
{%- else -%}
{%- set source_class = {"postgres": "PostgreSQLSource", "snowflake": "SnowflakeSource",
                        "bigquery": "BigQuerySource", "redshift": "RedshiftSource",
                        "spark": "SparkSource"}[store] -%}
{%- set where = {"postgres": "the `platform` schema of the offline PostgreSQL database",
                 "snowflake": "the `platform` schema of the offline Snowflake database",
                 "bigquery": "the `platform` dataset of the offline BigQuery project",
                 "redshift": "the `platform` schema of the offline Redshift database",
                 "spark": "the `platform` database of the Spark metastore"}[store] -%}
"""Batch sources: tables in {{ where }}.
{%- if store in ["postgres", "spark"] %}

`python scripts/generate_sample_data.py --{{ store }}` loads sample rows into them.
{% endif %}"""

{% if store == "postgres" -%}
from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
    PostgreSQLSource,
)
{%- elif store == "spark" -%}
from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import SparkSource
{%- else -%}
from feast import {{ source_class }}
{%- endif %}


def _table_source(name: str) -> {{ source_class }}:
    return {{ source_class }}(
        name=f"{name}_source",
{%- if store in ["snowflake", "redshift"] %}
        schema="platform",
        table=name,
        timestamp_field="event_timestamp",
        created_timestamp_column="created",
{%- else %}
        table=f"platform.{name}",
        timestamp_field="event_timestamp",
        created_timestamp_column="created",
{%- endif %}
    )


user_features_source = _table_source("user_features")
driver_stats_source = _table_source("driver_stats")
customer_features_source = _table_source("customer_features")
{%- endif %}
