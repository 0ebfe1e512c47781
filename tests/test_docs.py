"""Every message quoted in docs/troubleshooting.md is produced here, word for word."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from support import ROOT, build_org, invoke, run

DOC = ROOT / "docs" / "troubleshooting.md"
MESSAGE = re.compile(r"```message id=([\w-]+)\n(.*?)\n```", re.S)
THRESHOLD = 0.5  # a module constant the ODFV below wrongly relies on
MAIN_SHA = "a1" * 20  # the merge commit on main (support.forges)


def documented() -> dict[str, str]:
    return dict(MESSAGE.findall(DOC.read_text()))


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    platform, (marketing, risk) = build_org(tmp_path_factory.mktemp("docs") / "org")
    return SimpleNamespace(platform=platform, marketing=marketing, risk=risk)


def refusal(*args) -> str:
    result = invoke(*args)
    assert result.exit_code != 0, result.output
    return result.output


def planted(repo: Path, code: str, *args, name: str = "planted.py") -> str:
    path = repo / name
    path.write_text(code)
    try:
        return refusal(*args, repo) if args else refusal("check", repo)
    finally:
        path.unlink()


def guard(repo: Path, name: str, text: str) -> str:
    (repo / name).write_text(text)
    try:
        return run(
            [sys.executable, str(ROOT / "hooks" / "guard_stock_apply.py"), name], cwd=repo
        ).stderr
    finally:
        (repo / name).unlink()


def fake_remote_store():
    registry = SimpleNamespace(registry_type="remote", path="registry.acme.io:6570")
    auth = SimpleNamespace(token_env_var="FEAST_REGISTRY_TOKEN")
    return SimpleNamespace(config=SimpleNamespace(registry=registry, auth_config=auth))


# --- one scenario per documented failure --------------------------------------------------


def stock_apply(org):
    return guard(org.marketing, "deploy.sh", "#!/bin/sh\nfeast apply\n")


def partial_false(org):
    return guard(org.marketing, "cleanup.py", "store.apply(objs, partial=False)\n")


def outside_prefix(org):
    return planted(org.marketing, SERVICE.format(name="campaign"))


def team_feature_view(org):
    return planted(org.marketing, VIEW)


def replaces_source(org):
    from feast import FeatureStore, FileSource

    legacy = FileSource(name="marketing_legacy", path="/tmp/legacy.parquet", timestamp_field="ts")
    FeatureStore(repo_path=str(org.platform)).apply([legacy])
    return planted(org.marketing, REQUEST.format(name="marketing_legacy"))


def odfv_writes(org):
    return planted(org.risk, WRITING_ODFV)


def unregistered(org):
    baked = cli_ok(
        "add-team", "ghost", "--platform", org.platform, "--output-dir", org.marketing.parent
    )
    return refusal("apply", org.marketing.parent / "ghost") if baked else ""


def no_policy(org):
    store = org.risk / "feature_store.yaml"
    original = store.read_text()
    store.write_text(original.replace("project: acme", "project: elsewhere"))
    try:
        return refusal("apply", org.risk)
    finally:
        store.write_text(original)


def missing_view(org):
    return (
        planted(
            org.risk,
            "from feast_federation import platform_view\nx = platform_view('driver_stats')\n",
        )
        if _drop_driver_stats(org)
        else ""
    )


def reference_missing_view(org):
    return planted(org.marketing, NAMED.format(name="marketing_seed", ref="user_featurs"))


def reference_missing_feature(org):
    return planted(org.marketing, NAMED.format(name="marketing_seed", ref="user_features:agee"))


def reference_missing_version(org):
    store = org.risk / "feature_store.yaml"
    original = store.read_text()
    store.write_text(original.replace("\nregistry:\n", VERSIONED_READS, 1))
    try:
        return planted(org.risk, NAMED.format(name="risk_pinned", ref="user_features@v7"))
    finally:
        store.write_text(original)


def pin_not_served(org):
    return planted(org.marketing, NAMED.format(name="marketing_pinned", ref="user_features@v0"))


def no_promote(org):
    return refusal("apply", org.platform, "--no-promote")


def breaks_team(org):
    views = org.platform / "feature_views.py"
    original = views.read_text()
    views.write_text(original[: original.index("customer_features = FeatureView(")])
    try:
        return refusal("plan", org.platform)
    finally:
        views.write_text(original)


def odfv_source(org):
    from feast import Field, RequestSource
    from feast.on_demand_feature_view import on_demand_feature_view
    from feast.types import Float64

    from feast_federation.testing import transform_in_fresh_process

    request = RequestSource(name="marketing_amounts", schema=[Field(name="amount", dtype=Float64)])

    @on_demand_feature_view(
        sources=[request], schema=[Field(name="high", dtype=Float64)], mode="python"
    )
    def marketing_scored(inputs: dict) -> dict:
        return {"high": [float(amount > THRESHOLD) for amount in inputs["amount"]]}

    with pytest.raises(AssertionError) as failed:
        transform_in_fresh_process(marketing_scored, {"amount": [1.0]})
    return str(failed.value)


def project_hyphen(org):
    return refusal(
        "bootstrap", org.platform.parent / "hyphen", "--project", "my-org", "--team", "ab"
    )


def locked(org, monkeypatch):
    import sqlite3

    from feast_federation.errors import FederationError
    from feast_federation.transaction import transaction as concurrency

    monkeypatch.setattr(concurrency.time, "sleep", lambda seconds: None)

    def always_locked():
        raise sqlite3.OperationalError("database is locked")

    with pytest.raises(FederationError) as failed:
        concurrency.retry_when_locked(always_locked)
    return str(failed.value)


def server_denied(org):
    from feast.errors import FeastPermissionError

    from feast_federation.registry.server_errors import _explain

    denial = FeastPermissionError(
        "Permission federation-team-risk-write denied execution of ['CREATE'] to "
        "FeatureService:risk_x: Requires roles ['feast-team-risk']"
    )
    return _explain(fake_remote_store(), "marketing", denial)


def server_token(org, monkeypatch):
    from feast_federation.registry.server_errors import _explain

    monkeypatch.setenv("FEAST_REGISTRY_TOKEN", "not-a-token")
    rejected = RuntimeError('status = StatusCode.UNKNOWN details = "Error in service handler!"')
    return _explain(fake_remote_store(), "marketing", rejected)


def restore_through_server(org):
    from feast_federation.errors import FederationError
    from feast_federation.ops.restore import refuse_registry_server

    with pytest.raises(FederationError) as failed:
        refuse_registry_server(org.platform, fake_remote_store(), "3")
    return str(failed.value)


def object_store(org):
    from feast_federation.errors import FederationError
    from feast_federation.registry.backends import backend_of

    registry = SimpleNamespace(registry_type="file", path="gs://acme-feast/registry.pb")
    store = SimpleNamespace(config=SimpleNamespace(registry=registry), repo_path=".")
    with pytest.raises(FederationError) as failed, backend_of(store).lock():
        pass
    return str(failed.value)


def s3_lock_held(org, monkeypatch):
    import json
    import time

    from feast_federation.errors import FederationError
    from feast_federation.registry.s3_lock import s3_lease
    from support.aws import BUCKET, aws_on_loopback, client

    with aws_on_loopback() as env:
        for name, value in {**env, "FEAST_FEDERATION_LOCK_WAIT_SECONDS": "0"}.items():
            monkeypatch.setenv(name, value)
        held = {"holder": "ci-runner-7:4242:abcd", "renewed": time.time()}
        client(env, "s3").put_object(
            Bucket=BUCKET, Key="acme/registry.pb.lock", Body=json.dumps(held).encode()
        )
        with pytest.raises(FederationError) as failed, s3_lease(f"s3://{BUCKET}/acme/registry.pb"):
            pass
    return str(failed.value)


def stale_plan(org, tmp_path):
    saved = tmp_path / "marketing.plan.json"
    assert cli_ok("plan", org.marketing, "--out", saved) or saved.is_file()
    _touch_customer_features(org, "changed under a saved plan")
    try:
        return refusal("apply", saved)
    finally:
        _touch_customer_features(org, None)


def unconfirmed_deletion(org):
    planted_service = org.marketing / "planted.py"
    planted_service.write_text(SERVICE.format(name="marketing_old"))
    assert cli_ok("apply", org.marketing)
    planted_service.unlink()
    try:
        return refusal("apply", org.marketing, "--prune")
    finally:
        invoke("apply", org.marketing, "--prune", "--yes")


def lock_timeout(org):
    import fcntl
    import json

    lock_path = org.platform / "data" / "registry.db.lock"
    holder = {"pid": 4242, "host": "ci-runner-7", "repo": "", "since": "2026-11-29T09:00:00+00:00"}
    with lock_path.open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.seek(0)
        lock.truncate()
        lock.write(json.dumps(holder))
        lock.flush()
        output = refusal("plan", org.marketing, "--lock-timeout", "0")
    return output.replace(str(org.platform.parent), "/srv/org")


def checkout_path(org):
    code = (
        "from pathlib import Path\nfrom feast import FileSource\n"
        "local = FileSource(name='local_source', timestamp_field='ts',\n"
        "    path=str(Path(__file__).parent / 'data' / 'local.parquet'))\n"
    )
    return planted(org.platform, code).replace(str(org.platform.parent), "/srv/org")


def templated_value(org):
    return refusal("add-team", "fraud", "--platform", org.platform, "--owner", "{{ x }}@acme.io")


def prefix_takes_platform(org):
    return refusal("add-team", "user", "--platform", org.platform, "--owner", "u@acme.io")


def odfv_schema(org):
    return planted(
        org.marketing,
        DISCOUNT.replace("BODY", '"discont": [a / 10 for a in inputs["amount"]]'),
        "apply",
        name="discounts.py",
    )


def odfv_type(org):
    return planted(
        org.marketing,
        DISCOUNT.replace("BODY", '"discount": [str(a) for a in inputs["amount"]]'),
        "apply",
        name="discounts.py",
    )


def odfv_input(org):
    return planted(
        org.marketing,
        DISCOUNT.replace("BODY", '"discount": [a / 10 for a in inputs["amont"]]'),
        "apply",
        name="discounts.py",
    )


def odfv_raises(org):
    return planted(
        org.marketing,
        DISCOUNT.replace("BODY", '"discount": [a / 0 for a in inputs["amount"]]'),
        "apply",
        name="discounts.py",
    )


def odfv_serving(org):
    code = "RATE = 0.1\n" + DISCOUNT.replace(
        "BODY", '"discount": [a * RATE for a in inputs["amount"]]'
    )
    return planted(org.marketing, code, "apply", name="discounts.py")


def view_typo(org):
    return planted(
        org.marketing,
        "from feast_federation import platform_view\nx = platform_view('user_feature')\n",
        "apply",
    )


def features_string(org):
    return planted(
        org.marketing,
        "from feast_federation import platform_view\nx = platform_view('user_features', 'age')\n",
        "apply",
    )


def team_typo(org):
    project = org.marketing / "pyproject.toml"
    original = project.read_text()
    project.write_text(original.replace('team = "marketing"', 'team = "marketnig"'))
    try:
        return refusal("apply", org.marketing)
    finally:
        project.write_text(original)


def left_behind(org):
    service = org.marketing / "planted.py"
    service.write_text(SERVICE.format(name="marketing_old"))
    assert cli_ok("apply", org.marketing)
    service.unlink()
    try:
        return invoke("plan", org.marketing).output
    finally:
        invoke("apply", org.marketing, "--prune", "--yes")


def hook_missing(org):
    sys.path.insert(0, str(ROOT / "hooks"))
    try:
        import template_guard
    finally:
        sys.path.remove(str(ROOT / "hooks"))
    return str(template_guard.Refusal(template_guard._missing("feast_federation")))


def policy_layout(org, monkeypatch, tmp_path):
    from feast_federation.errors import FederationError
    from feast_federation.rules.policy import check_registrable

    (tmp_path / "federation.yaml").write_text(
        "project: acme\nteams: {risk: {prefix: risk_, owners: [r@acme.io]}}\n"
    )
    monkeypatch.setitem(sys.modules, "ruamel", None)  # as under plain cookiecutter
    monkeypatch.setitem(sys.modules, "ruamel.yaml", None)
    with pytest.raises(FederationError) as failed:
        check_registrable(tmp_path, "payments", ["p@acme.io"])
    return str(failed.value)


def local_runner(org, tmp_path):
    return invoke("bootstrap", tmp_path / "org").output


def placeholder_url(org, tmp_path):
    return invoke("bootstrap", tmp_path / "org").output


def _touch_customer_features(org, description: str | None) -> None:
    if description is None:
        assert cli_ok("apply", org.platform, "--yes")
        return
    from feast import FeatureStore

    store = FeatureStore(repo_path=str(org.platform))
    view = store.get_feature_view("customer_features")
    view.description = description
    store.apply([view])


def cli_ok(*args) -> bool:
    return invoke(*args).exit_code == 0


def _drop_driver_stats(org) -> bool:
    views = org.platform / "feature_views.py"
    text = views.read_text()
    start, end = text.index("driver_stats = FeatureView("), text.index("customer_features = ")
    views.write_text(text[:start] + text[end:])
    return cli_ok("apply", org.platform, "--yes")


SERVICE = (
    "from feast import FeatureService\nfrom feast_federation import platform_view\n"
    "s = FeatureService(name='{name}', features=[platform_view('user_features')])\n"
)
NAMED = "from feast import FeatureService\ns = FeatureService(name='{name}', features=['{ref}'])\n"
VERSIONED_READS = "\nregistry:\n  enable_online_feature_view_versioning: true\n"
REQUEST = (
    "from feast import Field, RequestSource\nfrom feast.types import Float64\n"
    "r = RequestSource(name='{name}', schema=[Field(name='x', dtype=Float64)])\n"
)
VIEW = (
    "from datetime import timedelta\nfrom feast import FeatureView, Field, FileSource\n"
    "from feast.types import Int64\n"
    "marketing_copy = FeatureView(name='marketing_copy', source=FileSource(\n"
    "    name='marketing_copy_source', path='/tmp/x.parquet', timestamp_field='ts'),\n"
    "    schema=[Field(name='age', dtype=Int64)], ttl=timedelta(days=1))\n"
)
WRITING_ODFV = (
    "from feast import Field\nfrom feast.on_demand_feature_view import on_demand_feature_view\n"
    "from feast.types import Float64\nfrom feast_federation import platform_view\n"
    "@on_demand_feature_view(sources=[platform_view('user_features')], mode='python',\n"
    "    schema=[Field(name='double_age', dtype=Float64)], write_to_online_store=True)\n"
    "def risk_written(inputs):\n"
    "    return {'double_age': [2.0 * a for a in inputs['age']]}\n"
)


def object_name(org):
    return planted(org.marketing, SERVICE.format(name="marketing_b[/]"))


def plan_shape(org, tmp_path):
    import json

    from feast_federation.transaction.saved import _checksum

    saved = tmp_path / "marketing.plan.json"
    invoke("plan", org.marketing, "--out", saved)
    body = json.loads(saved.read_text())
    del body["checksum"]
    body["definitions"] = list(body["definitions"])
    saved.write_text(json.dumps(body | {"checksum": _checksum(body)}))
    return refusal("apply", saved)


def _fetch_refusal(fake, environ: dict) -> str:
    """What reviewed-plan refuses with, against ``fake`` served on 127.0.0.1."""
    from feast_federation.ci.reviewed import fetch_reviewed_plan
    from feast_federation.errors import FederationError
    from support.forges import serving

    with serving(fake) as base, pytest.raises(FederationError) as failed:
        if hasattr(fake, "pulls"):
            env = fake.environment(base, MAIN_SHA, "feature-store.yml")
        else:
            env = fake.environment(base, MAIN_SHA)
        fetch_reviewed_plan(env | environ)
    return str(failed.value)


def _github(**pull) -> object:
    from support.forges import github_merged

    fake = github_merged("acme/platform", "feature-store.yml", b"{}")
    fake.pulls[0].update(pull)
    fake.artifacts.clear()
    return fake


def fork_pull_request(org):
    fake = _github(head_repo="mallory/platform")
    fake.runs[0]["head_repository"] = "mallory/platform"
    return _fetch_refusal(fake, {})


def dependabot_pull_request(org):
    return _fetch_refusal(_github(author="dependabot[bot]", author_type="Bot"), {})


def ghes_artifact(org):
    return _fetch_refusal(_github(), {"GITHUB_SERVER_URL": "https://ghe.acme.io"})


def head_pipeline(org):
    from support.forges import HEAD_SHA, FakeGitLab

    fake = FakeGitLab()
    fake.merged(5, b"{}", merge_commit_sha=MAIN_SHA, head=HEAD_SHA, status="running")
    return _fetch_refusal(fake, {})


def _github_replying(answer) -> object:
    from support.forges import github_merged

    fake = github_merged("acme/platform", "feature-store.yml", b"{}")
    fake.replies = {f"/repos/acme/platform/commits/{MAIN_SHA}/pulls": answer}
    return fake


def reply_too_big(org):
    from feast_federation.ci.reviewed import MAX_REPLY_BYTES
    from support.forges import Answer

    return _fetch_refusal(_github_replying(Answer(200, b" " * (MAX_REPLY_BYTES + 1))), {})


def fetch_deadline(org):
    from support.forges import Answer

    trickle = Answer(200, b"[]" * 40, trickle=0.05)
    return _fetch_refusal(_github_replying(trickle), {"FEAST_PLAN_FETCH_SECONDS": "1"})


def malformed_reply(org):
    from support.forges import Answer

    return _fetch_refusal(_github_replying(Answer.json({"message": "a mapping"})), {})


def skip_ci(org, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", "schedule")
    service = org.marketing / "skipped.py"
    service.write_text(SERVICE.format(name="marketing_skipped"))
    try:
        return invoke("apply", org.marketing).output
    finally:
        service.unlink()
        invoke("apply", org.marketing, "--prune", "--yes")


def module_exits(org):
    module = org.marketing / "exits.py"
    module.write_text("import os\n\nos._exit(0)\n")
    try:
        return refusal("plan", org.marketing)
    finally:
        module.unlink()


def outside_link(org, tmp_path):
    outside = tmp_path / "elsewhere.py"
    outside.write_text(SERVICE.format(name="marketing_linked"))
    link = org.marketing / "linked.py"
    link.symlink_to(outside)
    try:
        return refusal("check", "--offline", org.marketing).replace(str(tmp_path), "/srv")
    finally:
        link.unlink()


def duplicate_key(org):
    policy = org.platform / "federation.yaml"
    original = policy.read_text()
    twice = "  marketing:\n    owners: [mallory@evil.io]\n  risk:\n"
    policy.write_text(original.replace("  risk:\n", twice, 1))
    try:
        return refusal("plan", org.platform)
    finally:
        policy.write_text(original)


def log_chain(org):
    from feast import FeatureService

    from feast_federation.errors import FederationError
    from feast_federation.ops.restore import refuse_broken_chain
    from feast_federation.registry.protos import encode_object

    def image(description: str) -> str:
        service = FeatureService(name="marketing_campaign_model", features=[],
                                 description=description)  # fmt: skip
        return encode_object("feature_services", service.to_proto())

    change = {"kind": "FeatureService", "name": "marketing_campaign_model"}
    entries = [
        {"id": 8, "changes": [change | {"action": "add", "before": None, "after": image("a")}]},
        {"id": 9, "changes": [change | {"action": "update", "before": image("b"),
                                        "after": image("c")}]},
    ]  # fmt: skip
    with pytest.raises(FederationError) as failed:
        refuse_broken_chain(entries, entries[1:], "7")
    return str(failed.value)


def damaged_sqlite(org):
    import sqlite3

    from feast_federation.registry.engine_errors import explain

    return explain(sqlite3.DatabaseError("database disk image is malformed"))


DISCOUNT = """from feast import Field, RequestSource
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64
from feast_federation import platform_view

