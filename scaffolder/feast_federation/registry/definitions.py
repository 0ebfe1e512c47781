"""Feast's own checks of what a repo defines, one object at a time, so that a refusal names
the object and the field in one whole line; and an ODFV run as a feature server runs it.

Feast's inference runs each ODFV's UDF on random inputs and compares what it returns with
the declared schema; what it raises (a field the UDF does not return, one of another type,
an input the sources do not give, anything the UDF itself raises) comes out as a long
multi-line message, or as the bare text of a ``KeyError``, naming neither the ODFV nor the
field. Each is explained here.
"""

from __future__ import annotations

import linecache
from pathlib import Path

from feast.errors import SpecifiedFeaturesNotPresentError

from feast_federation.errors import DefinitionError
from feast_federation.registry.feast067 import (
    odfv_as_served,
    odfv_returned_fields,
    odfv_returns_field,
    odfv_sample_input,
)


def infer_on_demand_views(odfvs: list) -> None:
    """Feast's inference of each ODFV (which it runs again on apply), refused naming the
    ODFV and the field."""
    for odfv in odfvs:
        try:
            odfv.infer_features()
        except Exception as exc:  # what the user's UDF or schema raised
            raise DefinitionError(odfv_problem(odfv, exc)) from None


def odfv_problem(odfv, exc: BaseException) -> str:
    who = f"OnDemandFeatureView {odfv.name}"
    if isinstance(exc, SpecifiedFeaturesNotPresentError):
        return f"{who}: {_schema_mismatch(odfv, exc)}"
    inputs = sorted(_inputs(odfv))
    if isinstance(exc, KeyError) and exc.args and exc.args[0] not in odfv_sample_input(odfv):
        return (
            f"{who}: its UDF reads input {exc.args[0]!r}, which its sources do not give "
            f"(they give {', '.join(inputs) or 'nothing'}){_udf_line(odfv, exc)}"
        )
    return (
        f"{who}: its UDF raised {type(exc).__name__}: {whole_line(exc)}{_udf_line(odfv, exc)} "
        "on sample inputs of its sources' types"
    )


def _schema_mismatch(odfv, exc: BaseException) -> str:
    try:
        returned = odfv_returned_fields(odfv)
    except Exception:  # the UDF behaved differently this time: Feast's own words
        return whole_line(exc)
    by_name = {field.name: field for field in returned}
    problems = []
    for field in odfv.features:
        if odfv_returns_field(odfv, field, returned):
            continue
        got = by_name.get(field.name)
        problems.append(
            f"its schema declares {field.name}, which its UDF does not return"
            if got is None
            else f"its schema declares {field.name} as {field.dtype}, but its UDF returns "
            f"{got.dtype}"
        )
    given = odfv_sample_input(odfv)  # a python-mode UDF's result carries its inputs along
    returns = ", ".join(
        f"{field.name} ({field.dtype})" for field in returned if field.name not in given
    )
    return "; ".join(problems or [whole_line(exc)]) + f" (the UDF returns {returns or 'nothing'})"


def _inputs(odfv) -> dict:
    """The UDF's inputs by name (Feast also passes each as ``view__feature``; those are
    left out)."""
    try:
        inputs = odfv_sample_input(odfv)
    except Exception:  # pragma: no cover - sources Feast cannot sample
        return {}
    return {name: value for name, value in inputs.items() if name.partition("__")[2] not in inputs}


def _udf_line(odfv, exc: BaseException) -> str:
    """`` at FILE:LINE (the line)``: the UDF's own line that raised, when it is in the
    traceback."""
    code = getattr(getattr(odfv.feature_transformation, "udf", None), "__code__", None)
    found, tb = None, exc.__traceback__
    while tb is not None:
        if code is not None and tb.tb_frame.f_code is code:
            found = tb
        tb = tb.tb_next
    if found is None:
        return ""
    filename, lineno = found.tb_frame.f_code.co_filename, found.tb_lineno
    try:
        shown = Path(filename).resolve().relative_to(Path.cwd())
    except ValueError:
        shown = Path(filename).name
    return f" at {shown}:{lineno} ({linecache.getline(filename, lineno).strip()})"


def whole_line(exc: BaseException) -> str:
    """All of an exception's text on one line (Feast's messages span several)."""
    return " ".join(str(exc).split()) or type(exc).__name__


# --- an ODFV as a feature server runs it -------------------------------------------------


def serving_problem(odfv, inputs: dict) -> str | None:
    """What goes wrong when a server rebuilds ``odfv`` from its proto and runs it on
    ``inputs``; None when it returns every declared field."""
    import pyarrow as pa

    try:
        rebuilt = odfv_as_served(odfv)
        if rebuilt is None:
            return (
                "its UDF's source does not rebuild on its own (a server would need this "
                "repo's modules): define it as a plain top-level function"
            )
        if rebuilt.mode == "python":
            outputs = rebuilt.transform_dict(dict(inputs))
        else:
            outputs = rebuilt.transform_arrow(pa.Table.from_pydict(inputs)).to_pydict()
    except Exception as exc:  # what the rebuilt UDF raised
        lines = str(exc).strip().splitlines()
        return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    missing = [field.name for field in odfv.features if field.name not in outputs]
    return f"LookupError: it returned no {', '.join(missing)}" if missing else None
