"""The apply log: who changed the shared registry, when, from which repo, and what.

It lives with the registry (``registry.backends``: a table in a SQL registry's database, a
JSON-lines file or object beside a local or S3 file registry), written by the transaction
under the registry's lock. Each changed object is kept as it was before and after the write
(``images``), so the registry can be put back to the moment after any entry
(``ops.restore``).
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import json
import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from feast_federation.errors import FederationError
from feast_federation.registry.backends import backend_of
from feast_federation.registry.protos import decode_object, digest, encode_object, name_of
from feast_federation.rules.kinds import BY_NAME

VERIFY = "verify"


def definitions_digest(definitions: dict[str, str]) -> str:
    """One digest of a repo's definitions (a plan's ``definitions``): what is promoted from
    one environment to the next."""
    text = json.dumps(definitions, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def verified(entries: list[dict], owner: str, digest: str) -> dict | None:
    """The last passed verification of ``owner``'s definitions ``digest`` among ``entries``."""
    found = [
        entry for entry in entries
        if entry.get("action") == VERIFY and entry.get("owner") == owner
        and entry.get("definitions") == digest and entry.get("passed") is True
    ]  # fmt: skip
    return found[-1] if found else None


def actor(repo_path: Path) -> str:
    """The CI actor if there is one, else the repo's git author, else the OS user."""
    for variable, system in (("GITHUB_ACTOR", "github"), ("GITLAB_USER_LOGIN", "gitlab")):
        if os.environ.get(variable):
            return f"{system}:{os.environ[variable]}"
    if os.environ.get("FEAST_FEDERATION_ACTOR"):
        return os.environ["FEAST_FEDERATION_ACTOR"]
    return _git_author(str(repo_path))


