"""How an org's repos are laid out: one git repository per repo (``polyrepo``, the default),
or one git repository for the whole org (``monorepo``) with the platform folder and one
folder per team. Never imports Feast.

A monorepo's root holds ``feast-federation-org.json``, written by ``bootstrap --layout
monorepo``: which folder is the platform's, which holds the teams', and the CI system its
root pipelines are for. It is read here, and its values are checked as data, like any
other file of the repo.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from feast_federation.errors import FederationError
from feast_federation.rules.values import check_repo_dir_name, shown

LAYOUTS = ("polyrepo", "monorepo")
ORG_FILE = "feast-federation-org.json"
ROOT_CI_SYSTEMS = ("github", "gitlab", "none")


@dataclass(frozen=True)
class Monorepo:
    """The root of a monorepo org and its folders (names relative to the root)."""

    root: Path
    platform_dir: str
    teams_dir: str
    ci: str

    @property
    def platform(self) -> Path:
        return self.root / self.platform_dir

    def team(self, name: str) -> Path:
        return self.root / self.teams_dir / name

    def to_json(self) -> str:
        values = {"layout": "monorepo", "platform_dir": self.platform_dir,
                  "teams_dir": self.teams_dir, "ci": self.ci}  # fmt: skip
        return json.dumps(values, indent=2) + "\n"


def check_folders(platform_dir: str, teams_dir: str) -> None:
    """The platform's folder and the teams' folder: one directory name each, not the same."""
    check_repo_dir_name("--platform-dir", platform_dir)
    check_repo_dir_name("--teams-dir", teams_dir)
    if platform_dir == teams_dir:
        raise FederationError(
            f"--teams-dir {shown(teams_dir)}: the platform's folder has that name; choose another"
        )


def monorepo_of(repo_dir: Path | str) -> Monorepo | None:
    """The monorepo ``repo_dir`` (a platform folder or a team folder) belongs to, if any:
    the org file in its parent (platform) or its parent's parent (team), naming it."""
    repo_dir = Path(repo_dir).expanduser().absolute()
    for root in (repo_dir.parent, repo_dir.parent.parent):
        if (root / ORG_FILE).is_file():
            org = read_org_file(root)
            if repo_dir in (org.platform, org.root / org.teams_dir / repo_dir.name):
                return org
    return None


def read_org_file(root: Path) -> Monorepo:
    """``root``'s org file, its values checked."""
    path = Path(root) / ORG_FILE
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FederationError(f"{path}: not readable as JSON ({exc})") from None
    if not isinstance(values, dict) or values.get("layout") != "monorepo":
        raise FederationError(f"{path}: layout must be monorepo")
    platform_dir, teams_dir, ci = (values.get(key) for key in ("platform_dir", "teams_dir", "ci"))
    if not all(isinstance(value, str) for value in (platform_dir, teams_dir, ci)):
        raise FederationError(f"{path}: platform_dir, teams_dir and ci must be strings")
    check_folders(platform_dir, teams_dir)
    if ci not in ROOT_CI_SYSTEMS:
        raise FederationError(f"{path}: ci {shown(ci)}: choose one of {', '.join(ROOT_CI_SYSTEMS)}")
    return Monorepo(Path(root).absolute(), platform_dir, teams_dir, ci)
