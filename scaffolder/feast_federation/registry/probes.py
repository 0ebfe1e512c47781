"""Fetching features the way a model would, to verify an environment before promoting:
sample entity keys from a view's own offline data, online features for them, a historical
retrieval. Each probe returns what it found or the one line of what went wrong."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from feast_federation.errors import first_line
from feast_federation.registry.engine_errors import explain as explain_engine

SAMPLE_KEYS = 5
# A view without a TTL: keys from this far back (its latest rows are what materialize loads).
_NO_TTL_WINDOW = timedelta(days=3650)


class ProbeFailed(Exception):
    """A probe's call failed; the message is its one line."""


def _failure(exc: Exception) -> ProbeFailed:
    return ProbeFailed(explain_engine(exc) or f"{type(exc).__name__}: {first_line(exc)}")


def join_keys(store, view) -> list[str]:
    return [store.get_entity(entity).join_key for entity in view.entities]


def sample_keys(store, view, count: int = SAMPLE_KEYS) -> list[dict]:
    """Up to ``count`` entity keys with the newest rows in ``view``'s batch source (the rows
    materialization loads), as entity rows."""
    keys = join_keys(store, view)
    if not keys:
        return []
    source = view.batch_source
    now = datetime.now(timezone.utc)
    window = view.ttl if view.ttl and view.ttl.total_seconds() > 0 else _NO_TTL_WINDOW
    try:
        job = store._get_provider().offline_store.pull_latest_from_table_or_query(
            config=store.config, data_source=source, join_key_columns=keys,
            feature_name_columns=[], timestamp_field=source.timestamp_field,
            created_timestamp_column=source.created_timestamp_column or None,
            start_date=now - window, end_date=now,
        )  # fmt: skip
        frame = job.to_df()
    except Exception as exc:  # the offline store's own error types
        raise _failure(exc) from None
    if source.timestamp_field in frame.columns:
        frame = frame.sort_values(source.timestamp_field, ascending=False)
    rows = frame[keys].drop_duplicates().head(count).to_dict("records")
    return [{key: _plain(value) for key, value in row.items()} for row in rows]


def _plain(value):
    """numpy scalars as Python values: Feast's entity rows take plain ints and strings."""
    return value.item() if hasattr(value, "item") else value


def online(store, features, rows: list[dict]) -> dict[str, list]:
    """``features`` (a FeatureService or feature references) for ``rows``, by column."""
    try:
        return store.get_online_features(features=features, entity_rows=rows).to_dict()
    except Exception as exc:
        raise _failure(exc) from None


def historical(store, features, rows: list[dict]) -> int:
    """A point-in-time retrieval of ``features`` for ``rows`` as of now; its row count."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    frame["event_timestamp"] = pd.Timestamp(datetime.now(timezone.utc))
    try:
        return len(store.get_historical_features(entity_df=frame, features=features).to_df())
    except Exception as exc:
        raise _failure(exc) from None
