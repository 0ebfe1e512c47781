"""Replacing feature-server workers without dropping or stalling a request. No Feast here.

Stock ``feast serve`` lets gunicorn retire a worker after ``max_requests``: the worker closes
its keep-alive connections under clients that are sending (connection resets), and with one
worker nothing serves while the new one loads Feast and the registry (a 1-2 s stall). When
several workers retire together the same happens with any number of them.

Here gunicorn's own limit is off and each worker retires itself, one at a time across the
server: a worker past its limit takes a lock shared by all workers, and only while every
worker is warm; it then answers ``Connection: close`` for a short drain, so clients open
their next connection to a worker that stays, and only then exits gracefully. Its
replacement warms up (collects and freezes the startup heap, so the first full garbage
collection does not land on a request) before it accepts a connection.
"""

from __future__ import annotations

import fcntl
import gc
import os
import random
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DRAIN_SECONDS = 0.5  # long enough for every client mid-conversation to get a closing answer


@dataclass(frozen=True)
class RecyclePolicy:
    state_dir: Path  # where workers announce they are warm, and the one-at-a-time lock
    workers: int
    max_requests: int  # 0: never replace a worker
    jitter: int

    def limit(self) -> int:
        """This worker's own limit: jittered, so workers do not all reach it at once."""
        return self.max_requests + random.randint(0, self.jitter) if self.max_requests else 0


class RecyclingApp:
    """ASGI middleware around Feast's app; one instance lives in each worker process."""

    def __init__(self, app, policy: RecyclePolicy, warm_up: Callable[[], None] = lambda: None):
        self.app, self.policy, self.warm_up = app, policy, warm_up
        self.served = 0
        self.limit = 0
        self.retiring = False
        self._lock_file = None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self.app(scope, receive, self._after_startup(send))
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        self.served += 1
        if self.limit and self.served >= self.limit and not self.retiring:
            self._try_to_retire()
        return await self.app(scope, receive, self._closing(send) if self.retiring else send)

    def _after_startup(self, send):
        async def forward(message):
            if message["type"] == "lifespan.startup.complete":
                self._warm()  # before uvicorn opens the socket to this worker
            elif message["type"].startswith("lifespan.shutdown"):
                self._mark_ready(False)
            await send(message)

        return forward

    def _warm(self) -> None:
        self.warm_up()
        gc.collect()
        gc.freeze()  # the startup heap never needs scanning again: no 0.3 s collections later
        self.limit = self.policy.limit()
        self._mark_ready(True)

    def _closing(self, send):
        async def forward(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        return forward

    def _try_to_retire(self) -> None:
        """Retire only when no other worker is being replaced and every worker is warm."""
        lock = open(self.policy.state_dir / "retiring.lock", "w")  # noqa: SIM115 - held to exit
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            return
        if warm_workers(self.policy.state_dir) < self.policy.workers:
            lock.close()  # a replacement is still warming up: keep serving, try again later
            return
        self._lock_file = lock  # released by the kernel when this process exits
        self.retiring = True
        self._mark_ready(False)
        timer = threading.Timer(DRAIN_SECONDS, os.kill, (os.getpid(), signal.SIGTERM))
        timer.daemon = True
        timer.start()  # uvicorn's SIGTERM: stop accepting, finish requests, then exit

    def _mark_ready(self, ready: bool) -> None:
        marker = self.policy.state_dir / f"warm.{os.getpid()}"
        if ready:
            marker.touch()
        else:
            marker.unlink(missing_ok=True)


def warm_workers(state_dir: Path) -> int:
    """Workers that announced they are warm and are still alive."""
    count = 0
    for marker in state_dir.glob("warm.*"):
        try:
            os.kill(int(marker.suffix[1:]), 0)
        except (ProcessLookupError, ValueError):
            marker.unlink(missing_ok=True)  # a worker that died without cleaning up
            continue
        count += 1
    return count
