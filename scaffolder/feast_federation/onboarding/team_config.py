"""A team repo's configuration, derived from the platform's: how it reaches the registry
(directly, or through the platform's registry server), its feature_store.yaml, the Feast
requirement with the platform's extras, and where feast-federation itself comes from.
Never imports Feast."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from feast_federation.errors import FederationError
from feast_federation.rules.choices import TEAM_SCOPED_OFFLINE_SETTINGS
from feast_federation.rules.layout import monorepo_of
from feast_federation.rules.policy import POLICY_FILE, policy_section
from feast_federation.rules.values import (
    REQUIRED_PROJECT,
    check_plain_text,
    check_requirement,
    check_url,
    check_version,
    requirement_name,
)

TOKEN_VARIABLE = "FEAST_REGISTRY_TOKEN"
# Shipped by the platform template when the org runs a registry server.
REGISTRY_SERVER_FILE = "registry_server.yaml"
_SERVER_NOTE = (
    "# The registry is reached through the platform's registry server, which enforces the\n"
    f"# federation policy; the access token comes from ${TOKEN_VARIABLE}.\n"
)
_TEAM_STORE_HEADER = (
    "# Shared settings, copied from the platform repo's feature_store.yaml when this repo was\n"
    "# created: the registry and online store are the platform's. Keep them in step with it.\n"
)
_FEAST_REQUIREMENT = re.compile(r"feast[\[>=<]")
_ENGINE_REQUIREMENT = re.compile(r"ray[\[>=<]")


def check_registry_server_address(address: str) -> None:
    if address and not re.fullmatch(r"[A-Za-z0-9.\-]+:\d{1,5}", address):
        raise FederationError(f"registry server {address!r}: expected HOST:PORT")


def team_registry_server(platform_dir: Path, given: str) -> str:
    """Where a team repo reaches the registry: where the platform runs a registry server,
    only through it (the address given, else the one federation.yaml records)."""
    check_registry_server_address(given)
    if given or not (platform_dir / REGISTRY_SERVER_FILE).is_file():
        return given
    address = str(policy_section(platform_dir, "registry_server").get("address") or "")
    if not address:
        raise FederationError(
            f"{platform_dir / POLICY_FILE}: the platform runs a registry server, so team repos "
            "reach the registry only through it; give --registry-server HOST:PORT or record "
            "registry_server.address"
        )
    check_registry_server_address(address)
    return address


def team_store_yaml(
    platform_yaml: str, *, registry_server: str = "", offline_schema: str = ""
) -> str:
    """A team's feature_store.yaml: the platform's, with only team-specific settings changed.

    Through a registry server, the registry is remote with a token from $FEAST_REGISTRY_TOKEN;
    where the offline store has schemas, the team's work lands in its own schema.
    """
    check_registry_server_address(registry_server)  # callers without a TeamSpec too
    config = yaml.safe_load(platform_yaml)
    offline = config.get("offline_store") or {}
    offline_choice = str(offline.get("type", "")).removesuffix(".offline")
    scope = TEAM_SCOPED_OFFLINE_SETTINGS.get(offline_choice) if offline_schema else None
    if not registry_server and not scope:  # the platform's settings as written, headed anew
        return _TEAM_STORE_HEADER + _without_header(platform_yaml)
    notes = ""
    if registry_server:
        config["registry"] = {"registry_type": "remote", "path": registry_server}
        config["auth"] = {"type": "oidc", "token_env_var": TOKEN_VARIABLE}
        notes += _SERVER_NOTE
    if scope:
        setting, team_value = scope
        offline[setting] = team_value(str(offline.get(setting, "")), offline_schema)
        notes += f"# Offline work lands in this team's own schema, {offline_schema}.\n"
    return _TEAM_STORE_HEADER + notes + yaml.dump(config, Dumper=_EnvQuotingDumper, sort_keys=False)


def _without_header(text: str) -> str:
    """``text`` without its leading comment lines: the platform file's own header, which
    the team's replaces."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    return "".join(lines[start:])


class _EnvQuotingDumper(yaml.SafeDumper):
    """Keeps "${VAR}" quoted: unquoted, an empty variable expands to YAML null."""


_EnvQuotingDumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style='"' if "${" in value else None
    ),
)


