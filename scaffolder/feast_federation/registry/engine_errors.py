"""One line for each way a real engine fails: unreachable, refused login, missing database or
bucket, timeout, on PostgreSQL, SQLite, Redis, S3, DynamoDB and GCS; a read-only login on a
registry that has no tables yet; a source's data file missing where the registry says it is;
Spark that does not start or refuses a setting, a Spark master or Ray cluster that gives up.

Feast lets the drivers' exceptions through: an unreachable PostgreSQL registry prints about
130 lines of SQLAlchemy, an unreachable Redis a redis-py traceback. ``explain`` reads the
exception chain and says which engine failed, how, and what to check, or returns None for
anything it does not recognize (which then stays a traceback: a bug, not a user mistake).
Registry-server refusals are server_errors' job; this module never imports a driver.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

# libpq waits without limit for a host that drops packets; ten seconds is plenty for a
# database that is up, and PGCONNECT_TIMEOUT set by the caller still wins.
DEFAULT_PG_CONNECT_TIMEOUT = "10"

_PG_SERVER = re.compile(r'server at "([^"]+)"(?: \([^)]*\))?, port (\d+) failed: (.*)')
_PG_DOWN = ("Connection refused", "No route to host", "Name or service not known",
            "could not translate host name", "Network is unreachable")  # fmt: skip
_REDIS_DOWN = re.compile(r"Error \d+ connecting to ([^\s]+?)\.? ([^.]+)")
_S3_OPERATIONS = re.compile(r"(Object|Bucket|Multipart|ListObjects)")
# DuckDB's word for a data file that is not there.
_DUCKDB_NO_FILE = re.compile(r'No files found that match the pattern "([^"]+)"')


def limit_connect_timeouts() -> None:
    os.environ.setdefault("PGCONNECT_TIMEOUT", DEFAULT_PG_CONNECT_TIMEOUT)


def explain(exc: BaseException) -> str | None:
    """One line for an engine failure anywhere in ``exc``'s chain, or None."""
    for link in _chain(exc):
        for rule in (_postgres, _sqlite, _redis, _aws, _gcs, _data_file, _spark, _ray):
            message = rule(link)
            if message:
                return message
    return None


def is_database_locked(exc: BaseException) -> bool:
    """SQLite's busy error ("database is locked") anywhere in ``exc``'s chain: another
    writer holds the database, and the write may be retried."""
    for link in _chain(exc):
        if getattr(link, "sqlite_errorname", None) == "SQLITE_BUSY":
            return True
        # Python 3.10's sqlite3 has no error names; SQLAlchemy wraps the driver's error.
        if _module(link) in ("sqlite3", "sqlalchemy") and "database is locked" in str(link):
            return True
    return False


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _module(exc: BaseException) -> str:
    return type(exc).__module__.split(".")[0]


def _postgres(exc: BaseException) -> str | None:
    if _module(exc) != "psycopg":
        return None
    text = " ".join(str(exc).split())
    server = _PG_SERVER.search(text)
    where = f"PostgreSQL at {server[1]}:{server[2]}" if server else "PostgreSQL"
    detail = server[3] if server else text
    user = re.search(r'for user "([^"]+)"|role "([^"]+)" does not exist', detail)
    database = re.search(r'database "([^"]+)" does not exist', detail)
    if "timeout expired" in text:
        seconds = os.environ.get("PGCONNECT_TIMEOUT", DEFAULT_PG_CONNECT_TIMEOUT)
        return (
            f"{where} did not answer within {seconds} s (PGCONNECT_TIMEOUT); check "
            "FEAST_PG_HOST, FEAST_PG_PORT and the network between here and the server"
        )
    if user:
        return (
            f"{where} refused the login of user {user[1] or user[2]}; check FEAST_PG_USER "
            "and FEAST_PG_PASSWORD"
        )
    if database:
        return f"{where} has no database {database[1]}; create it or fix FEAST_PG_DATABASE"
    if type(exc).__name__ == "InsufficientPrivilege" and "denied for schema public" in detail:
        return (
            f"{where} refused to create the registry's tables (permission denied for schema "
            "public): the registry was never synced and these credentials are read-only; run "
            "the first platform sync with the write credentials, then check again"
        )
    reason = next((sign.lower() for sign in _PG_DOWN if sign in detail), None)
    if reason:
        return (
            f"{where} is unreachable ({reason}); check FEAST_PG_HOST and FEAST_PG_PORT and "
            "that the server is running"
        )
    return None


def _data_file(exc: BaseException) -> str | None:
    """A source's parquet file missing (pandas and dask, or DuckDB) at the path the registry
    stores for it."""
    if isinstance(exc, FileNotFoundError):
        path = exc.filename or str(exc).strip().splitlines()[-1].removeprefix("Original Message: ")
    else:
        found = _DUCKDB_NO_FILE.search(str(exc)) if _module(exc) == "_duckdb" else None
        path = found[1] if found else ""
    if not str(path).endswith(".parquet"):
        return None
    return (
        f"the data file {path} is not there; the registry's sources read the platform's data "
        "location as the last sync stored it, and every machine that materializes or "
        "retrieves must reach it at that path"
    )


