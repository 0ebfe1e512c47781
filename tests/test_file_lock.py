"""The lock a waiter meets (feast_federation.files.file_lock), on a clock that only the
waiter's own sleeps advance: it says once whom it waits for, takes the lock as soon as its
holder lets go, and gives up no sooner than its timeout. A busy machine changes nothing here;
test_crash_safety.py holds the same lock with a hung apply in another process."""

from __future__ import annotations

import fcntl
import os

import pytest

from feast_federation import files
from feast_federation.errors import FederationError

START = 1000.0


class Clock:
    """Stands in for the time module in feast_federation.files."""

    def __init__(self, on_sleep=lambda now: None) -> None:
        self.now, self.on_sleep = START, on_sleep

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.on_sleep(self.now - START)


def test_a_waiter_says_so_once_and_gives_up_no_sooner_than_its_timeout(
    tmp_path, monkeypatch, capsys
):
    lock = tmp_path / "registry.db.lock"
    clock = Clock()
    monkeypatch.setattr(files, "time", clock)
    with files.file_lock(lock, repo="/org/platform"):
        with pytest.raises(FederationError) as refused, files.file_lock(lock, timeout=5):
            pass
    assert 5 <= clock.now - START < 5.5  # its whole timeout, then the next poll
    lines = capsys.readouterr().err.splitlines()
    holder = f"held by pid {os.getpid()} on "
    assert len(lines) == 1 and lines[0].startswith(f"waiting for lock {lock}: {holder}")
    assert "(repo /org/platform) since 20" in lines[0]
    assert lines[0].endswith("; giving up after 5 s")
    assert str(refused.value).startswith(f"lock {lock}: still held by pid {os.getpid()} on ")
    assert "after 5 s; stop that process if it hung" in str(refused.value)


def test_a_waiter_takes_the_lock_when_its_holder_lets_go_within_the_timeout(
    tmp_path, monkeypatch, capsys
):
    lock = tmp_path / "registry.db.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a holder that has not written who it is (yet)

    def let_go_after_three_seconds(waited: float) -> None:
        if waited >= 3:
            fcntl.flock(fd, fcntl.LOCK_UN)

    clock = Clock(let_go_after_three_seconds)
    monkeypatch.setattr(files, "time", clock)
    try:
        with files.file_lock(lock, timeout=5, repo="/org/teams/risk"):
            assert 3 <= clock.now - START < 3.5
            assert f'"pid": {os.getpid()}' in lock.read_text()
    finally:
        os.close(fd)
    assert capsys.readouterr().err.splitlines() == [
        f"waiting for lock {lock}: held by a process that has not said who it is; "
        "giving up after 5 s"
    ]
    assert lock.read_text() == ""  # the lock says nobody holds it once let go
