"""Every Python and shell snippet in README.md and docs/**/*.md runs, as written, and the
docs site builds with ``mkdocs build --strict``.

A block is run unless a ``<!-- not-run -->`` comment precedes it (illustrations: a server
that never exits, the whole test suite). Each runnable block is named by its document and
first line in ``RUNNERS``; a new or edited block without a runner fails here. Blocks run in
fresh processes: shell blocks with bash, line by line, in a scratch directory (where
``path/to/feast-federation`` is this checkout); the team guide's Python in the team repo of a
baked, applied and materialized org. The tutorial runs whole, in order, from an empty
directory: a Python block with a ``title="PATH"`` is a file it saves there, a ``cd`` line
moves the rest of the run, a line ending in ``&`` starts a background process (stopped when
the run ends).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from support import ROOT, build_org, free_port, invoke, run, venv_commands_first

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"(<!-- not-run -->\n)?```(\w*)([^\n]*)\n(.*?)\n```", re.S)
TITLE = re.compile(r'title="([^"]+)"')
RUNNABLE = {"python", "sh"}
PLAN_EXIT_CHANGES = 2  # a plan's "there are changes", documented as such


def blocks(doc: Path) -> list[SimpleNamespace]:
    """The doc's fenced Python and shell blocks: language, text, whether marked not-run, and
    its first line without its comment (its name)."""
    return [
        SimpleNamespace(
            language=language, text=text, run=not marker, first=first_line(text),
            title=(TITLE.search(info) or [None, None])[1],
        )
        for marker, language, info, text in FENCE.findall(doc.read_text())
        if language in RUNNABLE
    ]  # fmt: skip


def first_line(text: str) -> str:
    return text.split("\n")[0].split("  #")[0].rstrip()


def runnable(doc: Path) -> dict[str, str]:
    return {block.first: block.text for block in blocks(doc) if block.run and not block.title}


def environment() -> dict[str, str]:
    """This interpreter's bin first (python, feast-federation, cookiecutter), this checkout's
    package importable."""
    python_path = os.pathsep.join([str(ROOT / "scaffolder"), os.environ.get("PYTHONPATH", "")])
    return venv_commands_first({**os.environ, "PYTHONPATH": python_path})


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


def run_python(text: str, cwd: Path, *, lint: bool = True) -> str:
    """The snippet as a script in ``cwd``, ruff-clean by ``cwd``'s own configuration."""
    script = cwd / "snippet_from_docs.py"
    script.write_text(text + "\n")
    try:
        if lint:
            assert_ruff_clean(cwd, script.name)
        result = run([sys.executable, script.name], cwd=cwd, env=environment(), timeout=600)
    finally:
        script.unlink()
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


def assert_ruff_clean(repo: Path, *paths: str) -> None:
    for check in (["check"], ["format", "--check"]):
        ruff = [sys.executable, "-m", "ruff", *check, "--no-cache", *(paths or ["."])]
        result = run(ruff, cwd=repo)
        assert result.returncode == 0, result.stdout + result.stderr


class Session:
    """A reader following a page in one shell: ``cd`` lines move it, lines ending in ``&``
    run in the background until ``close``."""

    def __init__(self, start: Path, log: Path):
        self.cwd, self.log, self.background = start, log, []

    def run(self, text: str) -> str:
        """Each command line of a shell block; the last one's output."""
        printed = ""
        for line in text.replace("\\\n", " ").splitlines():
            command = line.split("  #")[0].strip()
            if command.startswith("cd "):
                self.cwd = (self.cwd / shlex.split(command)[1]).resolve()
            elif command.endswith("&"):
                with self.log.open("a") as sink:
                    self.background.append(
                        subprocess.Popen(
                            ["bash", "-c", "exec " + command[:-1]],
                            cwd=self.cwd,
                            env=environment(),
                            stdout=sink,
                            stderr=subprocess.STDOUT,
                            start_new_session=True,
                        )  # fmt: skip
                    )
            elif command:
                result = run(["bash", "-c", command], cwd=self.cwd, env=environment(), timeout=600)
                planning = {"plan", "--plan"} & set(command.split())
                allowed = (0, PLAN_EXIT_CHANGES) if planning else (0,)
                assert result.returncode in allowed, (
                    command, result.stdout[-2000:], result.stderr[-3000:], self.log.read_text()
                    if self.log.exists() else "",
                )  # fmt: skip
                printed = result.stdout
        return printed

    def close(self) -> None:
        for process in self.background:  # each started here, in a session of its own
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


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

