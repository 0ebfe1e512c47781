"""Hardening, round three (issue 24): each case found by attacking a freshly bootstrapped org,
reproduced here on a real one (a local file registry, whose apply log is a JSON-lines file)
and refused or survived in one line.

1. what a reviewer reads in the job summary is the plan main applies: no name, value or
   print of a definition module hides a row of it;
2. names every renderer and registry backend handles: refused by check, apply and the hook;
   what the registry already holds is shown as it is (no Rich markup error);
3. a torn last line of the apply log never swallows the next entry;
4. the log's images chain (each before-image is the previous after-image) and match their
   change's kind and name, or restore --to refuses and audit reports it;
5. a definition module calling os._exit ends the run with exit 1, not 0;
6. a key given twice in federation.yaml is refused in one line, add-team creates nothing;
8. a saved plan of the wrong shape, a definition linked from outside the repo and a damaged
   SQLite registry are one line each.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from support import file_digest, invoke, run, venv_commands_first
from support.pipelines import run_github_job

pytestmark = pytest.mark.slow

TEAMS = (("marketing", "customer_features"), ("risk", "user_features"))
SERVICE = (
    "from feast import FeatureService\nfrom feast_federation import platform_view\n"
    "{var} = FeatureService(name={name!r}, features=[platform_view('customer_features')])\n"
)


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    """One org on a local file registry, synced, every team applied."""
    from feast_federation import sync
    from feast_federation.onboarding import bootstrap_org
    from feast_federation.rules.choices import Backends
    from feast_federation.rules.repo import find_repo

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FEAST_FEDERATION_ACTOR", "ci-bot")
        platform, (marketing, risk) = bootstrap_org(
            tmp_path_factory.mktemp("hardening") / "org", project="acme",
            owners=["plat@acme.io"], teams=TEAMS, backends=Backends("file"),
        )  # fmt: skip
        for repo in (platform, marketing, risk):
            sync.apply(find_repo(repo))
        data = platform / "data"
        yield SimpleNamespace(
            platform=platform, marketing=marketing, risk=risk,
            registry=data / "registry.pb", log=data / "registry.pb.apply-log.jsonl",
        )  # fmt: skip


def one_line(result, *expected: str) -> str:
    """The command failed with exit 1 and printed exactly one line, holding ``expected``."""
    output = result.output if hasattr(result, "output") else result.stdout + result.stderr
    code = result.exit_code if hasattr(result, "exit_code") else result.returncode
    lines = output.strip().splitlines()
    assert code == 1 and len(lines) == 1, output
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def log_entries(org) -> list[dict]:
    result = invoke("log", org.platform, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def runner_env(**variables: str) -> dict[str, str]:
    """This machine's environment, the venv's commands first on PATH, no CI variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_"))}
    return venv_commands_first(env | {"PYTHONWARNINGS": "ignore", **variables})


def apply_script(repo: Path, *args: str):
    return run([sys.executable, "apply.py", *args], cwd=repo, env=runner_env())


# --- 1. the reviewed summary ------------------------------------------------------------


def test_the_job_summary_shows_every_change_whatever_the_repo_names_or_prints(org, tmp_path):
    """A description holding a newline and ``<!--`` (a value, not a name: values are free
    text) and a module that prints a plan of its own at import time: the summary the check
    job writes still shows every change, and only what the tool planned."""
    team = org.marketing
    services = team / "feature_services.py"
    original = services.read_text()
    hostile = "Campaign model.\n<!-- everything below is hidden"
    edited = original.replace('description="Features of the campaign targeting model."',
                              f"description={hostile!r}")  # fmt: skip
    fake = "### Plan for team marketing\\n\\nNothing to change (3 objects up to date).\\n<!--"
    services.write_text(edited + f"\nprint('{fake}')\n")
    (team / "later_services.py").write_text(
        SERVICE.format(var="later", name="marketing_zz_after_the_comment")
    )
    workflow = team / ".github" / "workflows" / "feature-services.yml"
    summary = tmp_path / "summary.md"
    context = {"vars.FEAST_REGISTRY_READONLY": "true", "github.event_name": "pull_request"}
    try:
        env = runner_env(GITHUB_STEP_SUMMARY=str(summary))
        ran = run_github_job(workflow, "check", team, env, context,
                             wanted=lambda command: "--out plan.json" in command)  # fmt: skip
        assert ran.failed is None and len(ran.commands) == 1, ran
        text = summary.read_text()
        assert "Nothing to change" not in text and "<!--" not in text, text
        rows = [line for line in text.splitlines() if line.startswith("| ")]
        assert rows[2:] == [
            "| update | FeatureService | <code>marketing_campaign_model</code> | description |",
            "| add | FeatureService | <code>marketing_zz_after_the_comment</code> |  |",
        ], text
        assert "&#60;!-- everything below is hidden" in text  # the value, shown escaped
        # Applied, the same description cannot hide the rest of the markdown catalog either.
        assert invoke("apply", team, "--yes").exit_code == 0
        catalog = invoke("catalog", org.platform, "--format", "markdown")
        assert catalog.exit_code == 0 and "<!--" not in catalog.output, catalog.output
        assert "### Team risk" in catalog.output.split("&#60;!-- everything")[1]
    finally:
        services.write_text(original)
        (team / "later_services.py").unlink()
        (team / "plan.json").unlink(missing_ok=True)
        (team / "plan.md").unlink(missing_ok=True)
        assert invoke("apply", team, "--prune", "--yes").exit_code == 0


