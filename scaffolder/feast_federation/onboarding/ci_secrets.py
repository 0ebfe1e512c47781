"""The generated pipelines get exactly the variables their repo's feature_store.yaml reads,
plus the cloud credentials its stores need.

Credentials live in the CI system's secrets and reach Feast as ``${VAR}`` in
feature_store.yaml, or through the clouds' own SDKs. GitHub passes a secret to a job only
when the workflow names it, so each job's ``env: {}`` placeholder is filled with them, and
a Google Cloud key is written to a file first; GitLab exposes CI/CD variables by itself
(a file variable for the Google key), so its pipeline only lists them.

Pull-request jobs run the proposed code, so they never get what an apply writes with: they
read each variable from a read-only secret of its own name (``readonly_name``:
``FEAST_PG_USER`` from ``FEAST_PG_READONLY_USER``), kept in a separate environment.

A platform repo whose sources are files also passes every job the repository variable
FEAST_DATA_LOCATION (empty unless set): where a runner reaches the data when not at the
location pyproject.toml records. It is no secret, and every job must see the same value.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from feast_federation.rules.choices import Backends
from feast_federation.rules.environments import scoped_prefix, store_files
from feast_federation.rules.repo import DATA_LOCATION_VARIABLE, records_data_location

ENV_PLACEHOLDER = "    env: {}\n"
READONLY_ENV_PLACEHOLDER = "    env: {}  # read-only\n"
STEPS_PLACEHOLDER = "      # Cloud sign-in, when the stores need it.\n"
READONLY_STEPS_PLACEHOLDER = "      # Cloud sign-in (read-only), when the stores need it.\n"
GITLAB_PLACEHOLDER = "# CI/CD variables feature_store.yaml reads: none\n"
GITLAB_READONLY_PLACEHOLDER = "  variables: {}  # read-only\n"
GCP_KEY_SECRET = "GCP_SERVICE_ACCOUNT_KEY"
GCP_KEY_FILE = "/tmp/gcp-service-account.json"
CLOUD_VARIABLES = {
    "aws": ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    "gcp": ["GOOGLE_APPLICATION_CREDENTIALS"],
}
_GCP_KEY_STEP = """\
      - name: Google Cloud key from the {secret} secret
        env:
          GCP_SERVICE_ACCOUNT_KEY: ${{{{ secrets.{secret} }}}}
        run: (umask 077 && printf '%s' "$GCP_SERVICE_ACCOUNT_KEY" > {key_file})
"""
_VARIABLE = re.compile(r"\$\{(\w+)\}")
# A repository variable (no secret): empty when unset, and then pyproject.toml's location.
DATA_LOCATION_VALUE = f"${{{{ vars.{DATA_LOCATION_VARIABLE} }}}}"


def store_variables(store_yaml: str) -> list[str]:
    """The environment variables a feature_store.yaml reads, in order (comments aside),
    then the credentials its clouds need."""
    config = yaml.safe_load(store_yaml) or {}
    found = _VARIABLE.findall(" ".join(_strings(config)))
    token = (config.get("auth") or {}).get("token_env_var")
    cloud = [name for c in Backends.of_store_yaml(store_yaml).clouds for name in CLOUD_VARIABLES[c]]
    return list(dict.fromkeys([*found, *([token] if token else []), *cloud]))


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if isinstance(value, str) else []


def readonly_name(name: str) -> str:
    """The read-only counterpart of a variable: READONLY after the product part of its
    name (FEAST_PG_USER: FEAST_PG_READONLY_USER, AWS_ACCESS_KEY_ID: AWS_READONLY_ACCESS_KEY_ID)."""
    parts = name.split("_")
    cut = 2 if parts[0] == "FEAST" and len(parts) > 2 else 1
    return "_".join([*parts[:cut], "READONLY", *parts[cut:]])


def wire_ci_secrets(repo_dir: Path) -> None:
    """Fill the pipeline placeholders of a freshly baked repo from its feature_store.yaml:
    apply jobs read the secrets of the variables' names, pull-request jobs the read-only ones."""
    repo_dir = Path(repo_dir)
    variables = list(dict.fromkeys(
        name
        for path in store_files(repo_dir).values()
        for name in store_variables(path.read_text(encoding="utf-8"))
    ))  # fmt: skip
    google = "GOOGLE_APPLICATION_CREDENTIALS" in variables
    located = records_data_location(repo_dir)
    for workflow in sorted((repo_dir / ".github" / "workflows").glob("*.yml")):
        for placeholder, steps_placeholder, rename in (
            (ENV_PLACEHOLDER, STEPS_PLACEHOLDER, str),
            (READONLY_ENV_PLACEHOLDER, READONLY_STEPS_PLACEHOLDER, readonly_name),
        ):
            mapped = "".join(f"      {name}: {_github_value(name, rename)}\n" for name in variables)
            if located:
                mapped += f"      {DATA_LOCATION_VARIABLE}: {DATA_LOCATION_VALUE}\n"
            _replace(workflow, placeholder, "    env:\n" + mapped if mapped else ENV_PLACEHOLDER)
            key_step = _GCP_KEY_STEP.format(secret=rename(GCP_KEY_SECRET), key_file=GCP_KEY_FILE)
            _replace(workflow, steps_placeholder, key_step if google else "")
        _wire_gate_reads(workflow, variables)
    gitlab = repo_dir / ".gitlab-ci.yml"
    listed = "# CI/CD variables feature_store.yaml reads (mask the secret ones): "
    if variables:
        _replace(gitlab, GITLAB_PLACEHOLDER, listed + ", ".join(variables) + "\n")
    readonly = "".join(f"    {name}: ${readonly_name(name)}\n" for name in variables)
    _replace(gitlab, GITLAB_READONLY_PLACEHOLDER, "  variables:\n" + readonly if readonly else "")


# An apply job of an environment after the first: its own secrets, and the one before's
# read-only ones for the promotion gate (rules.environments.scoped_variables).
_GATE_PLACEHOLDER = re.compile(r"^    env: \{\}  # and (\S+)'s, read-only\n", re.M)
_SDK_VARIABLES = {name for names in CLOUD_VARIABLES.values() for name in names}


def _wire_gate_reads(workflow: Path, variables: list[str]) -> None:
    def mapping(match: re.Match) -> str:
        prefix = scoped_prefix(match[1])
        own = [f"      {name}: {_github_value(name)}\n" for name in variables]
        before = [
            f"      {prefix}{name}: ${{{{ secrets.{prefix}{name} }}}}\n"
            for name in variables if name not in _SDK_VARIABLES
        ]  # fmt: skip
        return "    env:\n" + "".join(own + before) if own or before else ENV_PLACEHOLDER

    text = workflow.read_text(encoding="utf-8")
    workflow.write_text(_GATE_PLACEHOLDER.sub(mapping, text), encoding="utf-8")


def _github_value(name: str, rename=str) -> str:
    if name == "GOOGLE_APPLICATION_CREDENTIALS":
        return GCP_KEY_FILE  # written by the key step from the service account key secret
    return f"${{{{ secrets.{rename(name)} }}}}"


def _replace(path: Path, placeholder: str, text: str) -> None:
    if path.exists():
        content = path.read_text(encoding="utf-8")
        path.write_text(content.replace(placeholder, text), encoding="utf-8")
