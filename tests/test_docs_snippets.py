"""Every Python and shell snippet in README.md and docs/*.md runs, as written.

A block is run unless a ``<!-- not-run -->`` comment precedes it (illustrations: a server
that never exits, the whole test suite). Each runnable block is named by its document and
first line in ``RUNNERS``; a new or edited block without a runner fails here. Blocks run in
fresh processes: shell blocks with bash, line by line, in a scratch directory (where
``path/to/feast-federation`` is this checkout); the team guide's Python in the team repo of a
baked, applied and materialized org.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from support import ROOT, build_org, invoke, run

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"(<!-- not-run -->\n)?```(\w*)[^\n]*\n(.*?)\n```", re.S)
RUNNABLE = {"python", "sh"}
PLAN_EXIT_CHANGES = 2  # a plan's "there are changes", documented as such


def blocks(doc: Path) -> list[SimpleNamespace]:
    """The doc's fenced Python and shell blocks: language, text, whether marked not-run, and
    its first line without its comment (its name)."""
    return [
        SimpleNamespace(language=language, text=text, run=not marker, first=first_line(text))
        for marker, language, text in FENCE.findall(doc.read_text())
        if language in RUNNABLE
    ]


def first_line(text: str) -> str:
    return text.split("\n")[0].split("  #")[0].rstrip()


def runnable(doc: Path) -> dict[str, str]:
    return {block.first: block.text for block in blocks(doc) if block.run}


def environment() -> dict[str, str]:
    """This interpreter's bin first (python, feast-federation, cookiecutter), this checkout's
    package importable."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    python_path = os.pathsep.join([str(ROOT / "scaffolder"), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PATH": path, "PYTHONPATH": python_path}


def run_shell(text: str, cwd: Path) -> None:
    """Each command line of a shell block (backslash continuations joined), which must exit
    0, or 2 for a plan with changes."""
    for line in text.replace("\\\n", " ").splitlines():
        command = line.split("#")[0].strip()
        if not command:
            continue
        result = run(["bash", "-c", command], cwd=cwd, env=environment(), timeout=600)
        planning = {"plan", "--plan"} & set(command.split())
        allowed = (0, PLAN_EXIT_CHANGES) if planning else (0,)
        assert result.returncode in allowed, (command, result.stdout[-2000:], result.stderr[-3000:])


def run_python(text: str, cwd: Path) -> str:
    script = cwd / "snippet_from_docs.py"
    script.write_text(text)
    try:
        result = run([sys.executable, script.name], cwd=cwd, env=environment(), timeout=600)
    finally:
        script.unlink()
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


def scratch_with_checkout(directory: Path) -> Path:
    checkout = directory / "path" / "to" / "feast-federation"
    checkout.parent.mkdir(parents=True)
    checkout.symlink_to(ROOT)
    return directory


@pytest.fixture(scope="module")
def served_org(tmp_path_factory):
    """An org whose team repos are applied and whose views are materialized."""
    platform, (marketing, risk) = build_org(tmp_path_factory.mktemp("snippets") / "org")
    result = invoke("materialize", platform)
    assert result.exit_code == 0, result.output
    return SimpleNamespace(platform=platform, marketing=marketing, risk=risk)


# --- the blocks, by document and first line -------------------------------------------------

README_USING = "feast-federation bootstrap org --team marketing --team risk --apply"
README_COOKIECUTTER = (
    "cookiecutter path/to/feast-federation --directory cookiecutter-team --no-input \\"
)
PLATFORM_BOOTSTRAP = (
    "feast-federation bootstrap org --team marketing:customer_features --team risk --apply"
)
TEAM_ODFV = "from feast import Field, RequestSource"
TEAM_SERVING = "from datetime import datetime, timezone"
TEAM_CATALOG = "feast-federation catalog . --format markdown"
TEAM_APPLY = "python apply.py --plan"
SEED_ODFV = "import pandas as pd"
SEED_SERVICES = "from feast import FeatureService"

RUNNERS = {
    "README.md": {README_USING, README_COOKIECUTTER},
    "platform-guide.md": {PLATFORM_BOOTSTRAP},
    "team-guide.md": {TEAM_ODFV, TEAM_SERVING, TEAM_CATALOG, TEAM_APPLY, SEED_ODFV, SEED_SERVICES},
}


