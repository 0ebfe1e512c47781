"""An exclusive lease on an S3 file registry, held by every plan and apply that writes it.

S3 rewrites ``registry.pb`` whole and unconditionally, so two applies from different repos
lose each other's objects. The lock is an object beside it, ``registry.pb.lock``, created
with a conditional write (``If-None-Match: *``): exactly one writer succeeds, the others wait.
It holds who took it and until when; a lease left behind by a crashed apply lapses after
``LEASE_SECONDS`` and is removed with a conditional delete (``If-Match``), so two waiters
cannot both take it over. The lease is measured on the holder's clock: keep hosts in sync.

Endpoints follow Feast's S3 registry: ``FEAST_S3_ENDPOINT_URL`` when set, else boto3's own
configuration (``AWS_ENDPOINT_URL_S3``, the region and credentials chain).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import time
import uuid
from collections.abc import Iterator

from .errors import FederationError

LEASE_SECONDS = 600
WAIT_VARIABLE = "FEAST_FEDERATION_LOCK_WAIT_SECONDS"
DEFAULT_WAIT_SECONDS = 900
_CONFLICTS = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")
_MISSING = ("NoSuchKey", "404", "NotFound")


@contextlib.contextmanager
def s3_lease(registry_url: str) -> Iterator[None]:
    """Hold the lock object beside ``registry_url`` (s3://bucket/key) for the duration."""
    bucket, key = split_s3_url(registry_url)
    lock = _Lock(s3_client(registry_url), bucket, key + ".lock", registry_url)
    etag = lock.acquire(float(os.environ.get(WAIT_VARIABLE, DEFAULT_WAIT_SECONDS)))
    try:
        yield
    finally:
        lock.release(etag)


class _Lock:
    def __init__(self, client, bucket: str, key: str, registry_url: str):
        self.client, self.bucket, self.key = client, bucket, key
        self.url = f"s3://{bucket}/{key}"
        self.registry_url = registry_url

    def acquire(self, wait_seconds: float) -> str:
        deadline = time.monotonic() + wait_seconds
        holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        while True:
            etag = self._create(holder)
            if etag:
                return etag
            held = self._read()
            if held and held["expires"] < time.time():
                self._delete(held["etag"])  # a crashed holder's lease has lapsed
                continue
            if time.monotonic() > deadline:
                who = held["holder"] if held else "another apply"
                raise FederationError(
                    f"registry {self.registry_url}: the lock {self.url} is held by {who}; "
                    f"gave up after {wait_seconds:.0f} s. If no apply is running, delete "
                    "that object"
                )
            time.sleep(random.uniform(0.05, 0.5))

    def release(self, etag: str) -> None:
        self._delete(etag)

    def _create(self, holder: str) -> str | None:
        body = json.dumps({"holder": holder, "expires": time.time() + LEASE_SECONDS})
        try:
            answer = self._call(
                self.client.put_object,
                Bucket=self.bucket, Key=self.key, Body=body.encode(), IfNoneMatch="*",
            )  # fmt: skip
        except _Conflict:
            return None
        return answer["ETag"]

    def _read(self) -> dict | None:
        try:
            answer = self._call(self.client.get_object, Bucket=self.bucket, Key=self.key)
            held = json.loads(answer["Body"].read())
            return {"etag": answer["ETag"], "holder": held["holder"], "expires": held["expires"]}
        except _Missing:
            return None
        except (ValueError, KeyError):  # not ours, or half written by hand: treat as lapsed
            return {"etag": answer["ETag"], "holder": "an unreadable lock", "expires": 0}

    def _delete(self, etag: str) -> None:
        with contextlib.suppress(_Conflict, _Missing):
            self._call(self.client.delete_object, Bucket=self.bucket, Key=self.key, IfMatch=etag)

    def _call(self, method, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(**kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _CONFLICTS:
                raise _Conflict from None
            if code in _MISSING:
                raise _Missing from None
            raise self._unreachable(code) from None
        except BotoCoreError as exc:
            raise self._unreachable(str(exc)) from None

    def _unreachable(self, reason: str) -> FederationError:
        return FederationError(f"registry {self.registry_url}: lock {self.url}: {reason}")


class _Conflict(Exception):
    """Another writer holds or changed the lock object."""


class _Missing(Exception):
    """The lock object is not there."""


def split_s3_url(url: str) -> tuple[str, str]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise FederationError(f"registry {url}: expected s3://BUCKET/PATH")
    return bucket, key


def s3_client(registry_url: str):
    try:
        import boto3
    except ImportError:
        raise FederationError(
            f"registry {registry_url}: install feast[aws] for an S3 registry"
        ) from None
    return boto3.client("s3", endpoint_url=os.environ.get("FEAST_S3_ENDPOINT_URL"))
