"""Verifying an environment before its changes are promoted to the next.

For a team: every FeatureService the repo defines fetches online features, from the
environment's stores, for entity keys sampled from the newest rows of the views it reads,
each of its ODFVs runs rebuilt from the environment's registry in a fresh process, and each
service answers a historical retrieval. For the platform: every view was materialized and
serves values for keys from its own source. A service or view that errors or serves only
nulls is one line. The result is logged in the environment's apply log against the repo's
definitions digest: what the promotion gate of the next environment reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from feast_federation import registry, sync, transaction
from feast_federation.registry.location import DEFAULT_LOCK_TIMEOUT
from feast_federation.registry.probes import (
    ProbeFailed,
    historical,
    join_keys,
    online,
    sample_keys,
)
from feast_federation.registry.server_errors import translated
from feast_federation.rules.environments import environment
from feast_federation.rules.ownership import FEATURE_SERVICE, ON_DEMAND_FEATURE_VIEW
from feast_federation.rules.repo import Repo
from feast_federation.sync.checks import sample_inputs, serving_problems
from feast_federation.transaction import Writer
from feast_federation.transaction.applylog import VERIFY, definitions_digest
from feast_federation.transaction.plans import UNCHANGED


@dataclass
class Verification:
    environment: str | None
    digest: str
    checked: list[str] = field(default_factory=list)  # what passed, for the report
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def verify(repo: Repo, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> Verification:
    """Verify ``repo`` in its environment and log the result there."""
    env = environment(repo.path)
    store = registry.open_store(repo.path)
    planned = sync.plan(repo, lock_timeout=lock_timeout)
    result = Verification(env, definitions_digest(planned.definitions))
    pending = [change for change in planned.changes if change.action != UNCHANGED]
    if pending:
        where = f" to {env}" if env else ""
        count = f"{len(pending)} change" + ("s" if len(pending) != 1 else "")
        result.problems.append(
            f"the registry does not hold the repo's definitions ({count} pending): apply "
            f"them{where} first"
        )
    else:
        with translated(store, repo.owner):
            store.refresh_registry()  # what the plan read, not this process's cached copy
            if repo.is_platform:
                _platform(store, result)
            else:
                names = {(c.kind, c.name) for c in planned.changes}
                _team(store, names, result)
    fields = {"definitions": result.digest, "passed": result.passed, "problems": result.problems}
    if env:
        fields["environment"] = env
    transaction.note(store, Writer(repo.owner, repo.path), VERIFY, fields,
                     lock_timeout=lock_timeout)  # fmt: skip
    return result


def _team(store, names: set[tuple[str, str]], result: Verification) -> None:
    odfvs = sorted(n for kind, n in names if kind == ON_DEMAND_FEATURE_VIEW)
    rebuilt = [store.get_on_demand_feature_view(name) for name in odfvs]
    result.problems += serving_problems(rebuilt)
    for name in sorted(n for kind, n in names if kind == FEATURE_SERVICE):
        problem = _service(store, store.get_feature_service(name))
        if problem:
            result.problems.append(f"FeatureService {name}: {problem}")
        else:
            result.checked.append(f"FeatureService {name}")


def _service(store, service) -> str | None:
    views, requests = _inputs(store, service)
    rows = _rows(store, views)
    if rows is None:
        return "no entity keys in the data of the views it reads (is the source empty?)"
    request = {name: values[0] for name, values in requests.items()}
    rows = [{**row, **request} for row in rows]
    try:
        values = online(store, service, rows)
    except ProbeFailed as failed:
        return f"online retrieval fails: {failed}"
    served = [name for name in values if name not in rows[0]]
    if served and all(value is None for name in served for value in values[name]):
        return (
            f"serves only nulls for {len(rows)} keys sampled from its views' data "
            "(materialized? the features it reads exist?)"
        )
    try:
        historical(store, service, rows)
    except ProbeFailed as failed:
        return f"historical retrieval fails: {failed}"
    return None


def _inputs(store, service) -> tuple[list, dict[str, list]]:
    """The platform views a service reads (directly or through its ODFVs) and the request
    fields its ODFVs need, with sample values."""
    views, requests = {}, {}
    for projection in service.feature_view_projections:
        odfv = registry.get(store, ON_DEMAND_FEATURE_VIEW, projection.name)
        if odfv is None:
            views[projection.name] = store.get_feature_view(projection.name)
            continue
        for source in odfv.source_feature_view_projections.values():
            views[source.name] = store.get_feature_view(source.name)
        request_fields = {f.name for r in odfv.source_request_sources.values() for f in r.schema}
        requests |= {k: v for k, v in sample_inputs(odfv).items() if k in request_fields}
    return list(views.values()), requests


def _rows(store, views: list) -> list[dict] | None:
    """Entity rows with every join key the views need, from each view's own newest data."""
    rows: list[dict] = []
    for view in views:
        try:
            keys = sample_keys(store, view)
        except ProbeFailed:
            continue  # the online retrieval names what is wrong with the view
        if not keys:
            if join_keys(store, view):
                return None
            continue
        if not rows:
            rows = keys
        else:
            rows = [{**row, **keys[i % len(keys)]} for i, row in enumerate(rows)]
    return rows or [{}]


def _platform(store, result: Verification) -> None:
    for view in sorted(store.list_feature_views(), key=lambda v: v.name):
        problem = _view(store, view)
        if problem:
            result.problems.append(f"FeatureView {view.name}: {problem}")
        else:
            result.checked.append(f"FeatureView {view.name}")


def _view(store, view) -> str | None:
    if not view.materialization_intervals:
        return "never materialized: run feast-federation materialize"
    try:
        rows = sample_keys(store, view)
        if not rows:
            return "no entity keys in its source's data (is it empty?)"
        values = online(store, [f"{view.name}:{f.name}" for f in view.features], rows)
    except ProbeFailed as failed:
        return f"online retrieval fails: {failed}"
    served = [f.name for f in view.features if f.name in values]
    if served and all(value is None for name in served for value in values[name]):
        return f"serves only nulls for {len(rows)} keys from its source: materialize it"
    return None