def inherit_feast_requirement(platform_dir: Path, repo_dir: Path) -> None:
    """The team pins Feast with the platform's extras (its stores' drivers), plus its own,
    and installs the engine packages the platform's stores need besides (Ray)."""
    platform_lines = (platform_dir / "requirements.txt").read_text(encoding="utf-8").splitlines()
    shared = next((line for line in platform_lines if _FEAST_REQUIREMENT.match(line)), None)
    team_file = repo_dir / "requirements.txt"
    if shared is None or not team_file.exists():
        return
    lines = team_file.read_text(encoding="utf-8").splitlines()
    own = next(line for line in lines if _FEAST_REQUIREMENT.match(line))
    extras = set(_extras(shared)) | set(_extras(own))
    merged = "feast" + (f"[{','.join(sorted(extras))}]" if extras else "") + ">=0.67,<0.68"
    engines = [line for line in platform_lines if _ENGINE_REQUIREMENT.match(line)]
    lines = [merged if line == own else line for line in lines]
    at = lines.index(merged) + 1
    lines[at:at] = [line for line in engines if line not in lines]
    team_file.write_text("\n".join(lines) + "\n")


def _extras(requirement: str) -> list[str]:
    found = re.match(r"feast\[([^\]]*)\]", requirement)
    return [extra.strip() for extra in found.group(1).split(",")] if found else []


# --- where a repo gets feast-federation from ---------------------------------------------

PRE_COMMIT_FILE = ".pre-commit-config.yaml"
REQUIREMENTS_FILE = "requirements.txt"
CHECK_HOOK = "feast-federation-check"


@dataclass(frozen=True)
class FederationSource:
    """How a repo installs feast-federation (a requirements.txt line) and where its
    pre-commit hooks come from (a git URL and a tag)."""

    requirement: str
    repo_url: str
    rev: str

    @classmethod
    def of_repo(cls, repo_dir: Path) -> FederationSource:
        """The settings a baked repo carries, read from its requirements.txt and
        .pre-commit-config.yaml; checked as if they were typed."""
        lines = (repo_dir / REQUIREMENTS_FILE).read_text(encoding="utf-8").splitlines()
        requirement = next(
            (line.strip() for line in lines if requirement_name(line) == REQUIRED_PROJECT), None
        )
        # In a monorepo, pre-commit reads only the root's config.
        org = monorepo_of(repo_dir)
        hooks_file = (org.root if org else repo_dir) / PRE_COMMIT_FILE
        config = yaml.safe_load(hooks_file.read_text(encoding="utf-8")) or {}
        hooks_repo = next(
            (
                entry
                for entry in config.get("repos") or []
                if any(hook.get("id") == CHECK_HOOK for hook in entry.get("hooks") or [])
            ),
            None,
        )
        if requirement is None or hooks_repo is None:
            raise FederationError(
                f"{repo_dir}: no {REQUIRED_PROJECT} line in {REQUIREMENTS_FILE} or no "
                f"{CHECK_HOOK} hook in {PRE_COMMIT_FILE}; give --federation-requirement and "
                "--federation-repo-url"
            )
        source = cls(requirement, str(hooks_repo.get("repo")), str(hooks_repo.get("rev")))
        source.check(f"{repo_dir.name}'s")
        return source

    def check(self, whose: str = "") -> None:
        prefix = f"{whose} " if whose else ""
        check_requirement(f"{prefix}federation requirement", self.requirement)
        check_url(f"{prefix}federation repo URL", self.repo_url)
        check_plain_text(f"{prefix}pre-commit rev", self.rev)
        if not self.rev.startswith("v"):
            raise FederationError(f"{prefix}pre-commit rev {self.rev!r}: expected v<version>")
        check_version(f"{prefix}pre-commit rev", self.rev[1:])

    def write_to(self, repo_dir: Path) -> None:
        """Point a baked repo's requirements.txt and pre-commit config at this source."""
        requirements = repo_dir / REQUIREMENTS_FILE
        lines = requirements.read_text(encoding="utf-8").splitlines()
        lines = [
            self.requirement if requirement_name(line) == REQUIRED_PROJECT else line
            for line in lines
        ]
        requirements.write_text("\n".join(lines) + "\n", encoding="utf-8")
        config = repo_dir / PRE_COMMIT_FILE
        text = config.read_text(encoding="utf-8")
        text = re.sub(r"(?m)^(\s*- repo: ).*$", lambda m: m.group(1) + json.dumps(self.repo_url),
                      text, count=1)  # fmt: skip
        text = re.sub(r"(?m)^(\s*rev: ).*$", lambda m: m.group(1) + self.rev, text, count=1)
        config.write_text(text, encoding="utf-8")


def team_federation_source(
    platform_dir: Path, requirement: str = "", repo_url: str = ""
) -> FederationSource:
    """A team repo takes the platform's feast-federation requirement and hook source, unless
    the team names its own."""
    platform = FederationSource.of_repo(platform_dir)
    source = FederationSource(
        requirement or platform.requirement, repo_url or platform.repo_url, platform.rev
    )
    source.check()
    return source
