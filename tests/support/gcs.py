"""A throwaway GCS emulator on 127.0.0.1 for tests (gcp-storage-emulator), with one bucket."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from support import free_port

BUCKET = "acme-feast"


@contextlib.contextmanager
def gcs_on_loopback() -> Iterator[dict[str, str]]:
    """Yield the environment that points google-cloud-storage at a fresh emulator."""
    from gcp_storage_emulator.server import create_server

    logging.getLogger("gcp_storage_emulator").setLevel(logging.WARNING)
    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
    server.start()
    try:
        yield {
            "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{port}",
            "GOOGLE_CLOUD_PROJECT": "acme-ml",
            "FEAST_REGISTRY_BUCKET": BUCKET,
            "FEAST_FEDERATION_SERIALIZED_BY_CI": "1",
        }
    finally:
        server.stop()
