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
