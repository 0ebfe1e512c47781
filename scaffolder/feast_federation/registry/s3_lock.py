"""An exclusive lease on an S3 file registry, held by every plan and apply that writes it.

S3 rewrites ``registry.pb`` whole and unconditionally, so two applies from different repos
lose each other's objects. The lock is an object beside it, ``registry.pb.lock``, created
with a conditional write (``If-None-Match: *``): exactly one writer succeeds, the others wait.

The holder renews the lease every ``lease/4`` seconds (a conditional write on its own ETag),
so a live holder's lock keeps changing. A waiter takes a lock over only when its ETag has
not changed for a whole lease on the waiter's own clock (a crashed holder), and then with a
conditional delete (``If-Match``), so two waiters cannot both take it over. No clocks are
compared between hosts. A holder that finds its lock gone fails its apply with a message.

Endpoints follow Feast's S3 registry: ``FEAST_S3_ENDPOINT_URL`` when set, else boto3's own
configuration (``AWS_ENDPOINT_URL_S3``, the region and credentials chain). The endpoint must
honour conditional writes; one that ignores them is detected and refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterator

from feast_federation.errors import FederationError

LEASE_VARIABLE, DEFAULT_LEASE_SECONDS = "FEAST_FEDERATION_LOCK_LEASE_SECONDS", 120.0
WAIT_VARIABLE, DEFAULT_WAIT_SECONDS = "FEAST_FEDERATION_LOCK_WAIT_SECONDS", 900.0
_CONFLICTS = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")
_MISSING = ("NoSuchKey", "404", "NotFound")


@contextlib.contextmanager
def s3_lease(registry_url: str) -> Iterator[None]:
    """Hold the lock object beside ``registry_url`` (s3://bucket/key) for the duration."""
    lease, wait = (
        _seconds(LEASE_VARIABLE, DEFAULT_LEASE_SECONDS),
        _seconds(WAIT_VARIABLE, DEFAULT_WAIT_SECONDS),
    )
    bucket, key = split_s3_url(registry_url)
    lock = _Lock(s3_client(registry_url), bucket, key + ".lock", registry_url, lease)
    lock.acquire(wait)
    renewal = threading.Thread(target=lock.keep_renewing, daemon=True)
    renewal.start()
    try:
        yield
    finally:
        lock.release()
        renewal.join()


class _Lock:
    def __init__(self, client, bucket: str, key: str, registry_url: str, lease: float):
        self.client, self.bucket, self.key, self.lease = client, bucket, key, lease
        self.url = f"s3://{bucket}/{key}"
        self.registry_url = registry_url
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.etag: str | None = None
        self.lost = False
        self.done = threading.Event()
        self.guard = threading.Lock()  # the renewal thread and release share the ETag

    def acquire(self, wait_seconds: float) -> None:
        deadline = time.monotonic() + wait_seconds
        seen: tuple[str, float] | None = None  # (ETag, when first seen on our clock)
        while True:
            self.etag = self._put(IfNoneMatch="*")
            if self.etag:
                self._refuse_an_endpoint_without_conditions()
                return
            held = self._read()
            if held is None:
                continue
            if seen is None or seen[0] != held["etag"]:
                seen = (held["etag"], time.monotonic())
            elif time.monotonic() - seen[1] > self.lease:
                self._delete(held["etag"])  # unchanged for a whole lease: its holder is gone
                continue
            if time.monotonic() > deadline:
                raise FederationError(
                    f"registry {self.registry_url}: the lock {self.url} is held by "
                    f"{held['holder']}; gave up after {wait_seconds:.0f} s. If no apply is "
                    "running, delete that object"
                )
            time.sleep(random.uniform(0.05, 0.5))

    def keep_renewing(self) -> None:
        while not self.done.wait(self.lease / 4):
            with self.guard:
                if self.done.is_set():
                    return
                renewed = self._put(IfMatch=self.etag)
                if renewed is None:
                    self.lost = True
                    return
                self.etag = renewed

    def release(self) -> None:
        with self.guard:
            self.done.set()
            released = not self.lost and self._delete(self.etag)
        if not released:
            raise FederationError(
                f"registry {self.registry_url}: the lock {self.url} was taken over while this "
                "run held it (it could not renew its lease); run the plan again to check the "
                "registry"
            )

    def _refuse_an_endpoint_without_conditions(self) -> None:
        if self._put(IfNoneMatch="*") is not None:  # a second create must be refused
            self._delete(None)
            raise FederationError(
                f"registry {self.registry_url}: the S3 endpoint ignores conditional writes "
                "(If-None-Match), so the registry cannot be locked; use a SQL registry"
            )

    def _put(self, **condition: str) -> str | None:
        """Write our lease; its ETag, or None when the condition failed."""
        body = json.dumps({"holder": self.holder, "renewed": time.time()}).encode()
        try:
            answer = self._call(
                self.client.put_object, Bucket=self.bucket, Key=self.key, Body=body, **condition
            )
        except _Conflict:
            return None
        return answer["ETag"]

    def _read(self) -> dict | None:
        try:
            answer = self._call(self.client.get_object, Bucket=self.bucket, Key=self.key)
        except MissingObject:
            return None
        try:
            holder = str(json.loads(answer["Body"].read())["holder"])
        except (ValueError, KeyError, TypeError):
            holder = "an unreadable lock"
        return {"etag": answer["ETag"], "holder": holder}

    def _delete(self, etag: str | None) -> bool:
        """Delete the lock if it still has ``etag`` (any, if None); whether it did."""
        condition = {"IfMatch": etag} if etag else {}
        try:
            self._call(self.client.delete_object, Bucket=self.bucket, Key=self.key, **condition)
        except (_Conflict, MissingObject):
            return False
        return True

    def _call(self, method, **kwargs):
        return s3_call(self.registry_url, method, **kwargs)


class _Conflict(Exception):
    """Another writer holds or changed the lock object."""


class MissingObject(Exception):
    """The object is not there."""


def s3_call(registry_url: str, method, **kwargs):
    """Call a boto3 S3 ``method``; failures other than a failed condition (``_Conflict``) or
    a missing object (``MissingObject``) become one-line FederationErrors."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return method(**kwargs)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _CONFLICTS:
            raise _Conflict from None
        if code in _MISSING:
            raise MissingObject from None
        reason = code
    except BotoCoreError as exc:
        reason = str(exc)
    target = f"s3://{kwargs.get('Bucket')}/{kwargs.get('Key')}"
    raise FederationError(f"registry {registry_url}: {target}: {reason}") from None


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


def _seconds(variable: str, default: float) -> float:
    value = os.environ.get(variable, "")
    try:
        seconds = float(value) if value else default
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise FederationError(f"{variable}={value}: expected a number of seconds")
    return seconds
