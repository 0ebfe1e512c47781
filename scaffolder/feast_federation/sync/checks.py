"""The ODFV serving check: every ODFV a repo defines, run the way a server runs it.

Feast rebuilds an ODFV's UDF from its source text wherever it serves it, with only ``pd`` and
``np`` in scope: a UDF that reads a module-level import, constant or helper passes every test
that calls it in the defining process and fails when served. ``odfv_serving_problems`` runs
every ODFV a repo defines rebuilt from its registry proto in a fresh interpreter that never
imported the repo, on inputs made from its sources' schemas: ``check`` and the team
template's tests run it. Every team plan and apply runs ``changed_odfv_problems``: the same
rebuild, in this process (Feast execs the source in a namespace of its own, holding only
pandas and numpy, so a module-level name fails here exactly as it does when served), for
the ODFVs the plan adds or updates only.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from feast_federation.errors import FederationError
from feast_federation.registry.definitions import serving_problem
from feast_federation.registry.kinds import kind_of
from feast_federation.rules.ownership import ON_DEMAND_FEATURE_VIEW
from feast_federation.rules.repo import find_repo

# Every ODFV of a repo in one fresh interpreter (Feast is imported once): each is rebuilt
# from its proto and run on its inputs; the first line of what it raised is its problem.
_REHYDRATE_EACH = """
import base64, json, sys, traceback
import pyarrow as pa
from feast.on_demand_feature_view import OnDemandFeatureView
from feast.protos.feast.core.OnDemandFeatureView_pb2 import OnDemandFeatureView as Proto

problems = {}
for case in json.load(sys.stdin):
    try:
        proto = Proto.FromString(base64.b64decode(case["odfv"]))
        odfv = OnDemandFeatureView.from_proto(proto)
        if odfv.mode == "python":
            outputs = odfv.transform_dict(dict(case["inputs"]))
        else:
            outputs = odfv.transform_arrow(pa.Table.from_pydict(case["inputs"])).to_pydict()
        missing = [name for name in case["outputs"] if name not in outputs]
        if missing:
            raise LookupError("it returned no " + ", ".join(missing))
    except Exception as exc:
        problems[case["name"]] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
json.dump(problems, sys.stdout)
"""
# Two rows of plausible values for each Feast value type; other types get nulls.
_SAMPLES = {
    "INT32": [1, 2], "INT64": [1, 2], "FLOAT": [1.5, 2.5], "DOUBLE": [1.5, 2.5],
    "STRING": ["a", "b"], "BOOL": [True, False], "BYTES": [None, None],
    "INT32_LIST": [[1], [2]], "INT64_LIST": [[1], [2]], "FLOAT_LIST": [[1.5], [2.5]],
    "DOUBLE_LIST": [[1.5], [2.5]], "STRING_LIST": [["a"], ["b"]], "BOOL_LIST": [[True], [False]],
}  # fmt: skip


def sample_inputs(odfv) -> dict[str, list]:
    """Two rows of inputs for ``odfv``, one column for each field its sources give it (the
    features of each source view projection and the request sources' fields)."""
    fields = [
        *(f for p in odfv.source_feature_view_projections.values() for f in p.features),
        *(f for r in odfv.source_request_sources.values() for f in r.schema),
    ]
    return {f.name: list(_SAMPLES.get(f.dtype.to_value_type().name, [None, None])) for f in fields}


def repo_odfvs(repo_path: Path | str) -> list:
    """Every ODFV the repo defines, found as its apply finds them."""
    from feast_federation.sync.collect import collect

    objects = collect(find_repo(repo_path))
    return sorted((o for o in objects if kind_of(o) == ON_DEMAND_FEATURE_VIEW), key=_name)


def odfv_serving_problems(repo_path: Path | str) -> list[str]:
    """One line for each ODFV of the repo that fails when a server rebuilds it from its
    proto and runs it on inputs made from its sources' schemas."""
    try:
        odfvs = repo_odfvs(repo_path)
    except FederationError as exc:
        return [str(exc)]
    return serving_problems(odfvs)


def serving_problems(odfvs: list) -> list[str]:
    """One line for each of ``odfvs`` that fails rebuilt from its proto in a fresh process."""
    if not odfvs:
        return []
    cases = [
        {
            "name": odfv.name,
            "odfv": base64.b64encode(odfv.to_proto().SerializeToString()).decode(),
            "inputs": sample_inputs(odfv),
            "outputs": [field.name for field in odfv.features],
        }
        for odfv in odfvs
    ]
    result = fresh_python(_REHYDRATE_EACH, json.dumps(cases))
    if result.returncode != 0:
        return [f"ODFVs could not be rebuilt in a fresh process: {_last_line(result.stderr)}"]
    problems = json.loads(result.stdout)
    return [_serving_line(name, problem) for name, problem in sorted(problems.items())]


def changed_odfv_problems(plan) -> list[str]:
    """One line for each ODFV ``plan`` adds or updates that fails when a server rebuilds it
    from its proto and runs it: checked in this process, before anything is written."""
    odfvs = sorted(
        (obj for obj in plan.to_apply if kind_of(obj) == ON_DEMAND_FEATURE_VIEW), key=_name
    )
    found = ((odfv.name, serving_problem(odfv, sample_inputs(odfv))) for odfv in odfvs)
    return [_serving_line(name, problem) for name, problem in found if problem]


def _serving_line(name: str, problem: str) -> str:
    return (
        f"ODFV {name} fails when rebuilt from its source as a server does: {problem} "
        "(import inside the UDF; use no module-level names)"
    )


def _name(obj) -> str:
    return obj.name


def fresh_python(script: str, stdin: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as scratch:
        return subprocess.run(
            [sys.executable, "-I", "-c", script],
            input=stdin, capture_output=True, text=True, cwd=scratch,
        )  # fmt: skip


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1] if text.strip() else "?"