basket = [Field(name="amount", dtype=Float64)]
marketing_basket = RequestSource(name="marketing_basket", schema=basket)


@on_demand_feature_view(
    sources=[platform_view("user_features", ["age"]), marketing_basket],
    schema=[Field(name="discount", dtype=Float64)],
    mode="python",
)
def marketing_discount(inputs: dict) -> dict:
    return {BODY}
"""


# Destructive scenarios (missing-view drops a platform view) run last.
def lost_write(org, monkeypatch):
    """A service removed from a file registry between the write's commit and its read-back."""
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.registry import feast067
    from feast_federation.rules.choices import Backends

    root = org.platform.parent.parent / "file-org"
    if not root.exists():
        platform, (marketing,) = bootstrap_org(
            root, project="acme", owners=["p@acme.io"], teams=[("marketing", "customer_features")],
            backends=Backends("file", "sqlite", "file"), ci="none",
        )  # fmt: skip
        assert invoke("apply", platform, "--yes").exit_code == 0
    marketing = root / "teams" / "marketing"
    read_back = feast067.stored_proto

    def behind_its_back(store):
        proto = read_back(store)
        kept = [s for s in proto.feature_services if s.spec.name != "marketing_extra"]
        del proto.feature_services[:]
        proto.feature_services.extend(kept)
        return proto

    monkeypatch.setattr(feast067, "stored_proto", behind_its_back)
    return planted(
        marketing,
        "from feast import FeatureService\nfrom feast_federation import platform_view\n"
        "marketing_extra = FeatureService(name='marketing_extra',\n"
        "    features=[platform_view('customer_features')])\n",
        "apply",
    )