README_USING = (
    "feast-federation bootstrap org --team marketing:customer_features --team risk --apply"
)
README_COOKIECUTTER = (
    "cookiecutter path/to/feast-federation --directory cookiecutter-team --no-input \\"
)
PLATFORM_BOOTSTRAP = (
    "feast-federation bootstrap org --team marketing:customer_features --team risk --apply"
)
PLATFORM_MONOREPO = (
    "feast-federation bootstrap acme-features --layout monorepo --platform-dir platform_repo "
    "--teams-dir team_repos --team marketing:customer_features"
)
TEAM_ODFV = "from feast import Field, RequestSource"
TEAM_SERVING = "from datetime import datetime, timezone"
TEAM_CATALOG = "feast-federation catalog . --format markdown"
TEAM_APPLY = "python apply.py --plan"
SEED_ODFV = "import pandas as pd"
SEED_SERVICES = "from feast import FeatureService"
PLATFORM_PROMOTION = "python apply.py --env staging --yes"
TEAM_PROMOTION = "python apply.py --env staging"

TUTORIAL = ROOT / "docs" / "tutorial.md"

RUNNERS = {
    "README.md": {README_USING},
    "platform-guide.md": {PLATFORM_BOOTSTRAP, PLATFORM_PROMOTION, PLATFORM_MONOREPO},
    "team-guide.md": {
        TEAM_ODFV,
        TEAM_SERVING,
        TEAM_CATALOG,
        TEAM_APPLY,
        README_COOKIECUTTER,
        SEED_ODFV,
        SEED_SERVICES,
        TEAM_PROMOTION,
    },
    # test_tutorial_runs_as_written_from_an_empty_directory runs every block, in order.
    "tutorial.md": set(runnable(TUTORIAL)),
}


def test_every_runnable_block_has_a_runner():
    found = {doc.name: set(runnable(doc)) for doc in DOCS if runnable(doc)}
    assert found == RUNNERS


def test_illustrations_are_few():
    marked = [block.first for doc in DOCS for block in blocks(doc) if not block.run]
    assert len(marked) <= 2, marked


def test_the_docs_site_builds_strictly(tmp_path):
    """Every page in the nav, every link and anchor resolves (mkdocs.yml: strict)."""
    result = run(
        [str(Path(sys.executable).parent / "mkdocs"), "build", "--strict", "--site-dir",
         str(tmp_path / "site")],
        cwd=ROOT, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "site" / "tutorial" / "index.html").is_file()


def test_every_page_is_in_the_site_nav():
    import yaml

    def pages(nav) -> set[str]:
        if isinstance(nav, str):
            return {nav}
        items = nav.values() if isinstance(nav, dict) else nav
        return set().union(*(pages(item) for item in items))

    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    docs = {str(doc.relative_to(ROOT / "docs")) for doc in (ROOT / "docs").rglob("*.md")}
    assert pages(nav) == docs


@pytest.mark.slow
def test_readme_commands_run_in_order(tmp_path):
    """The README's tour, then the team guide's plain-cookiecutter onboarding beside it."""
    scratch = scratch_with_checkout(tmp_path)
    run_shell(runnable(ROOT / "README.md")[README_USING], scratch)
    run_shell(runnable(ROOT / "docs" / "team-guide.md")[README_COOKIECUTTER], scratch)
    assert (scratch / "payments" / "apply.py").is_file()
    assert "payments" in (scratch / "org" / "platform" / "federation.yaml").read_text()


