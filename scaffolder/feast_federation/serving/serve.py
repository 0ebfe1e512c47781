"""Feast's feature server for the shared project, with settings for many teams.

The engine is stock: Feast's FastAPI app (``get_app``), its gunicorn application and its
auth managers, started as ``feast serve`` starts them. What changes is the settings and one
middleware (``recycling``): workers sized to the machine and replaced one at a time without
a dropped or stalled request, and a stated registry refresh interval that requests never
wait for.
"""

from __future__ import annotations

import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from feast_federation.errors import FederationError
from feast_federation.rules.repo import find_repo
from feast_federation.serving.recycling import RecyclePolicy, RecyclingApp

SERVER_CONFIG = "registry_server.yaml"  # the registry server's config: the store plus its auth


def default_workers() -> int:
    """One per CPU this process may use, and never fewer than two: one always serves while
    another is replaced."""
    return max(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2)


@dataclass(frozen=True)
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = 6566
    workers: int = 0  # 0: default_workers()
    max_requests: int = 1000
    max_requests_jitter: int = 500
    refresh_seconds: int = 10
    keep_alive_seconds: int = 30
    access_log: bool = False

    def check(self) -> None:
        if self.refresh_seconds < 1:
            raise FederationError(
                f"--refresh-seconds {self.refresh_seconds}: give 1 or more "
                "(a server that never refreshes would never serve a new team service)"
            )
        if self.workers == 1 and self.max_requests:
            raise FederationError(
                "--workers 1 with --max-requests: nothing would serve while the only worker "
                "is replaced; give 2 or more workers, or --max-requests 0"
            )

    @property
    def worker_count(self) -> int:
        return self.workers or default_workers()


def describe(settings: ServeSettings, project: str, auth: str, config: Path) -> str:
    """The line printed at start: what the server does, the refresh interval above all."""
    replace = (
        f"each replaced after {settings.max_requests}-"
        f"{settings.max_requests + settings.max_requests_jitter} requests, one at a time"
        if settings.max_requests
        else "never replaced"
    )
    return (
        f"Serving project {project} ({config}) on http://{settings.host}:{settings.port}: "
        f"{settings.worker_count} workers, {replace}; registry refreshed every "
        f"{settings.refresh_seconds} s, so a team's apply is served within about "
        f"{settings.refresh_seconds} s; auth: {auth}"
    )


def serve(repo_path: Path, settings: ServeSettings, announce=print) -> None:
    """Run the feature server in this process until it is stopped."""
    settings.check()
    repo = find_repo(repo_path)
    if not repo.is_platform:
        raise FederationError(f"{repo.path}: serve the platform repo; it holds every team's view")
    _check_port(settings.host, settings.port)
    store, config = _server_store(repo.path)
    _refuse_remote_registry(store, config)
    auth = store.config.auth_config.type
    announce(describe(settings, store.project, auth, config))
    _run(store, settings)


def _server_store(repo_path: Path):
    """The registry server's config where the org runs one (same store, plus its auth), so
    the feature server enforces the same Permissions; else feature_store.yaml."""
    from feast_federation.registry.feast067 import serve_from_timer
    from feast_federation.registry.store import open_store
    from feast_federation.rules.environments import store_file

    config = repo_path / SERVER_CONFIG
    if not config.is_file():
        config = store_file(repo_path)  # the chosen environment's, in an org with them
    store = open_store(repo_path, config)
    serve_from_timer(store)  # every refresh_seconds, never in a request
    return store, config


def _refuse_remote_registry(store, config: Path) -> None:
    """A feature server behind a registry server would need a token of its own to read the
    registry and another auth setting for its clients: not supported; serve where the
    registry is reachable directly, as the registry server itself runs."""
    if store.config.registry.registry_type == "remote":
        raise FederationError(
            f"{config}: registry_type: remote reaches the registry only through a registry "
            "server; run serve from a platform checkout with direct registry access (its "
            "registry_server.yaml gives the feature server the same auth)"
        )


def warm_up(store) -> None:
    """One online read in the new worker before it serves: the first read of a process pays
    about 0.3 s of lazy imports and store connections, which a client would otherwise wait."""
    try:
        view = store.list_feature_views(allow_cache=True)[0]
        entity = store.get_entity(view.entities[0], allow_registry_cache=True)
        key = entity.join_key
        dummy = "" if "STRING" in str(entity.value_type) else 0
        store.get_online_features(
            features=[f"{view.name}:{view.features[0].name}"], entity_rows=[{key: dummy}]
        )
    except Exception:  # noqa: BLE001 - warming is best effort; a real request will say what fails
        pass


def _check_port(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise FederationError(f"{host}:{port}: cannot listen there ({exc.strerror})") from None


def _run(store, settings: ServeSettings) -> None:
    from feast_federation.registry.feature_server import run_feature_server

    policy = RecyclePolicy(
        state_dir=Path(tempfile.mkdtemp(prefix="feast-federation-serve-")),
        workers=settings.worker_count,
        max_requests=settings.max_requests,
        jitter=settings.max_requests_jitter,
    )
    run_feature_server(
        store,
        lambda app: RecyclingApp(app, policy, warm_up=lambda: warm_up(store)),
        bind=f"{settings.host}:{settings.port}",
        accesslog="-" if settings.access_log else None,
        workers=settings.worker_count,
        worker_connections=1000,
        max_requests=0,  # each worker retires itself (recycling): one at a time, drained
        max_requests_jitter=0,
        keepalive=settings.keep_alive_seconds,
        registry_ttl_sec=settings.refresh_seconds,
    )