# --- 2. names ---------------------------------------------------------------------------


def test_a_name_renderers_choke_on_is_refused_and_one_held_already_is_shown(org, tmp_path):
    team, registry = org.marketing, org.registry
    planted = team / "odd_names.py"
    planted.write_text(SERVICE.format(var="odd", name="marketing_b[/]"))
    before = file_digest(registry)
    rule = "FeatureService 'marketing_b[/]': object names hold only ASCII letters, digits, _ and -"
    try:
        for command in (("check", "--offline"), ("check",), ("apply", "--yes")):
            result = invoke(*command, team)
            assert result.exit_code == 1, result.output
            assert rule in result.output and "Traceback" not in result.output, result.output
        hook = run([sys.executable, "-m", "feast_federation.cli", "check", "--offline", "."],
                   cwd=team, env=runner_env())  # fmt: skip
        assert hook.returncode == 1 and rule in hook.stdout + hook.stderr
        assert apply_script(team, "--yes").returncode == 1
    finally:
        planted.unlink()
    assert file_digest(registry) == before

    # Written around feast-federation: audit, the log and restore show it as it is.
    from feast import FeatureService as Service
    from feast import FeatureStore

    store = FeatureStore(repo_path=str(org.platform))
    view = store.get_feature_view("customer_features")
    store.apply([Service(name="marketing_b[/]", features=[view])])
    snapshot = tmp_path / "with-odd-name.pb"
    assert invoke("backup", org.platform, "--output", snapshot).exit_code == 0
    audit = invoke("audit", org.platform)
    assert audit.exit_code == 2 and "marketing_b[/]" in audit.output, audit.output
    store.delete_feature_service("marketing_b[/]")
    restore = invoke("restore", org.platform, "--input", snapshot)
    assert restore.exit_code == 2, restore.output  # a plan: the object is added back
    assert "marketing_b[/]" in restore.output and "Traceback" not in restore.output
    assert invoke("log", org.platform).exit_code == 0


# --- 3. a torn last line of the apply log -----------------------------------------------


def test_a_torn_last_line_of_the_apply_log_loses_no_entry(org):
    entries = log_entries(org)
    with org.log.open("a") as log:  # a run killed while appending: no newline
        log.write('{"at": "2026-12-01T00:00:00.000+00:00", "actor": "ci-bot", "chang')
    describe(org.marketing, "Torn, then applied.")
    try:
        assert invoke("apply", org.marketing, "--yes").exit_code == 0
        after = log_entries(org)
        [entry] = after[len(entries) :]
        assert entry["id"] == entries[-1]["id"] + 2  # the torn line's id stays taken
        assert [(c["name"], c["action"]) for c in entry["changes"]] == [
            ("marketing_campaign_model", "update")
        ]
        assert invoke("log", org.platform).exit_code == 0  # the table skips the torn line
        audit = invoke("audit", org.platform)
        assert "marketing_campaign_model" not in audit.output, audit.output
        assert invoke("audit", org.marketing).exit_code == 0
        restored = invoke("restore", org.platform, "--to", entries[-1]["id"], "--yes")
        assert restored.exit_code == 0, restored.output
    finally:
        describe(org.marketing, None)
    assert invoke("apply", org.marketing, "--yes").exit_code == 0


def describe(team: Path, description: str | None) -> None:
    services = team / "feature_services.py"
    marker = "description="
    text = services.read_text()
    start = text.index(marker)
    end = text.index("\n", start)
    new = description or "Features of the campaign targeting model."
    services.write_text(text[:start] + f"{marker}{new!r}," + text[end:])


# --- 4. the log's images chain ----------------------------------------------------------