@pytest.mark.slow
def test_platform_guide_bootstrap_runs(tmp_path):
    run_shell(runnable(ROOT / "docs" / "platform-guide.md")[PLATFORM_BOOTSTRAP], tmp_path)
    assert (tmp_path / "org" / "teams" / "marketing" / "apply.py").is_file()


def test_platform_guide_monorepo_runs(tmp_path):
    """No Feast: baking, registering and the offline check never import it."""
    run_shell(runnable(ROOT / "docs" / "platform-guide.md")[PLATFORM_MONOREPO], tmp_path)
    org = tmp_path / "acme-features"
    workflow = (org / ".github" / "workflows" / "feature-store.yml").read_text()
    assert "team-risk-apply:" in workflow and "working-directory: team_repos/risk" in workflow
    assert "/team_repos/risk/ risk@example.com" in (org / "CODEOWNERS").read_text()


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
    assert_ruff_clean(served_org.marketing, module.name)
    result = invoke("check", served_org.marketing)
    assert result.exit_code == 0, result.output
    run_shell(runnable(ROOT / "docs" / "team-guide.md")[TEAM_APPLY], served_org.marketing)
    assert invoke("plan", served_org.marketing).exit_code == 0


@pytest.mark.slow
def test_team_guide_http_body_is_what_the_service_takes(served_org):
    """The team guide's request body names the service the org has, with its entity keys
    and request data as columns: the rows the feature server makes of it answer."""
    [body] = re.findall(r"```json\n(.*?)\n```", (ROOT / "docs" / "team-guide.md").read_text(), re.S)
    request = json.loads(body)
    columns = request["entities"]
    values = zip(*columns.values(), strict=True)
    rows = [dict(zip(columns, row, strict=True)) for row in values]
    printed = run_python(
        "from feast import FeatureStore\n\n"
        'store = FeatureStore(repo_path=".")\n'
        f"service = store.get_feature_service({request['feature_service']!r})\n"
        f"rows = {rows!r}\n"
        "online = store.get_online_features(features=service, entity_rows=rows).to_dict()\n"
        'print(online["purchase_propensity_score"])\n',
        served_org.marketing,
        lint=False,
    )
    assert "None" not in printed and printed.startswith("[")


@pytest.mark.slow
def test_tutorial_runs_as_written_from_an_empty_directory(tmp_path):
    """The tutorial, every block in order, from an empty directory, as a reader runs it (the
    feature server on a free port instead of 6566); it ends with features read over HTTP.
    Every Python file it has the reader save is ruff-clean by the team repo's own rules."""
    start, port = tmp_path / "empty", str(free_port())
    start.mkdir()
    session = Session(start, tmp_path / "background.log")
    printed = ""
    try:
        for block in blocks(TUTORIAL):
            text = block.text.replace("6566", port)
            if block.title:  # a file the reader saves, named from where the tutorial starts
                (start / block.title).write_text(text + "\n")
                assert_ruff_clean((start / block.title).parent, Path(block.title).name)
            elif block.language == "python":
                printed = run_python(text, session.cwd)
            else:
                printed = session.run(text)
    finally:
        session.close()
    answer = json.loads(printed)  # the last block's last command: curl
    names = answer["metadata"]["feature_names"]  # the entity key first, features in any order
    assert names[0] == "user_id" and set(names) == {
        "user_id",
        "age",
        "account_balance",
        "offer_share",
    }, answer
    results = dict(zip(names, answer["results"], strict=True))
    assert results["user_id"]["values"] == [1001]
    assert all(result["statuses"] == ["PRESENT"] for result in answer["results"]), answer
    assert 0.0 <= results["offer_share"]["values"][0] <= 1.0


SERVE_SEED = """import json

from feast_federation import feature_store

store = feature_store(".")
service = store.get_feature_service("marketing_user_model_v1")
rows = [{"user_id": 1001, "current_year": 2026.0}, {"user_id": 1002, "current_year": 2026.0}]
print(json.dumps(store.get_online_features(features=service, entity_rows=rows).to_dict()))"""


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
