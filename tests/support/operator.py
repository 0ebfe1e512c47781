"""Validating Feast Operator FeatureStore resources offline.

The operator's CRD is not vendored here; ``schemas/feast-operator-featurestore.json`` states
the subset of its API the platform template uses, written from the CRD. When
``FEAST_OPERATOR_CRD`` names a copy of the real CRD
(``infra/feast-operator/config/crd/bases/feast.dev_featurestores.yaml``), resources are
checked against it too.
"""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from pathlib import Path

import yaml

SCHEMA = Path(__file__).resolve().parent / "schemas" / "feast-operator-featurestore.json"
CRD_VARIABLE = "FEAST_OPERATOR_CRD"


def errors(doc: dict, schema: dict) -> list[str]:
    """Every violation of ``schema`` by ``doc``, each as 'path: message'."""
    from jsonschema import Draft202012Validator

    found = Draft202012Validator(schema).iter_errors(doc)
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found)


@cache
def template_schema() -> dict:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


@cache
def crd_schema(version: str = "v1") -> dict | None:
    """The CRD's openAPIV3Schema for ``version``, as the API server applies it with strict
    field validation (kubectl's default): unknown fields are errors, not silently pruned.
    None when FEAST_OPERATOR_CRD is not set."""
    path = os.environ.get(CRD_VARIABLE)
    if not path:
        return None
    crd = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    [served] = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = copy.deepcopy(served["schema"]["openAPIV3Schema"])
    _strict(schema)
    # The API server checks ObjectMeta itself; the CRD says only "object".
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


def _strict(node: object) -> None:
    if isinstance(node, dict):
        closed = "properties" in node and "additionalProperties" not in node
        if closed and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        for value in node.values():
            _strict(value)
    elif isinstance(node, list):
        for value in node:
            _strict(value)