def engine_offline_store(org, tmp_path):
    return refusal("bootstrap", tmp_path / "org", "--compute-engine", "spark")


def operator_engine(org, tmp_path):
    from feast_federation.errors import FederationError
    from feast_federation.onboarding import bake_platform
    from feast_federation.rules.choices import Backends

    try:
        bake_platform(tmp_path, project="acme", owners=["p@x.io"], deploy="feast-operator",
                      backends=Backends(offline_store="ray", compute_engine="ray"))  # fmt: skip
    except FederationError as exc:
        return f"error: {exc}"
    return ""


def _environments_org(tmp_path) -> Path:
    from feast_federation.onboarding import bootstrap_org

    platform, _ = bootstrap_org(tmp_path / "envs", project="acme", owners=["p@acme.io"],
                                teams=[], environments=("staging", "production"))  # fmt: skip
    return platform


def env_none(org):
    return refusal("plan", org.platform, "--env", "staging")


def env_needed(org, tmp_path):
    return refusal("plan", _environments_org(tmp_path))


def env_unknown(org, tmp_path):
    return refusal("plan", _environments_org(tmp_path), "--env", "qa")


def promotion_refused(org, tmp_path):
    platform = _environments_org(tmp_path)
    assert cli_ok("apply", platform, "--yes", "--env", "staging")
    return refusal("apply", platform, "--yes", "--env", "production")


