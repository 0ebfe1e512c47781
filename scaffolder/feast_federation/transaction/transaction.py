"""The one door to the shared registry: every command that writes it goes through ``write``.

A write takes the registry's lock (``--lock-timeout``), plans under it (the caller's
planner reads the registry and returns a ``Plan``), checks the plan (delete protection, the
saved plan it must match, confirmed deletions), takes a snapshot when asked, writes kind by
kind holding one view of the registry, reads a file-backed registry back, and appends the
apply-log entry with each changed object as it was before and after. SQLite's "database is
locked" is retried a bounded number of times; engine and registry-server failures are one
line. ``plan`` runs the same steps up to the checks and writes nothing; ``read`` gives a
reader the same consistent view of the registry.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from feast_federation.errors import (
    BreaksTeams,
    LostWrite,
    PartWayFailure,
    PromotionRefused,
    RegistryLocked,
    UnconfirmedDeletions,
)
from feast_federation.files import gc_paused
from feast_federation.registry import feast067, reads_remembered
from feast_federation.registry.backends import Backend, backend_of
from feast_federation.registry.engine_errors import is_database_locked
from feast_federation.registry.location import DEFAULT_LOCK_TIMEOUT
from feast_federation.registry.server_errors import translated
from feast_federation.rules.kinds import BY_NAME
from feast_federation.rules.ownership import PLATFORM, describe_owner
from feast_federation.transaction import applylog
from feast_federation.transaction.backups import backup_before_write
from feast_federation.transaction.plans import DELETE, UNCHANGED, Plan
from feast_federation.transaction.protection import broken_by
from feast_federation.transaction.saved import SavedPlan
from feast_federation.transaction.writes import (
    carry_out,
    one_commit,
    record_sync_end,
    record_sync_start,
    verify_written,
)

T = TypeVar("T")
Planner = Callable[[object], Plan]
LOCKED_RETRIES = 8


@dataclass(frozen=True)
class Writer:
    """Who writes: the owner of the repo the write comes from, and that repo."""

    owner: str
    repo_path: Path


@dataclass(frozen=True)
class Safeguards:
    """What a write must honour beyond the plan itself."""

    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    allow_breaking: bool = False  # carry out a write that breaks team objects (logged)
    allow_delete: bool = True  # False: refuse a plan that deletes (nobody confirmed it)
    expected: SavedPlan | None = None  # carry out only this plan, computed again
    backup: dict | None = None  # the policy's ``backups`` settings: snapshot first
    log: dict = field(default_factory=dict)  # more fields for the apply-log entry
    promotion: Promotion | None = None  # a later environment: only what the one before verified


@dataclass(frozen=True)
class Promotion:
    """A write into ``environment``, which comes after ``previous`` (whose store is
    ``previous_store``): carried out only when the same definitions were applied and verified
    there, unless ``skip`` (then logged)."""

    environment: str
    previous: str
    previous_store: object
    skip: bool = False

    def check(self, planned: Plan, writer: Writer) -> dict:
        """The log fields of a write that passes the gate; refused in one line otherwise."""
        digest = applylog.definitions_digest(planned.definitions)
        entries = applylog.read(self.previous_store, owner=writer.owner)
        found = applylog.verified(entries, writer.owner, digest)
        if found is not None:
            return {"promoted_from": self.previous, "verified_entry": found["id"]}
        if self.skip:
            return {"promotion_check_skipped": f"not verified in {self.previous}"}
        raise PromotionRefused(
            f"{self.environment}: {describe_owner(writer.owner)}'s definitions were not "
            f"applied and verified in {self.previous}; nothing was written: apply them with "
            f"--env {self.previous}, run feast-federation verify . --env {self.previous} in "
            "the repo, then apply here (--skip-promotion-check forces it, and is logged)"
        )


def read(store, owner: str, reader: Callable[[object], T], *, lock_timeout=DEFAULT_LOCK_TIMEOUT):
    """``reader(store)`` under the registry's lock: the consistent view a plan gets (a file
    registry read mid-write parses as empty)."""
    backend = backend_of(store)
    with translated(store, owner), backend.lock(lock_timeout, repo=str(store.repo_path)):
        return retry_when_locked(lambda: _held(store, lambda: _planned(lambda: reader(store))))


def plan(
    store, writer: Writer, planner: Planner, *, lock_timeout=DEFAULT_LOCK_TIMEOUT,
    allow_breaking: bool = False,
) -> Plan:  # fmt: skip
    """What ``write`` would carry out; writes nothing."""
    return read(
        store, writer.owner, lambda s: _checked(planner(s), s, allow_breaking),
        lock_timeout=lock_timeout,
    )  # fmt: skip


def write(store, writer: Writer, planner: Planner, safeguards: Safeguards = Safeguards()) -> Plan:
    """Plan under the lock, check, and carry out; returns the plan carried out."""
    backend = backend_of(store)
    expected = safeguards.expected
    if expected is not None:
        expected.check_target(writer.owner, store.project, writer.repo_path)

    def attempt() -> Plan:
        planned = _planned(lambda: _checked(planner(store), store, safeguards.allow_breaking))
        if expected is not None:
            expected.verify(planned, writer.repo_path)
        if planned.to_delete and not safeguards.allow_delete:
            raise UnconfirmedDeletions(unconfirmed_deletions(planned))
        if planned.has_changes:
            gate = safeguards.promotion
            promoted = gate.check(planned, writer) if gate is not None else {}
            _carry_out(store, backend, writer, planned, safeguards, promoted)
        else:
            planned.after = planned.held
        return planned

    with (
        translated(store, writer.owner),
        backend.lock(safeguards.lock_timeout, repo=str(store.repo_path)),
    ):
        return retry_when_locked(lambda: _held(store, attempt))


def note(
    store, writer: Writer, action: str, fields: dict, *, lock_timeout=DEFAULT_LOCK_TIMEOUT
) -> dict:
    """Append a log entry that changes nothing in the registry (a verification), under the
    registry's lock like every write; refused where the registry keeps no log."""
    backend = backend_of(store)
    with translated(store, writer.owner), backend.lock(lock_timeout, repo=str(store.repo_path)):
        if not applylog.kept(store):
            applylog.read(store)  # refuses in one line: this registry keeps no log
        return applylog.record(store, writer.repo_path, writer.owner, action, [], {}, {}, **fields)