@functools.cache
def _git_author(repo_path: str) -> str:
    try:
        email = subprocess.run(
            ["git", "-C", str(repo_path), "config", "user.email"],
            capture_output=True, text=True, timeout=5,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        email = ""
    return email or getpass.getuser()


def record(
    store, repo_path: Path, owner: str, action: str, changes: list[dict], before, after, **extra
) -> dict:
    """Append an entry for a write that has just happened; ``before`` and ``after`` hold the
    ``images`` of its changed objects as they were before it wrote and as it wrote them."""
    changes = [change for change in changes if change["action"] != "unchanged"]
    entry = {
        "at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "actor": actor(repo_path),
        "repo": str(repo_path),
        "owner": owner,
        "action": action,
        "changes": _with_images(changes, before, after),
        **extra,
    }
    log = backend_of(store).log()
    if log is not None:
        log.append(entry)
    return entry


class Image(NamedTuple):
    """One object as a one-object RegistryProto, base64, and the digest of what it defines."""

    text: str
    digest: str


def images(changes: list[dict], protos: dict) -> dict[tuple[str, str], Image | None]:
    """Each changed object of a kind backups keep, by ``table_key``, as ``protos`` holds it
    (stored protos by collection and name; None: not there). Made from what the plan read
    or the write wrote: recording reads nothing from the registry."""
    found: dict[tuple[str, str], Image | None] = {}
    for change in changes:
        kind = BY_NAME.get(change["kind"])
        if change["action"] == "unchanged" or kind is None or not kind.backed_up:
            continue
        proto = protos.get((kind.collection, change["name"]))
        found[table_key(kind.name, change["name"])] = (
            None if proto is None else Image(encode_image(kind.collection, proto), digest(proto))
        )
    return found


def encode_image(collection: str, proto) -> str:
    return encode_object(collection, proto)


def decode_image(image: str) -> tuple[str, object]:
    """The collection and proto of an image's one object."""
    return decode_object(image)


def _with_images(changes: list[dict], before: dict, after: dict) -> list[dict]:
    """``changes`` with each object's images, and the digest of what was written, so an
    audit can tell what its owner last applied from what someone changed since."""
    result = []
    for change in changes:
        key = table_key(change["kind"], change["name"])
        if key in after:
            old, new = before.get(key), after[key]
            change = {**change, "before": old and old.text, "after": new and new.text}
            if new is not None:
                change["digest"] = new.digest
        result.append(change)
    return result


def table_key(kind: str, name: str) -> tuple[str, str]:
    """Names are unique per registry table, and a restore logs a RequestSource as a
    DataSource: the log's objects are told apart by table and name."""
    return (BY_NAME[kind].table if kind in BY_NAME else kind, name)


def last_applied(entries: list[dict]) -> dict[tuple[str, str], tuple[str, str | None]]:
    """What the logged applies and restores left in the registry, replayed oldest first:
    ``table_key`` -> ``(kind, digest)``."""
    state: dict[tuple[str, str], tuple[str, str | None]] = {}
    for entry in entries:
        for change in entry.get("changes", []):
            key = table_key(change["kind"], change["name"])
            if change["action"] == "delete":
                state.pop(key, None)
            elif change["action"] in ("add", "update"):
                state[key] = (change["kind"], change.get("digest"))
    return state


class ChainBreak(NamedTuple):
    """An entry whose images of an object the log cannot vouch for."""

    entry: int
    kind: str
    name: str
    reason: str

    def __str__(self) -> str:
        return f"apply-log entry {self.entry}: {self.kind} {self.name}: {self.reason}"


def chain_breaks(entries: list[dict], *, links: bool = True) -> list[ChainBreak]:
    """Entries whose images the log cannot vouch for: an image of another kind or name than
    its change, or (``links``) a before-image that is not what the previous entry of that
    object left, its after-image. ``restore --to`` undoes entries by writing their
    before-images back, so it checks every entry's links. ``audit`` checks only each
    object's last change (what a restore to the latest points writes back), so that it does
    not grow with the log's history, and no links: a write made around feast-federation and
    repaired since by a logged apply breaks a link the same way a lost entry does, and would
    be reported for ever."""
    breaks: list[ChainBreak] = []
    left: dict[tuple[str, str], tuple[int, str | None]] = {}  # by table_key: entry, after
    last: dict[tuple[str, str], tuple[int, dict]] = {}
    for entry in entries:
        for change in entry["changes"]:
            if "after" not in change:
                continue  # logged without images (a kind backups leave alone)
            key = table_key(str(change.get("kind")), str(change.get("name")))
            if not links:
                last[key] = (entry["id"], change)
                continue
            reason = _images_problem(change)
            if reason is None and key in left:
                previous, after = left[key]
                if not _same_object(after, change.get("before")):
                    reason = (
                        f"its before-image is not what entry {previous} left (the registry "
                        "was written around feast-federation in between, or the log was "
                        "edited or lost an entry)"
                    )
            if reason is not None:
                breaks.append(ChainBreak(entry["id"], str(change["kind"]), str(change["name"]),
                                         reason))  # fmt: skip
            left[key] = (entry["id"], change.get("after"))
    for entry_id, change in sorted(last.values(), key=lambda item: item[0]):
        reason = _images_problem(change)
        if reason is not None:
            breaks.append(ChainBreak(entry_id, str(change["kind"]), str(change["name"]), reason))
    return breaks


def _images_problem(change: dict) -> str | None:
    kind, name = str(change.get("kind")), str(change.get("name"))
    return _image_problem(kind, name, change.get("before")) or _image_problem(
        kind, name, change.get("after")
    )


def _image_problem(kind: str, name: str, image: object) -> str | None:
    """Why ``image`` cannot be ``kind`` ``name``'s, or None."""
    if image is None:
        return None
    decoded = _decoded(image)
    if decoded is None:
        return "an image is not an object this log wrote"
    collection, proto = decoded
    expected = BY_NAME[kind].collection if kind in BY_NAME else None
    if collection != expected:
        return f"an image holds an object of another kind ({collection})"
    if name_of(proto) != name:
        return f"an image holds another object ({name_of(proto)!r})"
    return None


def _same_object(one: object, other: object) -> bool:
    """Whether two images define the same object (their bytes may differ in timestamps)."""
    if one is None or other is None:
        return one is None and other is None
    if one == other:
        return True
    first, second = _decoded(one), _decoded(other)
    return first is not None and second is not None and digest(first[1]) == digest(second[1])


def _decoded(image: object) -> tuple[str, object] | None:
    if not isinstance(image, str):
        return None
    try:
        return decode_image(image)
    except Exception:  # noqa: BLE001 - not base64, not a RegistryProto, not one object
        return None


def kept(store) -> bool:
    """Whether the registry keeps an apply log (a registry server's and GCS's keep none)."""
    return backend_of(store).log() is not None


def read(store, owner: str | None = None) -> list[dict]:
    backend = backend_of(store)
    log = backend.log()
    if log is None:
        raise FederationError(
            f"registry {backend.location.path}: the apply log is kept only for SQL, local and "
            "S3 file registries"
        )
    entries = _parsed(log.read())
    return [entry for entry in entries if owner is None or entry["owner"] == owner]


def _parsed(rows: list[tuple[int, str]]) -> list[dict]:
    """The entries, each with its id; a line torn by a crash while it was appended is
    skipped (its id stays taken: ids are line numbers or table keys)."""
    entries = []
    for number, text in rows:
        try:
            entry = json.loads(text)
        except ValueError:
            continue
        if _whole(entry):
            entries.append({"id": number, **entry})
    return entries


def _whole(entry: object) -> bool:
    """Whether a parsed line is an entry (a torn line may still parse, as a number, or as
    an object missing the fields written last)."""
    return (
        isinstance(entry, dict)
        and all(isinstance(entry.get(key), str) for key in ("at", "actor", "owner", "action"))
        and isinstance(entry.get("changes"), list)
        and all(isinstance(change, dict) for change in entry["changes"])
    )


def summary(entry: dict) -> dict:
    """An entry without its object images: what ``log --json`` prints."""
    changes = [
        {k: v for k, v in change.items() if k not in ("before", "after")}
        for change in entry["changes"]
    ]
    return {**entry, "changes": changes}
