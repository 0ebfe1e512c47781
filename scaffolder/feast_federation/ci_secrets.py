"""The generated pipelines get exactly the variables their repo's feature_store.yaml reads.

Credentials live in the CI system's secrets and reach Feast as ``${VAR}`` in
feature_store.yaml. GitHub passes a secret to a job only when the workflow names it, so
each job's ``env: {}`` placeholder is filled with the variables the file reads; GitLab
exposes CI/CD variables by itself, so its pipeline only lists them in a comment.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ENV_PLACEHOLDER = "    env: {}\n"
GITLAB_PLACEHOLDER = "# CI/CD variables this pipeline reads: none\n"
_VARIABLE = re.compile(r"\$\{(\w+)\}")


def store_variables(store_yaml: str) -> list[str]:
    """The environment variables a feature_store.yaml reads, in order (comments aside)."""
    config = yaml.safe_load(store_yaml) or {}
    found = _VARIABLE.findall(" ".join(_strings(config)))
    token = (config.get("auth") or {}).get("token_env_var")
    return list(dict.fromkeys([*found, *([token] if token else [])]))


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
    if not variables:
        return
    env_block = "    env:\n" + "".join(
        f"      {name}: ${{{{ secrets.{name} }}}}\n" for name in variables
    )
    for workflow in sorted((repo_dir / ".github" / "workflows").glob("*.yml")):
        _replace(workflow, ENV_PLACEHOLDER, env_block)
    listed = "# CI/CD variables this pipeline reads (mask the secret ones): "
    _replace(repo_dir / ".gitlab-ci.yml", GITLAB_PLACEHOLDER, listed + ", ".join(variables) + "\n")


def _replace(path: Path, placeholder: str, text: str) -> None:
    if path.exists():
        content = path.read_text(encoding="utf-8")
        path.write_text(content.replace(placeholder, text), encoding="utf-8")