def _held(store, step: Callable[[], T]) -> T:
    """Run ``step`` on one view of the registry, read once under the lock."""
    with feast067.held_registry(store):
        return step()


def _planned(step: Callable[[], T]) -> T:
    """A plan or read: each object it reads by name read once (``reads_remembered``; it
    writes nothing), with the cyclic collector paused (``files.gc_paused``): it builds
    objects in proportion to the org, and at 10,000 teams the collector's rescans of them
    were a fifth of a platform plan. A write's own steps run with both off."""
    with gc_paused(), reads_remembered():
        return step()


def _checked(planned: Plan, store, allow_breaking: bool) -> Plan:
    """Delete protection: refused unless overridden; an override is carried in the plan."""
    planned.project = planned.project or store.project
    broken = broken_by(planned, store.project)
    if broken and not allow_breaking:
        raise BreaksTeams(broken, planned.noun)
    planned.overridden = broken
    return planned


def _carry_out(
    store, backend: Backend, writer: Writer, planned: Plan, safeguards, promoted: dict
) -> None:
    # The log keeps field names and the objects themselves, not the values' diffs.
    changes = [change.to_json(with_values=False) for change in planned.changes]
    # Encoded now: a file registry's write edits the protos the plan read in place.
    before = applylog.images(changes, planned.held)
    snapshot = None
    if safeguards.backup is not None:
        snapshot = backup_before_write(planned.held, writer.repo_path, safeguards.backup)
    marks_sync = planned.owner == PLATFORM and planned.action == "apply"
    if marks_sync:
        record_sync_start(store, applylog.actor(writer.repo_path))
    with one_commit(store, backend, planned) as together:  # a team's write and its entry
        written = _written(store, backend, planned, together)
        if marks_sync:
            record_sync_end(store)  # only now are the online tables there too
        planned.after = _held_after(planned.held, changes, written)
        extra = {"definitions": applylog.definitions_digest(planned.definitions), **promoted}
        entry = _log(store, writer, planned, (changes, before, written), safeguards.log | extra)
    if backend.reads_back:
        try:
            verify_written(store, planned, written)
        except LostWrite as lost:
            raise LostWrite(f"{lost}; {_recovery(writer, snapshot, entry)}") from None


