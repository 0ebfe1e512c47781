"""The generated Kubernetes manifests get exactly the variables their config file reads, each
from the org's Secret; the same list the pipelines get (``ci_secrets.store_variables``).

A manifest marks each container's place with ``env: []  # variables of FILE``; FILE is the
config the container runs with (the registry server's adds its auth settings).

The Feast Operator writes its own feature_store.yaml and takes a store's settings from the
spec or a Secret: ``KEY: ""  # SECTION of FILE`` becomes that setting of FILE (a dotted
path), a section without its ``type``, so the operator runs with the repo's settings,
``${VAR}`` references included.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from feast_federation.onboarding.ci_secrets import store_variables

K8S_DIR = "k8s"
GCP_KEY_PATH = "/var/run/secrets/google/key.json"
_MARKER = re.compile(r"^(?P<indent> *)env: \[\]  # variables of (?P<file>[\w.]+)\n", re.MULTILINE)
_SETTING = re.compile(
    r'^(?P<indent> *)(?P<key>\w+): ""  # (?P<section>[\w.]+) of (?P<file>[\w.]+)\n', re.MULTILINE
)
# Feast's name for the store kind; the operator takes it from the spec, never the settings.
_KIND_KEYS = ("type", "registry_type")


def secret_name(project: str) -> str:
    return f"{project.lower().replace('_', '-')}-feast-store"


def wire_k8s_secrets(repo_dir: Path, project: str) -> None:
    """Fill each manifest's ``env: []`` marker from the config file it names."""
    for manifest in sorted((Path(repo_dir) / K8S_DIR).glob("*.yaml")):
        text = manifest.read_text(encoding="utf-8")
        filled = _MARKER.sub(lambda m: _env_block(repo_dir, project, m), text)
        filled = _SETTING.sub(lambda m: _setting(repo_dir, m), filled)
        if filled != text:
            manifest.write_text(filled, encoding="utf-8")


def _env_block(repo_dir: Path, project: str, marker: re.Match) -> str:
    indent, config = marker["indent"], Path(repo_dir) / marker["file"]
    variables = store_variables(config.read_text(encoding="utf-8"))
    if not variables:
        return f"{indent}env: []  # {marker['file']} reads no variables\n"
    lines = [f"{indent}env:  # what {marker['file']} reads, from Secret {secret_name(project)}"]
    for name in variables:
        lines.append(f"{indent}  - name: {name}")
        if name == "GOOGLE_APPLICATION_CREDENTIALS":  # a path: mount the key, or use
            lines.append(f"{indent}    value: {GCP_KEY_PATH}")  # Workload Identity instead
            continue
        lines += [
            f"{indent}    valueFrom:",
            f"{indent}      secretKeyRef:",
            f"{indent}        name: {secret_name(project)}",
            f"{indent}        key: {name}",
        ]
    return "\n".join(lines) + "\n"


def _setting(repo_dir: Path, marker: re.Match) -> str:
    indent, key = marker["indent"], marker["key"]
    value = yaml.safe_load((Path(repo_dir) / marker["file"]).read_text(encoding="utf-8"))
    for part in marker["section"].split("."):
        value = value[part]
    if not isinstance(value, dict):  # JSON strings are YAML: quoted, escaped data
        return f"{indent}{key}: {json.dumps(value)}\n"
    settings = {name: v for name, v in value.items() if name not in _KIND_KEYS}
    body = yaml.safe_dump(settings, sort_keys=False, default_flow_style=False)
    lines = [f"{indent}{key}: |", *(f"{indent}  {line}" for line in body.splitlines())]
    return "\n".join(lines) + "\n"
