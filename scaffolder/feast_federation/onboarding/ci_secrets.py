"""The generated pipelines get exactly the variables their repo's feature_store.yaml reads,
plus the cloud credentials its stores need.

Credentials live in the CI system's secrets and reach Feast as ``${VAR}`` in
feature_store.yaml, or through the clouds' own SDKs. GitHub passes a secret to a job only
when the workflow names it, so each job's ``env: {}`` placeholder is filled with them, and
a Google Cloud key is written to a file first; GitLab exposes CI/CD variables by itself
(a file variable for the Google key), so its pipeline only lists them.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from feast_federation.rules.choices import Backends

ENV_PLACEHOLDER = "    env: {}\n"
STEPS_PLACEHOLDER = "      # Cloud sign-in, when the stores need it.\n"
GITLAB_PLACEHOLDER = "# CI/CD variables this pipeline reads: none\n"
GCP_KEY_FILE = "/tmp/gcp-service-account.json"
CLOUD_VARIABLES = {
    "aws": ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    "gcp": ["GOOGLE_APPLICATION_CREDENTIALS"],
}
_GCP_KEY_STEP = f"""\
      - name: Google Cloud key from the GCP_SERVICE_ACCOUNT_KEY secret
        env:
          GCP_SERVICE_ACCOUNT_KEY: ${{{{ secrets.GCP_SERVICE_ACCOUNT_KEY }}}}
        run: (umask 077 && printf '%s' "$GCP_SERVICE_ACCOUNT_KEY" > {GCP_KEY_FILE})
"""
_VARIABLE = re.compile(r"\$\{(\w+)\}")


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


def wire_ci_secrets(repo_dir: Path) -> None:
    """Fill the pipeline placeholders of a freshly baked repo from its feature_store.yaml."""
    repo_dir = Path(repo_dir)
    variables = store_variables((repo_dir / "feature_store.yaml").read_text(encoding="utf-8"))
    mapped = "".join(f"      {name}: {_github_value(name)}\n" for name in variables)
    env_block = "    env:\n" + mapped
    steps = _GCP_KEY_STEP if "GOOGLE_APPLICATION_CREDENTIALS" in variables else ""
    for workflow in sorted((repo_dir / ".github" / "workflows").glob("*.yml")):
        if variables:
            _replace(workflow, ENV_PLACEHOLDER, env_block)
        _replace(workflow, STEPS_PLACEHOLDER, steps)
    listed = "# CI/CD variables this pipeline reads (mask the secret ones): "
    if variables:
        gitlab = repo_dir / ".gitlab-ci.yml"
        _replace(gitlab, GITLAB_PLACEHOLDER, listed + ", ".join(variables) + "\n")


def _github_value(name: str) -> str:
    if name == "GOOGLE_APPLICATION_CREDENTIALS":
        return GCP_KEY_FILE  # written by the key step from the GCP_SERVICE_ACCOUNT_KEY secret
    return f"${{{{ secrets.{name} }}}}"


def _replace(path: Path, placeholder: str, text: str) -> None:
    if path.exists():
        content = path.read_text(encoding="utf-8")
        path.write_text(content.replace(placeholder, text), encoding="utf-8")
