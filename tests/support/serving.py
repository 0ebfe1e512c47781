"""Feature servers on 127.0.0.1 for the tests and the benchmark: start one, fetch from it."""

from __future__ import annotations

import contextlib
import http.client
import json
import subprocess
import sys
import time
from pathlib import Path

SERVICE_ROW = {"customer_id": [3001], "current_cart_value": [42.0]}  # marketing's starter


def fetch_body(service: str, entities: dict | None = None) -> bytes:
    return json.dumps({"feature_service": service, "entities": entities or SERVICE_ROW}).encode()


@contextlib.contextmanager
def running_server(
    command: list[str], cwd: Path, log: Path, port: int, timeout: float = 90, env=None
):
    """Start ``command`` (which listens on ``port``), wait until /health answers, stop it after."""
    with log.open("w") as sink:
        process = subprocess.Popen(command, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_healthy(process, port, log, timeout)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(process: subprocess.Popen, port: int, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}: {log.read_text()[-3000:]}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"server not healthy after {timeout} s: {log.read_text()[-3000:]}")


def federation_serve(repo: Path, port: int, *options: str) -> list[str]:
    return [sys.executable, "-m", "feast_federation.cli", "serve", str(repo), "--port",
            str(port), *options]  # fmt: skip


def stock_serve(port: int, *options: str) -> list[str]:
    feast = str(Path(sys.executable).with_name("feast"))
    return [feast, "serve", "--port", str(port), "--no-access-log", *options]


class Client:
    """One keep-alive connection, as an ordinary HTTP client keeps one: it reconnects when
    the server answers ``Connection: close``, and counts any other failure without retrying."""

    def __init__(self, port: int):
        self.port = port
        self.connection = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def post(self, path: str, body: bytes, token: str = "") -> tuple[int, bytes]:
        """(status, body); status 0 for a failed connection (reset, refused, cut short)."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            self.connection.request("POST", path, body, headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = self._connect()
            return 0, b""
        if response.getheader("connection", "").lower() == "close":
            self.connection.close()
            self.connection = self._connect()
        return response.status, data

    def close(self) -> None:
        self.connection.close()


def worker_boots(log: Path) -> int:
    """How many worker processes gunicorn has started so far."""
    return log.read_text(errors="replace").count("Booting worker")