def test_log_images_that_do_not_chain_are_refused_by_restore_and_reported_by_audit(org):
    describe(org.marketing, "Chained once.")
    assert invoke("apply", org.marketing, "--yes").exit_code == 0
    describe(org.marketing, None)
    assert invoke("apply", org.marketing, "--yes").exit_code == 0
    entries = log_entries(org)
    first, second = entries[-2]["id"], entries[-1]["id"]
    original = org.log.read_text()
    lines = original.splitlines(keepends=True)
    registry = file_digest(org.registry)

    def refused(expected: str, *, audited: bool) -> None:
        restore = invoke("restore", org.platform, "--to", first - 1, "--yes")
        line = one_line(restore, expected, f"the log cannot restore to {first - 1}; restore a "
                        "backup instead")  # fmt: skip
        assert "Traceback" not in line
        assert file_digest(org.registry) == registry
        for repo in (org.platform, org.marketing):
            audit = invoke("audit", repo)
            assert ("broken-log" in audit.output) == audited, audit.output

    try:
        # An image of another object in the last entry's change.
        entry = json.loads(lines[second - 1])
        [change] = entry["changes"]
        logged = [json.loads(line)["changes"] for line in lines[: first - 1] if "changes" in line]
        other = next(c for changes in logged for c in changes if c.get("after")
                     and c["kind"] == change["kind"] and c["name"] != change["name"])  # fmt: skip
        change["before"] = other["after"]
        org.log.write_text("".join(lines[: second - 1] + [json.dumps(entry) + "\n"]))
        refused(f"apply-log entry {second}: FeatureService marketing_campaign_model: an image "
                f"holds another object ('{other['name']}')", audited=True)  # fmt: skip
        # An entry lost (a line overwritten): the next before-image is not what the log
        # last left. Audit cannot tell that from a write around feast-federation that a
        # logged apply repaired since: restore refuses, audit stays quiet.
        org.log.write_text("".join(lines[: first - 1] + ["lost\n"] + lines[first:]))
        refused(f"apply-log entry {second}: FeatureService marketing_campaign_model: its "
                "before-image is not what entry ", audited=False)  # fmt: skip
    finally:
        org.log.write_text(original)
    assert "broken-log" not in invoke("audit", org.platform).output


# --- 5. a definition module that exits --------------------------------------------------


def test_a_definition_module_calling_os_exit_fails_the_run(org, tmp_path):
    planted = org.marketing / "exits.py"
    planted.write_text("import os\n\nos._exit(0)\n")
    summary = tmp_path / "plan.md"
    summary.write_text("left from an earlier run")
    before = file_digest(org.registry)
    try:
        for args in (("--yes",), ("--plan", "--out", str(tmp_path / "plan.json"))):
            result = apply_script(org.marketing, *args, "--summary", str(summary))
            one_line(result, "exits.py: importing it called os._exit(0), which would end the "
                     "run having done nothing; a definition module must not exit")  # fmt: skip
            assert not summary.exists()  # the job's `cat plan.md` fails too
    finally:
        planted.unlink()
    assert file_digest(org.registry) == before


# --- 6. duplicate keys in federation.yaml -----------------------------------------------


def test_a_key_given_twice_in_federation_yaml_is_refused_and_add_team_creates_nothing(org):
    policy = org.platform / "federation.yaml"
    original = policy.read_text()
    assert original.endswith("owners: [risk-leads@example.com]\n")  # teams come last
    policy.write_text(original + "  marketing:\n    owners: [mallory@evil.io]\n")
    lines = policy.read_text().splitlines()
    first, again = [n for n, line in enumerate(lines, 1) if line == "  marketing:"]
    expected = (f"federation.yaml: key marketing appears twice in one mapping (lines {first} "
                f"and {again}); YAML would keep only the last: remove one")  # fmt: skip
    output_dir = org.platform.parent / "teams"
    existing = sorted(output_dir.iterdir())
    try:
        for command in (("plan", org.platform), ("apply", org.platform, "--yes"),
                        ("check", "--offline", org.platform), ("audit", org.platform)):  # fmt: skip
            one_line(invoke(*command), expected)
        add = invoke("add-team", "fraud", "--platform", org.platform, "--owner", "f@acme.io",
                     "--output-dir", output_dir)  # fmt: skip
        one_line(add, expected)
        assert sorted(output_dir.iterdir()) == existing and "fraud" not in policy.read_text()
    finally:
        policy.write_text(original)


# --- 8. one line where a traceback was ---------------------------------------------------


