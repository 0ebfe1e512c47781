"""Crashes, hung lock holders and damaged files: one clear line, and nothing lost.

The kill at every write of a sync and of a team apply is in test_kill_points.py; this module
holds the single faults, each through the CLI or a generated apply.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from support import build_org, cli, invoke, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    os.environ["FEAST_FEDERATION_ACTOR"] = "ci-bot"
    platform, (marketing, risk) = build_org(tmp_path_factory.mktemp("crash") / "org")
    return platform, marketing, risk


def one_error_line(result, *expected: str) -> str:
    """The command failed with exit 1 and exactly one line, containing ``expected``."""
    if isinstance(result, subprocess.CompletedProcess):  # a fresh process: stderr alone
        assert result.stdout == "", result.stdout
        code, output = result.returncode, result.stderr
    else:
        code, output = result.exit_code, result.output
    lines = output.strip().splitlines()
    assert code == 1, output
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


# --- an unfinished sync --------------------------------------------------------------------

KILL_BEFORE_ONLINE_TABLES = """
import os, runpy, sys
from feast.infra.passthrough_provider import PassthroughProvider
PassthroughProvider.update_infra = lambda *args, **kwargs: os._exit(137)
sys.argv = ["apply.py"]
runpy.run_path("apply.py", run_name="__main__")
"""


def test_a_sync_killed_before_the_online_tables_is_reported_and_finished(tmp_path):
    from feast_federation.onboarding import bootstrap_org

    platform, _ = bootstrap_org(tmp_path / "org", project="acme", owners=["p@a.io"], teams=[])
    killed = run([sys.executable, "-c", KILL_BEFORE_ONLINE_TABLES], cwd=platform)
    assert killed.returncode == 137, killed.stderr
    planned = invoke("plan", platform, "--json")
    assert planned.exit_code == 2, planned.output
    unfinished = json.loads(planned.stdout)["changes"][0]
    assert (unfinished["kind"], unfinished["name"], unfinished["action"]) == (
        "Project", "acme", "update",
    )  # fmt: skip
    assert unfinished["fields"][0].startswith("unfinished sync (started ")
    audited = invoke("audit", platform)
    assert audited.exit_code == 2 and "unfinished-sync" in audited.output
    one_error_line(invoke("materialize", platform), "did not finish", "run the platform apply")

    assert invoke("apply", platform).exit_code == 0
    assert invoke("plan", platform).exit_code == 0
    assert invoke("audit", platform).exit_code == 0
    assert invoke("materialize", platform).exit_code == 0  # the online tables are there now


# --- locks ---------------------------------------------------------------------------------

HUNG_APPLY = """
import runpy, sys, time
from pathlib import Path
import feast_federation.transaction.transaction as transaction
holding = Path(sys.argv[-1])
def hang(*args):
    holding.touch()
    time.sleep(600)