def verify_pending(org):
    return planted(
        org.marketing,
        "from feast import FeatureService\nfrom feast_federation import platform_view\n"
        "marketing_unapplied = FeatureService(name='marketing_unapplied',\n"
        "    features=[platform_view('customer_features')])\n",
        "verify",
    )


SCENARIOS = {
    "engine-offline-store": engine_offline_store, "operator-engine": operator_engine,
    "stock-apply": stock_apply, "partial-false": partial_false, "outside-prefix": outside_prefix,
    "team-feature-view": team_feature_view, "replaces-source": replaces_source,
    "odfv-writes": odfv_writes, "unregistered": unregistered, "no-policy": no_policy,
    # Before a platform apply publishes the team "unregistered" adds (its list would name it).
    "team-typo": team_typo,
    "breaks-team": breaks_team, "odfv-source": odfv_source, "project-hyphen": project_hyphen,
    "locked": locked, "server-denied": server_denied, "server-token": server_token,
    "restore-through-server": restore_through_server,
    "object-store": object_store, "s3-lock-held": s3_lock_held, "stale-plan": stale_plan,
    "unconfirmed-deletion": unconfirmed_deletion, "lock-timeout": lock_timeout,
    "templated-value": templated_value, "prefix-takes-platform": prefix_takes_platform,
    "object-name": object_name, "plan-shape": plan_shape,
    "fork-pull-request": fork_pull_request, "dependabot-pull-request": dependabot_pull_request,
    "ghes-artifact": ghes_artifact, "head-pipeline": head_pipeline,
    "reply-too-big": reply_too_big, "fetch-deadline": fetch_deadline,
    "malformed-reply": malformed_reply, "skip-ci": skip_ci, "module-exits": module_exits,
    "outside-link": outside_link, "duplicate-key": duplicate_key, "log-chain": log_chain,
    "damaged-sqlite": damaged_sqlite,
    "checkout-path": checkout_path,
    "odfv-schema": odfv_schema, "odfv-type": odfv_type, "odfv-input": odfv_input,
    "odfv-raises": odfv_raises, "odfv-serving": odfv_serving, "view-typo": view_typo,
    "features-string": features_string, "left-behind": left_behind,
    "hook-missing": hook_missing, "policy-layout": policy_layout,
    "local-runner": local_runner, "placeholder-url": placeholder_url,
    "reference-missing-view": reference_missing_view,
    "reference-missing-feature": reference_missing_feature,
    "reference-missing-version": reference_missing_version, "pin-not-served": pin_not_served,
    "no-promote": no_promote,
    "env-none": env_none, "env-needed": env_needed, "env-unknown": env_unknown,
    "promotion-refused": promotion_refused, "verify-pending": verify_pending,
    "missing-view": missing_view, "lost-write": lost_write,
}  # fmt: skip


def test_every_documented_message_has_a_scenario():
    assert set(documented()) == set(SCENARIOS)


@pytest.mark.slow
@pytest.mark.parametrize("message_id", list(SCENARIOS))
def test_documented_message_is_what_the_code_prints(org, message_id, monkeypatch, tmp_path):
    scenario = SCENARIOS[message_id]
    wanted = scenario.__code__.co_varnames[1 : scenario.__code__.co_argcount]
    fixtures = {"monkeypatch": monkeypatch, "tmp_path": tmp_path}
    output = scenario(org, *(fixtures[name] for name in wanted))
    assert documented()[message_id] in output, output
