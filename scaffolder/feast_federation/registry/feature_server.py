"""Feast's own feature server (its FastAPI app, gunicorn application and auth managers),
started as ``feast serve`` starts it, with a hook to wrap the app (``serving.recycling``)."""

from __future__ import annotations

from collections.abc import Callable

from feast_federation.registry import feast067


def run_feature_server(store, wrap: Callable[[object], object], **gunicorn) -> None:
    """Serve ``store`` with Feast's app, each worker's app wrapped by ``wrap``, until stopped.

    ``gunicorn`` holds FeastServeApplication's options (bind, workers, registry_ttl_sec, ...).
    """
    from feast.feature_server import FeastServeApplication
    from feast.permissions.server.utils import (
        ServerType,
        init_auth_manager,
        init_security_manager,
        str_to_auth_manager_type,
    )

    feast067.cache_feature_service_lookups()  # in the server process only, before workers fork
    auth_type = str_to_auth_manager_type(store.config.auth_config.type)
    init_security_manager(auth_type=auth_type, fs=store)
    init_auth_manager(
        auth_type=auth_type, server_type=ServerType.REST, auth_config=store.config.auth_config
    )

    class Application(FeastServeApplication):
        def load(self):
            return wrap(super().load())

    Application(store=store, **gunicorn).run()