def test_a_saved_plan_of_the_wrong_shape_is_refused_in_one_line(org, tmp_path):
    from feast_federation.transaction.saved import _checksum

    saved = tmp_path / "plan.json"
    describe(org.marketing, "Shaped.")
    try:
        assert invoke("plan", org.marketing, "--out", saved).exit_code == 2
    finally:
        describe(org.marketing, None)
    body = json.loads(saved.read_text())
    for field, value in (("definitions", ["not", "a", "mapping"]), ("plan", {"changes": {}}),
                         ("prune", "yes")):  # fmt: skip
        edited = {k: v for k, v in body.items() if k != "checksum"} | {field: value}
        saved.write_text(json.dumps(edited | {"checksum": _checksum(edited)}))
        one_line(invoke("apply", saved, "--yes"), f"{saved}: not a feast-federation plan, or "
                 "damaged (")  # fmt: skip
    saved.write_text("[" * 200_000)
    one_line(invoke("apply", saved), "damaged (RecursionError)")


def test_a_definition_linked_from_outside_the_repo_is_refused_in_one_line(org, tmp_path):
    outside = tmp_path / "elsewhere.py"
    outside.write_text(SERVICE.format(var="linked", name="marketing_linked"))
    link = org.marketing / "linked.py"
    link.symlink_to(outside)
    try:
        for command in (("plan", org.marketing), ("check", "--offline", org.marketing)):
            one_line(invoke(*command), f"linked.py: a link to {outside}, outside the repo")
    finally:
        link.unlink()


def test_a_damaged_sqlite_registry_is_one_line(tmp_path):
    from feast_federation.onboarding import bootstrap_org

    platform, _ = bootstrap_org(tmp_path / "org", project="acme", owners=["p@acme.io"],
                                teams=[("marketing", "customer_features")])  # fmt: skip
    assert invoke("apply", platform, "--yes").exit_code == 0
    registry = platform / "data" / "registry.db"
    damaged = bytearray(registry.read_bytes())
    page = int.from_bytes(damaged[16:18], "big")
    damaged[page * 2 : page * 4] = b"\x55" * (page * 2)  # the header survives, pages do not
    registry.write_bytes(bytes(damaged))
    one_line(invoke("plan", platform), "damaged (database disk image is malformed",
             "restore it from a backup")  # fmt: skip


# --- 9. the generated GitHub workflows --------------------------------------------------


def test_a_merge_queue_runs_the_check_and_a_reconcile_run_says_what_no_push_applied(org, tmp_path):
    """The check runs on the queue's commit (``merge_group``) and the apply on the push the
    queue makes; a scheduled run that applies changes (a commit pushed with [skip ci] ran
    no pipeline) says so in the job summary and on stderr."""
    import yaml

    from support.pipelines import condition_holds

    for repo, name in (
        (org.platform, "feature-store.yml"),
        (org.marketing, "feature-services.yml"),
    ):
        workflow = yaml.safe_load((repo / ".github" / "workflows" / name).read_text())
        assert "merge_group" in workflow[True]  # YAML 1.1 reads the key `on` as true
        jobs = workflow["jobs"]
        check, [apply_job] = jobs["check"], [jobs[j] for j in jobs if j != "check"]
        queue = {"github.event_name": "merge_group", "github.ref": "refs/heads/gh-queue"}
        assert condition_holds(check["if"], queue)
        assert not condition_holds(apply_job["if"], queue)
        push = {"github.event_name": "push", "github.ref": "refs/heads/main"}
        assert condition_holds(apply_job["if"], push) and not condition_holds(check["if"], push)

    describe(org.marketing, "Landed with [skip ci].")  # merged, but no pipeline ran
    summary = tmp_path / "plan.md"
    scheduled = runner_env(GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="schedule")
    try:
        ran = run([sys.executable, "apply.py", "--yes", "--summary", str(summary)],
                  cwd=org.marketing, env=scheduled)  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        note = "this reconcile run applied changes that no push to main had applied: a commit "
        assert f"warning: {note}" in ran.stderr
        text = summary.read_text()
        assert "| update | FeatureService | <code>marketing_campaign_model</code>" in text
        assert "> **Note:** this reconcile run applied changes" in text
        assert "&#91;skip ci&#93;" in text  # escaped: a note is text, not markdown
        again = run([sys.executable, "apply.py", "--yes", "--summary", str(summary)],
                    cwd=org.marketing, env=scheduled)  # fmt: skip
        assert again.returncode == 0 and "warning" not in again.stderr  # nothing to catch up
        assert "Note" not in summary.read_text()
    finally:
        describe(org.marketing, None)
    assert invoke("apply", org.marketing, "--yes").exit_code == 0
