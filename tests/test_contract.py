"""The platform contract: team repos build on platform_contract.json, so their tests and the
ownership hook need no registry, no credentials and no `import feast`; check and plan, which
read the registry, refuse a contract that differs from it in what the team reads."""

from __future__ import annotations

import json
import os
import sys

import pytest

from support import build_org, cli, invoke, run

UNREACHABLE = "sqlite:////nonexistent/feast-federation/registry.db"
# The hook is checked with Feast made unimportable: a module that imports it fails.
NO_FEAST = (
    "import sys; sys.modules['feast'] = None; sys.argv[0] = 'feast-federation'; "
    "from feast_federation.cli import main; main()"
)
# NO_FEAST, and at exit a report (to $HOOK_REPORT) of what the command touched: the Feast
# modules it loaded, the connections it opened (network, SQLite) and the files it opened
# on the registry's path.
AUDITED = """
import atexit, json, os, sys
sys.modules["feast"] = None
touched = []
def audit(event, args):
    if event in ("socket.connect", "sqlite3.connect"):
        touched.append(f"{event} {args}")
    elif event == "open" and "/nonexistent/" in str(args[0]):
        touched.append(f"open {args[0]}")
sys.addaudithook(audit)
def report():
    loaded = [name for name, module in sys.modules.items()
              if module is not None and (name == "feast" or name.startswith("feast."))]
    with open(os.environ["HOOK_REPORT"], "w") as out:
        json.dump({"feast": sorted(loaded), "touched": touched}, out)
atexit.register(report)
sys.argv[0] = "feast-federation"
from feast_federation.cli import main
main()
"""


def cut_off_registry(repo) -> None:
    store = repo / "feature_store.yaml"
    text = store.read_text()
    registry = next(line for line in text.splitlines() if "registry.db" in line)
    store.write_text(text.replace(registry.split("path: ")[1], UNREACHABLE))


@pytest.fixture(scope="module")
def baked(tmp_path_factory):
    """An org baked and never applied: no registry exists anywhere."""
    from feast_federation.onboarding import bootstrap_org

    root = tmp_path_factory.mktemp("org")
    platform, [team] = bootstrap_org(
        root, project="acme", owners=["p@acme.io"], teams=(("risk", "user_features"),)
    )
    for repo in (platform, team):
        cut_off_registry(repo)
    return platform, team


def test_add_team_copies_the_platforms_contract(baked):
    platform, team = baked
    contract = json.loads((team / "platform_contract.json").read_text())
    assert contract == json.loads((platform / "platform_contract.json").read_text())
    assert contract["views"]["user_features"]["fields"] == {
        "account_balance": "Float64", "age": "Int64",
    }  # fmt: skip
    assert contract["views"]["user_features"]["entities"] == [
        {"join_key": "user_id", "name": "user", "value_type": "INT64"}
    ]


@pytest.mark.slow
def test_team_and_platform_tests_pass_with_the_registry_unreachable(baked):
    for repo in baked:
        result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo)
        assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.slow
def test_platform_view_falls_back_to_the_contract_when_the_registry_is_unreachable(baked):
    _, team = baked
    script = "import on_demand_views as m; print(sorted(f.name for f in m.user_features.features))"
    result = run([sys.executable, "-c", script], cwd=team)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "['account_balance', 'age']"


def test_the_ownership_hook_needs_no_feast_and_no_registry(baked, tmp_path):
    """Feast unimportable, the registry unreachable: the hook passes, loads no Feast module,
    opens no connection and never opens the registry's path. How fast that makes it (the
    target is 1 s) is bench/hook.py's figure, against the hook that reads the registry."""
    report = tmp_path / "report.json"
    for repo in baked:
        env = {**os.environ, "HOOK_REPORT": str(report)}
        result = run([sys.executable, "-c", AUDITED, "check", "--offline", str(repo)], env=env,
                     fresh=True)  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert json.loads(report.read_text()) == {"feast": [], "touched": []}


def test_the_ownership_hook_names_each_problem_from_the_source(baked, tmp_path):
    _, team = baked
    bad = team / "bad_views.py"
    bad.write_text(
        "from feast import FeatureService, FeatureView\n"
        "from feast_federation import platform_view\n"
        "stolen = FeatureService(name='fraud_model', features=[])\n"
        "own_view = FeatureView(name='risk_view', entities=[], schema=[], source=None)\n"
        "gone = platform_view('user_features', ['age', 'income'])\n"
        "nowhere = platform_view('clicks')\n"
    )
    try:
        result = run([sys.executable, "-c", NO_FEAST, "check", "--offline", str(team)], fresh=True)
    finally:
        bad.unlink()
    assert result.returncode == 1
    text = result.stdout + result.stderr
    assert "FeatureService fraud_model: team risk's names must start with risk_" in text
    assert "FeatureView risk_view: team risk may define only" in text
    assert "bad_views.py:5: platform view user_features has no income" in text
    assert "bad_views.py:6: platform view clicks is not in the contract" in text