transaction.carry_out = hang
sys.argv = ["apply.py"]
runpy.run_path("apply.py", run_name="__main__")
"""


def test_a_waiter_names_the_lock_holder_once_and_gives_up(org, tmp_path):
    platform, marketing, _ = org
    views = platform / "feature_views.py"
    original = views.read_text()
    views.write_text(original.replace('"Profile facts about each user."', '"Profile."'))
    holding, holder_log = tmp_path / "holding", tmp_path / "holder.log"
    with holder_log.open("w") as log:
        holder = subprocess.Popen(
            [sys.executable, "-c", HUNG_APPLY, str(holding)], cwd=platform,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        while not holding.exists():  # the holder has the lock (and hangs for 600 s)
            assert holder.poll() is None, holder_log.read_text()[-3000:]
            time.sleep(0.05)
        waited = run([sys.executable, "apply.py", "--plan", "--lock-timeout", "1"], cwd=marketing)
        # It gave up rather than outwaiting the holder, which still holds the lock; that it
        # waits its whole timeout first is test_units' (on the clock the waiter reads).
        assert holder.poll() is None
        assert waited.returncode == 1, waited.stdout + waited.stderr
        lines = waited.stderr.strip().splitlines()
        assert len(lines) == 2, waited.stderr
        assert sum("waiting for lock" in line for line in lines) == 1  # said so once
        holder_text = f"held by pid {holder.pid} on "
        assert lines[0].startswith("waiting for lock ") and holder_text in lines[0]
        assert f"(repo {platform})" in lines[0] and "since 20" in lines[0]
        assert lines[0].endswith("giving up after 1 s")
        assert lines[1].startswith("error: lock ") and "after 1 s" in lines[1]
        assert f"pid {holder.pid}" in lines[1] and "--lock-timeout" in lines[1]
        in_process = invoke("plan", platform, "--lock-timeout", "0.2")
        assert in_process.exit_code == 1
        assert in_process.output.splitlines()[-1].startswith("error: lock ")
        assert "still held by pid" in in_process.output.splitlines()[-1]
    finally:
        holder.kill()
        holder.wait()
        views.write_text(original)
    # Killed mid-sync (after recording its intent): the lock died with it, the plan says so.
    assert "unfinished sync" in invoke("plan", platform, "--lock-timeout", "1").output
    assert invoke("apply", platform).exit_code == 0
    assert invoke("plan", platform).exit_code == 0


def test_a_lock_path_that_is_a_directory(org):
    platform, _, _ = org
    lock = platform / "data" / "registry.db.lock"
    lock.unlink()
    lock.mkdir()
    try:
        one_error_line(invoke("plan", platform), f"lock {lock}: cannot open it as a file")
    finally:
        lock.rmdir()


# --- damaged or missing files: one line, exit 1 --------------------------------------------


def test_a_corrupt_sqlite_registry(org, tmp_path):
    platform, marketing, _ = org
    database = platform / "data" / "registry.db"
    saved = database.read_bytes()
    database.write_bytes(os.urandom(4096))
    try:
        for command in (("plan", marketing), ("audit", platform)):
            one_error_line(cli(*map(str, command)), f"registry {database}: damaged (")
    finally:
        database.write_bytes(saved)


def test_a_missing_data_directory(org, tmp_path):
    platform, _, _ = org
    data = platform / "data"
    data.rename(platform / "data.moved")
    try:
        for command in (("audit",), ("log",), ("backup", "--output", tmp_path / "b.pb")):
            result = cli(command[0], str(platform), *map(str, command[1:]))
            one_error_line(result, "the registry is unreachable")
        assert not (tmp_path / "b.pb").exists()
    finally:
        (platform / "data.moved").rename(data)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("keep: abc", "backups.keep must be a whole number of snapshots >= 1, not 'abc'"),
        ("keep: 0", "backups.keep must be a whole number"),
        ("path: federation.yaml", "is not a directory"),
    ],
)
def test_bad_backup_settings_refuse_the_sync_before_it_writes(org, setting, expected):
    platform, _, _ = org
    policy, views = platform / "federation.yaml", platform / "feature_views.py"
    saved_policy, saved_views = policy.read_text(), views.read_text()
    key = setting.split(":")[0]
    lines = [f"  {setting}" if line.startswith(f"  {key}:") else line
             for line in saved_policy.splitlines()]  # fmt: skip
    policy.write_text("\n".join(lines) + "\n")
    views.write_text(saved_views.replace('"Profile facts about each user."', '"Profile."'))
    try:
        one_error_line(invoke("apply", platform), expected)
        assert invoke("plan", platform).exit_code == 2  # nothing was written
    finally:
        policy.write_text(saved_policy)
        views.write_text(saved_views)


def test_backup_output_to_a_directory_or_nowhere(org, tmp_path):
    platform, _, _ = org
    one_error_line(invoke("backup", platform, "--output", tmp_path), "is a directory")
    missing = tmp_path / "no" / "such" / "b.pb"
    one_error_line(invoke("backup", platform, "--output", missing), "does not exist")


# --- backups never make an empty registry the restore point -------------------------------


def test_no_empty_snapshot_is_a_restore_point_and_empty_restores_are_refused(tmp_path):
    from feast_federation.onboarding import bootstrap_org

    platform, _ = bootstrap_org(tmp_path / "org", project="acme", owners=["p@a.io"], teams=[])
    empty = tmp_path / "empty.pb"
    assert invoke("backup", platform, "--output", empty).exit_code == 0
    assert invoke("apply", platform).exit_code == 0
    backups = platform / ".federation" / "backups"
    assert not list(backups.glob("registry-*.pb"))  # the first sync found nothing to keep
    views = platform / "feature_views.py"
    views.write_text(views.read_text().replace('"Profile facts about each user."', '"Profile."'))
    assert invoke("apply", platform).exit_code == 0
    (snapshot,) = backups.glob("registry-*.pb")
    assert snapshot.stat().st_size > 0

    one_error_line(
        invoke("restore", platform, "--input", empty, "--yes"), "holds no object of project acme"
    )
    assert invoke("plan", platform).exit_code == 0  # the refusal wrote nothing
    planned = invoke("restore", platform, "--input", empty, "--allow-empty", "--json")
    assert planned.exit_code == 2
    assert {c["action"] for c in json.loads(planned.stdout)["changes"]} == {"delete"}
    restored = invoke("restore", platform, "--input", snapshot, "--yes")
    assert restored.exit_code == 0, restored.output


def test_the_file_registry_is_replaced_whole(tmp_path):
    """A kill while Feast writes registry.pb: the old registry, never an empty file."""
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.choices import Backends

    platform, _ = bootstrap_org(
        tmp_path / "org", project="acme", owners=["p@a.io"], teams=[],
        backends=Backends("file", "sqlite", "file"),
    )  # fmt: skip
    assert invoke("apply", platform).exit_code == 0
    registry = platform / "data" / "registry.pb"
    before = registry.read_bytes()
    views = platform / "feature_views.py"
    views.write_text(views.read_text().replace('"Profile facts about each user."', '"Profile."'))
    killed = run([sys.executable, "-c", KILL_WHILE_WRITING_REGISTRY], cwd=platform)
    assert killed.returncode == 137, killed.stderr
    assert registry.read_bytes() == before
    assert invoke("apply", platform).exit_code == 0
    assert invoke("plan", platform).exit_code == 0


# The registry bytes are produced after the writer has opened its target: Feast's own
# writer has truncated registry.pb by then.
KILL_WHILE_WRITING_REGISTRY = """
import os, runpy, sys
from feast.infra.registry.file import FileRegistryStore
import feast_federation.registry.feast067 as feast067  # noqa: E402

feast067.install()  # the writer this project uses
writer = FileRegistryStore._write_registry
class Dying:
    def __init__(self, proto):
        object.__setattr__(self, "proto", proto)
    def __getattr__(self, name):
        return getattr(self.proto, name)
    def __setattr__(self, name, value):
        setattr(self.proto, name, value)
    def SerializeToString(self, **kwargs):
        os._exit(137)
FileRegistryStore._write_registry = lambda self, proto: writer(self, Dying(proto))
sys.argv = ["apply.py"]
runpy.run_path("apply.py", run_name="__main__")
"""