def test_every_runnable_block_has_a_runner():
    found = {doc.name: set(runnable(doc)) for doc in DOCS if runnable(doc)}
    assert found == RUNNERS


def test_illustrations_are_few():
    marked = [block.first for doc in DOCS for block in blocks(doc) if not block.run]
    assert len(marked) <= 2, marked


@pytest.mark.slow
def test_readme_commands_run_in_order(tmp_path):
    snippets = runnable(ROOT / "README.md")
    scratch = scratch_with_checkout(tmp_path)
    run_shell(snippets[README_USING], scratch)
    run_shell(snippets[README_COOKIECUTTER], scratch)
    assert (scratch / "payments" / "apply.py").is_file()
    assert "payments" in (scratch / "org" / "platform" / "federation.yaml").read_text()


@pytest.mark.slow
def test_platform_guide_bootstrap_runs(tmp_path):
    run_shell(runnable(ROOT / "docs" / "platform-guide.md")[PLATFORM_BOOTSTRAP], tmp_path)
    assert (tmp_path / "org" / "teams" / "marketing" / "apply.py").is_file()


@pytest.mark.slow
def test_team_guide_serves_and_trains_through_the_team_service(served_org):
    text = runnable(ROOT / "docs" / "team-guide.md")[TEAM_SERVING]
    printed = run_python(text, served_org.marketing)
    assert "purchase_propensity_score" in printed and "total_purchases" in printed


@pytest.mark.slow
def test_team_guide_catalog_and_audit_run_from_the_team_repo(served_org):
    run_shell(runnable(ROOT / "docs" / "team-guide.md")[TEAM_CATALOG], served_org.marketing)


@pytest.mark.slow
def test_team_guide_odfv_module_is_a_whole_module_that_serves(served_org):
    """The ODFV snippet replaces the starter's on_demand_views.py: it passes the checks (the
    ownership rules, the UDF rebuilt from its proto in a fresh process), then the team guide's
    plan, apply and prune commands apply it."""
    module = served_org.marketing / "on_demand_views.py"
    module.write_text(runnable(ROOT / "docs" / "team-guide.md")[TEAM_ODFV] + "\n")
    result = invoke("check", served_org.marketing)
    assert result.exit_code == 0, result.output
    run_shell(runnable(ROOT / "docs" / "team-guide.md")[TEAM_APPLY], served_org.marketing)
    assert invoke("plan", served_org.marketing).exit_code == 0


SERVE_SEED = """
import json
from feast_federation import feature_store

store = feature_store(".")
service = store.get_feature_service("marketing_user_model_v1")
rows = [{"user_id": 1001, "current_year": 2026.0}, {"user_id": 1002, "current_year": 2026.0}]
print(json.dumps(store.get_online_features(features=service, entity_rows=rows).to_dict()))
"""


@pytest.mark.slow
def test_the_seed_guides_team_example_passes_plans_applies_and_serves(served_org):
    """Feast's federated-store guide's team example, as the team guide adapts it (string
    references as written), beside the starter in a team repo: the repo's own tests pass, and
    it plans, applies and serves the platform's features with the ODFV's."""
    guide = runnable(ROOT / "docs" / "team-guide.md")
    repo = served_org.marketing
    (repo / "seed").mkdir()
    (repo / "seed" / "on_demand_views.py").write_text(guide[SEED_ODFV] + "\n")
    (repo / "seed" / "feature_services.py").write_text(guide[SEED_SERVICES] + "\n")
    tests = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo,
                env=environment(), timeout=600)  # fmt: skip
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    planned = invoke("plan", repo, "--json")
    assert planned.exit_code == PLAN_EXIT_CHANGES, planned.output
    added = {c["name"] for c in json.loads(planned.stdout)["changes"] if c["action"] == "add"}
    assert added == {"marketing_user_model_v1", "marketing_user_age_odfv", "marketing_current_year"}
    applied = invoke("apply", repo)
    assert applied.exit_code == 0, applied.output
    served = json.loads(run_python(SERVE_SEED, repo))
    assert None not in served["age"] + served["account_balance"]
    assert served["years_until_retirement"] == [65.0 - age for age in served["age"]]
