"""Every Python and shell snippet in README.md and docs/*.md runs, as written.

A block is run unless a ``<!-- not-run -->`` comment precedes it (illustrations: a server
that never exits, the whole test suite). Each runnable block is named by its document and
first line in ``RUNNERS``; a new or edited block without a runner fails here. Blocks run in
fresh processes: shell blocks with bash, line by line, in a scratch directory (where
``path/to/feast-federation`` is this checkout); the team guide's Python in the team repo of a
baked, applied and materialized org.
"""

from __future__ import annotations

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
        planning = {"plan", "--plan", "diff-env"} & set(command.split())  # 2: differences
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
PLATFORM_PROMOTION = "python apply.py --env staging --yes"
TEAM_PROMOTION = "python apply.py --env staging"

RUNNERS = {
    "README.md": {README_USING, README_COOKIECUTTER},
    "platform-guide.md": {PLATFORM_BOOTSTRAP, PLATFORM_PROMOTION},
    "team-guide.md": {TEAM_ODFV, TEAM_SERVING, TEAM_CATALOG, TEAM_APPLY, TEAM_PROMOTION},
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
def test_the_guides_staging_before_production_cycles_run(tmp_path):
    """The platform guide's cycle (staging, verify, diff-env, production), then the team
    guide's, in an org with two environments."""
    from feast_federation.onboarding import bootstrap_org

    platform, (team,) = bootstrap_org(
        tmp_path / "org", project="acme", owners=["p@acme.io"], teams=["marketing"],
        environments=("staging", "production"),
    )  # fmt: skip
    run_shell(runnable(ROOT / "docs" / "platform-guide.md")[PLATFORM_PROMOTION], platform)
    run_shell(runnable(ROOT / "docs" / "team-guide.md")[TEAM_PROMOTION], team)
    assert invoke("diff-env", platform, "--from", "staging", "--to", "production").exit_code == 0


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