def _sqlite(exc: BaseException) -> str | None:
    if _module(exc) != "sqlite3":
        return None
    if "unable to open database file" in str(exc):
        return (
            "SQLite cannot open the database file; check that its directory exists and is writable"
        )
    if "database disk image is malformed" in str(exc) or "file is not a database" in str(exc):
        return (
            f"the SQLite registry database is damaged ({str(exc).strip()}); restore it from a "
            "backup (feast-federation restore PLATFORM_REPO --input FILE, into a fresh "
            "database) or from your copy of the file"
        )
    return None


def _redis(exc: BaseException) -> str | None:
    if _module(exc) != "redis":
        return None
    text = " ".join(str(exc).split())
    down = _REDIS_DOWN.search(text)
    if type(exc).__name__ == "AuthenticationError" or "WRONGPASS" in text or "NOAUTH" in text:
        return "Redis refused the login; check the password in FEAST_REDIS_CONNECTION"
    if "Timeout" in type(exc).__name__:
        return "Redis did not answer in time; check FEAST_REDIS_CONNECTION and the network"
    if down:
        return (
            f"Redis at {down[1]} is unreachable ({down[2].strip().lower()}); check "
            "FEAST_REDIS_CONNECTION and that the server is running"
        )
    return None


def _aws(exc: BaseException) -> str | None:
    if _module(exc) != "botocore":
        return None
    kind = type(exc).__name__
    endpoint = getattr(exc, "kwargs", {}).get("endpoint_url", "")
    if kind in ("EndpointConnectionError", "ConnectionClosedError"):
        return (
            f"AWS endpoint {endpoint} is unreachable; check AWS_ENDPOINT_URL and AWS_REGION "
            "and the network"
        )
    if kind in ("ConnectTimeoutError", "ReadTimeoutError"):
        return f"AWS endpoint {endpoint} did not answer in time; check the network"
    if kind in ("NoCredentialsError", "PartialCredentialsError"):
        return "AWS has no credentials here; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if kind != "ClientError" and not hasattr(exc, "response"):
        return None
    return _aws_refusal(exc)


def _aws_refusal(exc) -> str | None:
    error = getattr(exc, "response", {}).get("Error", {})
    code, operation = str(error.get("Code", "")), getattr(exc, "operation_name", "")
    service = "S3" if _S3_OPERATIONS.search(operation) else "DynamoDB"
    if code == "NoSuchBucket":
        bucket = error.get("BucketName") or "the registry bucket"
        return f"S3 bucket {bucket} does not exist; create it or fix FEAST_REGISTRY_BUCKET"
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "UnrecognizedClientException",
                "AccessDenied", "AccessDeniedException", "ExpiredToken"):  # fmt: skip
        return f"{service} refused the credentials ({code}); check the AWS credentials"
    if code == "ResourceNotFoundException":
        return (
            f"DynamoDB has no table for this project ({error.get('Message', code)}); "
            "run the platform apply, which creates the online tables"
        )
    return None


def _gcs(exc: BaseException) -> str | None:
    module = type(exc).__module__
    text = " ".join(str(exc).split())
    if module.startswith("google.api_core") and type(exc).__name__ == "NotFound":
        bucket = re.search(r"/b/([^/?\s]+)", text)
        name = bucket[1] if bucket else "the registry bucket"
        return f"GCS bucket {name} does not exist; create it or fix FEAST_REGISTRY_BUCKET"
    if module.startswith("google.auth") and "credentials" in text.lower():
        return "GCS has no credentials here; set GOOGLE_APPLICATION_CREDENTIALS"
    return None


def _spark(exc: BaseException) -> str | None:
    if _module(exc) not in ("pyspark", "py4j"):
        return None
    first = (str(exc).strip().splitlines() or [""])[0]
    if "JAVA_GATEWAY_EXITED" in first:
        return (
            "Spark's Java process exited as it started (Java's reason is printed above); check "
            "FEAST_SPARK_MASTER and offline_store.spark_conf in feature_store.yaml"
        )
    refused = re.search(r"\[INVALID_CONF_VALUE[.\w]*\] (.*?)\.?(?: SQLSTATE: \w+)?$", first)
    if refused:
        return f"Spark refused a setting: {refused[1]}; fix offline_store.spark_conf"
    if "stopped SparkContext" in " ".join(str(exc).split()):
        master = os.environ.get("FEAST_SPARK_MASTER") or "local[*]"
        return (
            f"the Spark master {master} stopped the application (unreachable, or it refused "
            "it: see its log); check FEAST_SPARK_MASTER and the cluster"
        )
    return None


# Feast 0.67's Ray offline store reads ``ds.schema().names`` after filtering a source to the
# materialization window; with no row in the window the schema is None.
_RAY_EMPTY_WINDOW = "Failed to load/filter dataset: 'NoneType' object has no attribute 'names'"


def _ray(exc: BaseException) -> str | None:
    if isinstance(exc, RuntimeError) and str(exc) == _RAY_EMPTY_WINDOW:
        return (
            "Ray's offline store found no rows in a view's materialization window and Feast "
            "0.67 fails on an empty window; nothing new to load: materialize again once the "
            "sources hold rows newer than the last materialization"
        )
    if _module(exc) != "ray" and not (
        isinstance(exc, ConnectionError) and "ray" in str(exc).lower()
    ):
        return None
    if isinstance(exc, ConnectionError) or "Failed to connect" in str(exc):
        address = os.environ.get("FEAST_RAY_ADDRESS") or os.environ.get("RAY_ADDRESS") or "?"
        return (
            f"the Ray cluster at {address} did not answer; check FEAST_RAY_ADDRESS and that "
            "the cluster is running"
        )
    return None