@pytest.mark.slow
def test_the_platform_tests_catch_a_stale_contract(baked):
    from feast_federation.testing import platform_contract_problems

    platform, _ = baked
    path = platform / "platform_contract.json"
    original = path.read_text()
    path.write_text(original.replace('"age": "Int64"', '"age": "Float32"'))
    try:
        problems = platform_contract_problems(platform)
    finally:
        path.write_text(original)
    assert problems == [
        "user_features.age is Float32 in the contract, Int64 in the repo's definitions"
    ]


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    platform, [team] = build_org(
        tmp_path_factory.mktemp("applied"), teams=(("risk", "user_features"),)
    )
    return platform, team


@pytest.mark.slow
def test_check_and_plan_name_every_difference_in_one_line(applied):
    _, team = applied
    path = team / "platform_contract.json"
    original = path.read_text()
    changed = original.replace('"age": "Int64"', '"age": "Float32"')
    changed = changed.replace('"join_key": "user_id"', '"join_key": "uid"')
    # driver_stats is not read by the team: a difference there is not the team's business.
    changed = changed.replace('"conv_rate": "Float32"', '"conv_rate": "Int64"')
    path.write_text(changed)
    try:
        checked = cli("check", str(team))
        planned = run([sys.executable, "apply.py", "--plan"], cwd=team)
    finally:
        path.write_text(original)
    expected = (
        "platform_contract.json differs from the registry in what team risk reads: "
        "user_features entities are uid:INT64 in the contract, user_id:INT64 in the registry; "
        "user_features.age is Float32 in the contract, Int64 in the registry; "
        f"run feast-federation contract refresh {team}"
    )
    assert checked.returncode == 1 and expected in checked.stdout + checked.stderr
    assert planned.returncode == 1
    assert planned.stderr.strip().splitlines() == [f"error: {expected}"]


@pytest.mark.slow
def test_the_platform_sync_publishes_and_refresh_rewrites_the_contract(applied):
    platform, team = applied
    published = json.loads((platform / "platform_contract.json").read_text())
    (team / "platform_contract.json").unlink()
    assert cli("contract", "refresh", str(team)).returncode == 0
    refreshed = json.loads((team / "platform_contract.json").read_text())
    assert refreshed["views"] == published["views"]
    assert refreshed["registry_objects"] == published["registry_objects"]
    refused = cli("contract", "refresh", str(platform))
    assert refused.returncode == 1
    assert refused.stderr.strip().startswith("error: ") and len(refused.stderr.splitlines()) == 1


@pytest.mark.slow
def test_add_team_refuses_a_prefix_that_owns_a_registry_object_the_repo_dropped(applied, tmp_path):
    from feast_federation.errors import FederationError
    from feast_federation.onboarding import TeamSpec

    platform, _ = applied
    contract = platform / "platform_contract.json"
    recorded = json.loads(contract.read_text())["registry_objects"]
    assert recorded["FeatureView"] == ["customer_features", "driver_stats", "user_features"]
    assert "driver_stats_source" in recorded["DataSource"]
    assert not any(name.startswith("risk_") for names in recorded.values() for name in names)
    views, policy = platform / "feature_views.py", platform / "federation.yaml"
    original, registered = views.read_text(), policy.read_bytes()
    # Synced earlier, then dropped from the repo without a sync: only the registry has it.
    start, end = (
        original.index("driver_stats = FeatureView("),
        original.index("customer_features ="),
    )
    views.write_text(original[:start] + original[end:])
    try:
        refused = invoke("add-team", "driver", "--platform", platform, "--output-dir", tmp_path)
        assert refused.exit_code == 1
        assert refused.output.strip().splitlines() == [
            "error: team name 'driver': its prefix driver_ would take the platform's "
            "driver_stats, driver_stats_source; choose another name"
        ]
        assert policy.read_bytes() == registered and not list(tmp_path.iterdir())
        # A contract without its registry names is damaged, not a reason to check less.
        damaged = json.loads(contract.read_text())
        del damaged["registry_objects"]
        written = contract.read_text()
        contract.write_text(json.dumps(damaged))
        try:
            with pytest.raises(FederationError, match="registry_objects must map kinds"):
                TeamSpec.build(platform, team="driver", owners=["d@acme.io"])
        finally:
            contract.write_text(written)
    finally:
        views.write_text(original)
