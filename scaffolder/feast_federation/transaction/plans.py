"""What a write would change: the model every plan is printed from, and what the
transaction needs to check and carry it out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ADD, UPDATE, DELETE, UNCHANGED = "add", "update", "delete", "unchanged"


def object_key(kind: str, name: str) -> str:
    """How a saved plan names an object: ``"FeatureView driver_stats"``."""
    return f"{kind} {name}"


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    action: str
    fields: tuple[str, ...] = ()
    # For updates: each changed field's {"old", "new"} (and "diff" for UDF source), as JSON.
    values: dict = field(default_factory=dict, hash=False)
    # For a platform view: the team objects that pin one of its versions, one line each
    # ("FeatureService risk_model (team risk) reads v0").
    pinned_by: tuple[str, ...] = ()

    def to_json(self, *, with_values: bool = True) -> dict:
        change = {"kind": self.kind, "name": self.name, "action": self.action}
        if self.action == UPDATE:
            change["fields"] = list(self.fields)
            if self.values and with_values:
                change["values"] = self.values
        if self.pinned_by and with_values:
            change["pinned_by"] = list(self.pinned_by)
        return change


def change_order(change: Change) -> tuple:
    """How a plan lists its changes: what changes first, then by kind and name."""
    return (change.action == UNCHANGED, change.kind, change.name)


@dataclass(frozen=True)
class LogEntry:
    """A log entry a write makes instead of the one its plan would (adoption: one per
    owner, recording objects already in the registry as that owner's adds)."""

    owner: str
    changes: list[Change]
    after: dict[tuple[str, str], object]  # stored protos by (collection, name)


@dataclass
class Plan:
    owner: str
    changes: list[Change] = field(default_factory=list)
    to_apply: list = field(default_factory=list)
    to_delete: list = field(default_factory=list)
    # Team breakages the platform chose to override; carried out and reported loudly.
    overridden: list[str] = field(default_factory=list)
    project: str = ""
    # What the plan was computed from, for a saved plan to check at apply time: the repo's
    # definitions, and the registry objects the plan read, wrote or deleted (None: absent),
    # each by object_key -> digest.
    definitions: dict[str, str] = field(default_factory=dict)
    state: dict[str, str | None] = field(default_factory=dict)
    # The registry's objects the plan read, as stored protos by (collection, name): what its
    # write replaces, for the apply log's before-images (a platform plan: the whole project).
    held: dict[tuple[str, str], object] = field(default_factory=dict)
    # Set where ``held`` is the whole project: the policy whose teams' services and ODFVs
    # the write must not break (delete protection). None: the writer is a team.
    protects: Any = None
    # What the log calls the write ("apply", "apply --prune", "restore", "adopt") and what a
    # refusal calls it ("sync", "restore").
    action: str = "apply"
    noun: str = "apply"
    # After the write: the project's objects as it left them, where ``held`` was whole.
    after: dict[tuple[str, str], object] = field(default_factory=dict)
    # Set to log these entries instead of one for the plan's own changes.
    log_entries: list[LogEntry] | None = None
    # A team plan without prune: the team's objects ("Kind name") the registry holds and the
    # repo no longer defines, which the apply keeps and --prune removes.
    left_behind: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return any(change.action != UNCHANGED for change in self.changes)

    def to_json(self) -> dict:
        plan = {"owner": self.owner, "changes": [change.to_json() for change in self.changes]}
        if self.overridden:
            plan["overridden_breakages"] = self.overridden
        if self.left_behind:
            plan["not_in_repo"] = self.left_behind
        return plan
