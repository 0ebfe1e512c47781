"""A throwaway AWS API server on 127.0.0.1 for tests: moto's S3 and DynamoDB, over HTTP.

boto3 (and so Feast) reaches it through AWS_ENDPOINT_URL, like any S3-compatible endpoint.
"""

from __future__ import annotations

import contextlib
import logging
import urllib.request
from collections.abc import Iterator

BUCKET = "acme-feast"


@contextlib.contextmanager
def aws_on_loopback() -> Iterator[dict[str, str]]:
    """Yield the environment that points boto3 at a fresh server with ``BUCKET`` in it."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # moto keeps its state per process, not per server: start from an empty account.
    urllib.request.urlopen(f"http://{host}:{port}/moto-api/reset", data=b"").close()
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "FEAST_S3_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "FEAST_REGISTRY_BUCKET": BUCKET,
    }
    client(env, "s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": env["AWS_REGION"]}
    )
    try:
        yield env
    finally:
        server.stop()


def client(env: dict[str, str], service: str):
    """A boto3 client for ``service`` on the server ``env`` points at."""
    import boto3

    return boto3.client(
        service, endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )  # fmt: skip
