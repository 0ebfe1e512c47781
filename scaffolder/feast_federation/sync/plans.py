"""What an apply or a restore would change: the model every plan is printed from."""

from __future__ import annotations

from dataclasses import dataclass, field

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

    def to_json(self, *, with_values: bool = True) -> dict:
        change = {"kind": self.kind, "name": self.name, "action": self.action}
        if self.action == UPDATE:
            change["fields"] = list(self.fields)
            if self.values and with_values:
                change["values"] = self.values
        return change


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

    @property
    def has_changes(self) -> bool:
        return any(change.action != UNCHANGED for change in self.changes)

    def to_json(self) -> dict:
        plan = {"owner": self.owner, "changes": [change.to_json() for change in self.changes]}
        if self.overridden:
            plan["overridden_breakages"] = self.overridden
        return plan