def _log(store, writer: Writer, planned: Plan, change_set, extra: dict) -> dict:
    """Append the write's log entry (or the entries its plan names); returns the last."""
    changes, before, written = change_set
    extra = {**extra, **({"overridden_breakages": planned.overridden} if planned.overridden
                         else {})}  # fmt: skip
    entries = [(planned.owner, changes, before, written)]
    if planned.log_entries is not None:
        entries = []
        for item in planned.log_entries:
            logged = [change.to_json(with_values=False) for change in item.changes]
            entries.append((item.owner, logged, applylog.images(logged, planned.held), item.after))
    entry: dict = {}
    for owner, logged, images_before, protos_after in entries:
        entry = applylog.record(
            store, writer.repo_path, owner, planned.action, logged, images_before,
            applylog.images(logged, protos_after), **extra,
        )  # fmt: skip
    return entry


def _written(store, backend: Backend, planned: Plan, together: bool = False) -> dict:
    """Carry out the plan; a failure part-way is reported with how to converge (nothing to
    converge where the write is one transaction, ``together``: it is undone whole)."""
    try:
        return carry_out(store, backend, planned)
    except Exception as exc:
        if is_database_locked(exc) or not backend.reports_part_way:
            raise  # retried by the caller, or explained by server_errors
        meaning = (
            "nothing was written (the write is one transaction): apply again"
            if together
            else "what was written stays written: run --plan to see it, then apply again "
            "to converge"
        )
        raise PartWayFailure(exc, meaning=meaning) from exc


def _recovery(writer: Writer, snapshot: Path | None, entry: dict) -> str:
    if snapshot is not None:
        return (
            f"restore the snapshot taken before it: feast-federation restore {writer.repo_path} "
            f"--input {snapshot}"
        )
    return (
        "apply again to write what is missing, or put the registry back with "
        "feast-federation restore PLATFORM_REPO --to ID (the log entry before this write; "
        "see feast-federation log)"
    )


def _held_after(held: dict, changes: list[dict], written: dict) -> dict:
    """What the registry holds after a write: ``held`` without what it changed, and what
    it wrote."""
    changed = {
        (BY_NAME[change["kind"]].collection, change["name"])
        for change in changes
        if change["kind"] in BY_NAME and change["action"] != UNCHANGED
    }
    after = {key: proto for key, proto in held.items() if key not in changed}
    return after | {key: proto for key, proto in written.items() if key in changed}


def objects(count: int) -> str:
    return f"{count} object" if count == 1 else f"{count} objects"


def unconfirmed_deletions(planned: Plan) -> str:
    deleted = [f"{c.kind} {c.name}" for c in planned.changes if c.action == DELETE]
    return (
        f"the apply would delete {objects(len(deleted))} ({', '.join(deleted)}) and no one "
        "confirmed it; nothing was written: pass --yes to delete them"
    )


def retry_when_locked(action: Callable[[], T], attempts: int = LOCKED_RETRIES) -> T:
    """Run ``action``; retry with jittered backoff while SQLite says the database is locked."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Exception as exc:
            if not is_database_locked(exc):
                raise
            if attempt == attempts:
                raise RegistryLocked(
                    f"the registry database stayed locked through {attempts} attempts: another "
                    "writer holds it; nothing more was written, run the apply again"
                ) from None
            time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")
