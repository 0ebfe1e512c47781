"""Saved plans: ``plan --out FILE`` writes one, ``apply FILE`` carries out exactly that plan.

A saved plan records what it was computed from: a digest of each definition in the repo and
of each registry object the plan read, writes or deletes (for a team its published policy,
the names it writes, the views it reads, with prune its objects; for the platform every
platform object, the published policy and the team objects that read the views it
changes). The apply plans again under the registry lock and refuses, writing nothing,
unless both are unchanged and the new plan is the saved one.

The file is JSON (format documented in the README); ``checksum`` covers everything else in
it, so a damaged or hand-edited file is refused rather than half-trusted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from feast_federation.errors import FederationError, StalePlan
from feast_federation.files import atomic_write
from feast_federation.rules.ownership import describe_owner
from feast_federation.transaction.plans import DELETE, Plan
from feast_federation.version import __version__

FORMAT = "feast-federation plan"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class SavedPlan:
    repo: str
    project: str
    owner: str
    prune: bool
    allow_breaking_teams: bool
    definitions: dict
    registry: dict
    plan: dict
    version: str = __version__
    source: str = field(default="", compare=False)  # the file it was read from, for messages

    @classmethod
    def of(cls, repo_path: Path, plan: Plan, *, prune: bool, allow_breaking: bool) -> SavedPlan:
        return cls(
            repo=str(Path(repo_path).resolve()), project=plan.project, owner=plan.owner,
            prune=prune, allow_breaking_teams=allow_breaking, definitions=plan.definitions,
            registry=plan.state, plan=_as_json(plan.to_json()),
        )  # fmt: skip

    def deletions(self) -> list[dict]:
        return [change for change in self.plan["changes"] if change["action"] == DELETE]

    def write(self, path: Path) -> None:
        body = {"format": FORMAT, "format_version": FORMAT_VERSION, **asdict(self)}
        del body["source"]
        text = json.dumps({**body, "checksum": _checksum(body)}, indent=1, sort_keys=True)
        try:
            atomic_write(path, text + "\n")
        except OSError as exc:
            raise FederationError(f"{path}: cannot write the plan ({exc.strerror})") from None

    @classmethod
    def read(cls, path: Path) -> SavedPlan:
        """The plan in ``path``; refused in one line when it is not one this version wrote."""
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FederationError(f"{path}: no such plan file") from None
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise _damaged(path, type(exc).__name__) from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise _damaged(path, "no feast-federation plan format marker")
        if body.get("version") != __version__ or body.get("format_version") != FORMAT_VERSION:
            raise FederationError(
                f"{path}: written by feast-federation {body.get('version')}; this is "
                f"{__version__}: plan again with this version"
            )
        checksum = body.pop("checksum", None)
        if checksum != _checksum(body):
            raise _damaged(path, "its checksum does not match its content")
        fields = {name: body[name] for name in cls.__dataclass_fields__ if name in body}
        wrong = _wrong_shape(fields)
        if wrong:
            raise _damaged(path, wrong)
        try:
            return cls(**fields, source=str(path))
        except TypeError:
            raise _damaged(path, "fields are missing") from None

    def check_target(self, owner: str, project: str, repo_path: Path) -> None:
        """Refuse a plan made for another project, or for another owner's repo."""
        if project != self.project:
            raise FederationError(
                f"{self._name}: a plan for project {self.project}; {repo_path} is in project "
                f"{project}"
            )
        if owner != self.owner:
            raise FederationError(
                f"{self._name}: a plan for {describe_owner(self.owner)}, not for {repo_path} "
                f"({describe_owner(owner)})"
            )

    def check_options(self, *, prune: bool, allow_breaking: bool) -> None:
        """Refuse an apply whose flags differ from the plan's.

        The file may come from elsewhere (a pull request's CI artifact): a flag that deletes
        or breaks has to be given by whoever applies, never taken from the file.
        """
        for flag, planned, given in (
            ("--prune", self.prune, prune),
            ("--allow-breaking-teams", self.allow_breaking_teams, allow_breaking),
        ):
            if planned and not given:
                raise FederationError(
                    f"{self._name} was made with {flag}: apply it with {flag} to carry it out"
                )
            if given and not planned:
                raise FederationError(
                    f"{self._name} was made without {flag}: apply it without {flag}, or plan "
                    f"again with {flag}"
                )

    def verify(self, fresh: Plan, repo_path: Path) -> None:
        """Refuse, naming what changed, unless ``fresh`` is this plan computed again."""
        self.check_target(fresh.owner, fresh.project, repo_path)
        changed = [
            f"the {where} changed since the plan: {', '.join(what)}"
            for where, what in (
                ("repo", _differences(self.definitions, fresh.definitions)),
                ("registry", _differences(self.registry, fresh.state)),
            )
            if what
        ]
        if not changed and _as_json(fresh.to_json()) != self.plan:
            changed = ["the plan computed now differs from the saved plan"]
        if changed:
            repo_changed = bool(_differences(self.definitions, fresh.definitions))
            raise StalePlan(changed, repo_changed=repo_changed)

    @property
    def _name(self) -> str:
        return self.source or "the plan"


def _wrong_shape(fields: dict) -> str | None:
    """What in a plan file's fields is not of the shape this version writes, or None (a file
    whose checksum matches may still have been written by hand)."""
    for name in ("repo", "project", "owner", "version"):
        if name in fields and not isinstance(fields[name], str):
            return f"{name} is not a string"
    for name in ("prune", "allow_breaking_teams"):
        if name in fields and not isinstance(fields[name], bool):
            return f"{name} is not true or false"
    for name in ("definitions", "registry"):
        digests = fields.get(name, {})
        if not isinstance(digests, dict) or not all(
            isinstance(value, str | None) for value in digests.values()
        ):
            return f"{name} is not a mapping of objects to digests"
    plan = fields.get("plan", {"changes": []})
    changes = plan.get("changes") if isinstance(plan, dict) else None
    if not isinstance(changes, list) or not all(
        isinstance(change, dict) and isinstance(change.get("action"), str) for change in changes
    ):
        return "plan is not a plan with a list of changes"
    return None


def _differences(then: dict, now: dict) -> list[str]:
    """Each object that differs, as ``FeatureView driver_stats was updated``."""
    found = []
    for key in sorted(set(then) | set(now)):
        before, after = then.get(key), now.get(key)
        if before == after:
            continue
        what = "created" if before is None else "deleted" if after is None else "updated"
        found.append(f"{key} was {what}")
    return found


def _as_json(data: dict) -> dict:
    """``data`` as it reads back from a file: tuples as lists, keys as strings."""
    return json.loads(json.dumps(data))


def _checksum(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _damaged(path: Path, reason: str) -> FederationError:
    return FederationError(f"{path}: not a feast-federation plan, or damaged ({reason})")
