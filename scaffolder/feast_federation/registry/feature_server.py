"""Feast's own feature server (its FastAPI app, gunicorn application and auth managers),
started as ``feast serve`` starts it, with a hook to wrap the app (``serving.recycling``)."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable

from feast_federation.registry import feast067

# Where uvicorn's workers log, in gunicorn's format.
_LOG = logging.getLogger("uvicorn.error")


async def _feast_error(request, exc):
    """Feast's own answer to a FeastError (its status and error detail), logged as one line
    when the client asked for something wrong (4xx): Feast's catch-all handler logs a whole
    traceback for it, and Starlette then logs it again as an unhandled exception. A server
    fault (5xx) keeps its traceback, once."""
    from fastapi.responses import JSONResponse

    status = exc.http_status_code()
    if status < 500:
        message = " ".join(str(exc).split())
        _LOG.warning("%s %s: %s %s: %s", request.method, request.url.path, status,
                     type(exc).__name__, message)  # fmt: skip
    else:
        _LOG.error("%s %s: %s", request.method, request.url.path, status, exc_info=exc)
    return JSONResponse(status_code=status, content=exc.to_error_detail())


def run_feature_server(store, wrap: Callable[[object], object], **gunicorn) -> None:
    """Serve ``store`` with Feast's app, each worker's app wrapped by ``wrap``, until stopped.

    ``gunicorn`` holds FeastServeApplication's options (bind, workers, registry_ttl_sec, ...).
    """
    from feast.errors import FeastError
    from feast.feature_server import FeastServeApplication
    from feast.permissions.server.utils import (
        ServerType,
        init_auth_manager,
        init_security_manager,
        str_to_auth_manager_type,
    )

    feast067.prepare_to_serve(store)  # in the server process only, before workers fork
    auth_type = str_to_auth_manager_type(store.config.auth_config.type)
    init_security_manager(auth_type=auth_type, fs=store)
    init_auth_manager(
        auth_type=auth_type, server_type=ServerType.REST, auth_config=store.config.auth_config
    )

    class Application(FeastServeApplication):
        def load(self):
            app = super().load()
            app.add_exception_handler(FeastError, _feast_error)
            return wrap(app)

    # Workers are forked from here: what this process holds, frozen, is never scanned by
    # their collections, which would touch (and so copy) every page of it in each worker.
    gc.collect()
    gc.freeze()
    Application(store=store, **gunicorn).run()
