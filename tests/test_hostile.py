"""Hostile values through every option, by the CLI and by plain cookiecutter alike: nothing
runs, nothing is written, and the refusal is one line (issue: no value is ever code)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from support import ROOT, invoke, run

MARKER = "PWNED_MARKER"
# Each would run `touch <marker>` if a value reached Python or Jinja as code.
PYTHON_CODE = f'x"+str(__import__("os").system("touch {MARKER}"))+"'
JINJA_CODE = "{{ cycler.__init__.__globals__.os.popen('touch " + MARKER + "').read() }}"
TEMPLATE_TEXT = [JINJA_CODE, "{{7*7}}", "{%", "{# x #}", "jj{{7*7}}"]
BAD_OWNERS = [PYTHON_CODE, *TEMPLATE_TEXT, "&x", "*", "]", "run:", "a@b.io\nc@d.io", "@", "x y"]


def tree(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): b"" if path.is_dir() else path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if ".lock" not in path.name
    }


@pytest.fixture(scope="module")
def org(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    assert invoke("bootstrap", root / "org", "--team", "alpha").exit_code == 0
    (root / "out").mkdir()  # where plain cookiecutter bakes (it creates it otherwise)
    return root


def assert_one_line_refusal(output: str, root: Path, before: dict) -> None:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    assert "Traceback" not in output
    assert not list(root.rglob(MARKER)) and not Path(MARKER).exists()
    assert tree(root) == before


def cli_cases(org: Path) -> list[list[str]]:
    platform = str(org / "org" / "platform")
    cases = [["add-team", "beta", "--platform", platform, "--owner", o] for o in BAD_OWNERS]
    cases += [["bootstrap", str(org / "new"), "--team", "beta", "--owner", o] for o in BAD_OWNERS]
    cases += [["add-team", "beta", "--platform", str(org / t / "platform")] for t in TEMPLATE_TEXT]
    cases += [
        ["add-team", "beta", "--platform", platform, "--output-dir", str(org / t)]
        for t in TEMPLATE_TEXT
    ]
    cases += [["bootstrap", str(org / t), "--team", "beta"] for t in TEMPLATE_TEXT]
    cases += [["bootstrap", str(org / "new"), "--team", "beta", "--project", p]
              for p in [PYTHON_CODE, *TEMPLATE_TEXT, "acme-x", "a;b"]]  # fmt: skip
    cases += [["add-team", "beta", "--platform", platform, "--offline-schema", s]
              for s in [PYTHON_CODE, "{{7*7}}", "Bad"]]  # fmt: skip
    cases += [["add-team", "beta", "--platform", platform, "--registry-server", s]
              for s in [PYTHON_CODE, "{{7*7}}:1", "host:1\nx"]]  # fmt: skip
    return cases


def test_every_hostile_cli_value_is_one_line_and_writes_nothing(org, monkeypatch):
    monkeypatch.chdir(org)
    cases = cli_cases(org)
    assert len(cases) > 50
    for args in cases:
        before = tree(org)
        result = invoke(*args)
        assert result.exit_code == 1, (args, result.output)
        assert_one_line_refusal(result.output, org, before)


PLAIN_TEAM_CASES = (
    # At the prompt, owners is one string of owners separated by commas or white space.
    [{"owners": o} for o in BAD_OWNERS if o != "a@b.io\nc@d.io"]
    + [{"platform_dir": "{{7*7}}/platform"}, {"project_name": JINJA_CODE}]
    + [{"team_name": t} for t in ["{{7*7}}", "yes", "user", "Bad-Name", "../x"]]
    + [{"federation_repo_url": u} for u in [PYTHON_CODE, "https://x.io/a b", JINJA_CODE]]
    + [{"offline_schema": "{{7*7}}"}, {"feast_federation_version": JINJA_CODE}]
)
# A choice the Feast Operator cannot deploy, refused like a bad value.
OPERATOR_ON_REMOTE = {
    "deploy": "feast-operator",
    "registry": "remote",
    "online_store": "redis",
    "offline_store": "snowflake",
}
PLAIN_PLATFORM_CASES = (
    [{"platform_owners": o} for o in [PYTHON_CODE, JINJA_CODE, "&x", "run:"]]
    + [{"project_name": p} for p in [PYTHON_CODE, JINJA_CODE, "acme-x"]]
    + [{"repo_name": r} for r in ["../escape", "{{7*7}}", ".hidden"]]
    + [{"platform_repo_url": PYTHON_CODE}, {"platform_repo_ref": "main;touch x"}]
    + [OPERATOR_ON_REMOTE]
)


def plain_cookiecutter(template: str, out: Path, values: dict) -> str:
    """Bake with plain cookiecutter in a fresh process; its output, checked for one line."""
    pairs = [f"{key}={value}" for key, value in values.items()]
    result = run(
        [sys.executable, "-m", "cookiecutter", str(ROOT / template), "--no-input",
         "--output-dir", str(out), *pairs],
        cwd=out.parent,
    )  # fmt: skip
    assert result.returncode == 1, (values, result.stdout, result.stderr)
    return result.stdout + result.stderr


@pytest.mark.parametrize("values", PLAIN_TEAM_CASES, ids=lambda v: repr(v)[:40])
def test_plain_cookiecutter_team_refuses_hostile_values(org, values):
    context = {"team_name": "beta", "platform_dir": str(org / "org" / "platform"), **values}
    before = tree(org)
    output = plain_cookiecutter("cookiecutter-team", org / "out", context)
    assert_one_line_refusal(output, org, before)


@pytest.mark.parametrize("values", PLAIN_PLATFORM_CASES, ids=lambda v: repr(v)[:40])
def test_plain_cookiecutter_platform_refuses_hostile_values(org, values):
    before = tree(org)
    output = plain_cookiecutter("cookiecutter-platform", org / "out", values)
    assert_one_line_refusal(output, org, before)


def test_owner_values_reach_generated_files_as_data(tmp_path):
    owners = ["@acme/platform", "ana.o'neil@acme.io"]
    args = ["bootstrap", tmp_path / "org", "--team", "alpha"]
    assert invoke(*args, *[a for o in owners for a in ("--owner", o)]).exit_code == 0
    platform = tmp_path / "org" / "platform"
    policy = yaml.safe_load((platform / "federation.yaml").read_text())
    assert policy["platform"]["owners"] == owners
    namespace: dict = {}
    views = (platform / "feature_views.py").read_text()
    exec(next(line for line in views.splitlines() if line.startswith("OWNER")), namespace)
    assert namespace["OWNER"] == owners[0]
    assert "* @acme/platform ana.o'neil@acme.io" in (platform / "CODEOWNERS").read_text()


@pytest.mark.parametrize("name", ["yes", "true", "on", "off", "no", "false"])
def test_yaml_special_team_names_are_refused_before_anything_is_written(tmp_path, name):
    result = invoke("bootstrap", tmp_path / "org", "--team", name)
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: team name '{name}': YAML reads {name} as a boolean or null"
    )
    assert not (tmp_path / "org").exists()


def test_a_team_name_that_would_own_platform_objects_is_refused(org):
    before = tree(org)
    result = invoke("add-team", "user", "--platform", org / "org" / "platform")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: team name 'user': its prefix user_ would take the platform's user_features; "
        "choose another name"
    )
    assert tree(org) == before


def test_a_team_repo_may_not_nest_in_another_feature_repo(org):
    platform = org / "org" / "platform"
    for inside in (platform / "teams", org / "org" / "teams" / "alpha" / "sub"):
        before = tree(org)
        result = invoke("add-team", "beta", "--platform", platform, "--output-dir", inside)
        assert result.exit_code == 1
        assert "a team repo is a repo of its own" in result.output
        assert_one_line_refusal(result.output, org, before)


def test_an_output_dir_that_is_a_file_is_one_line(org):
    afile = org / "afile"
    afile.write_text("x")
    before = tree(org)
    result = invoke(
        "add-team", "beta", "--platform", org / "org" / "platform", "--output-dir", afile
    )
    assert result.exit_code == 1 and "is a file, not a directory" in result.output
    assert_one_line_refusal(result.output, org, before)
    afile.unlink()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.replace("role: feast-platform", "role: [a, b]"), "role ['a', 'b']"),
        (lambda t: t + "  beta:\n    owners: ['*']\n", "team beta: owner '*'"),
        (lambda t: t + '  beta:\n    owners: ["a@b.io\\nc@d.io"]\n', "control characters"),
        (lambda t: t + "  beta:\n    role: feast-platform\n", "role feast-platform is already"),
        (lambda t: t.replace('owners: ["platform-team@example.com"]', "owners: ['&x']"), "'&x'"),
    ],
)
def test_a_bad_policy_file_is_one_line(tmp_path, edit, message):
    assert invoke("bootstrap", tmp_path / "org", "--team", "alpha").exit_code == 0
    policy = tmp_path / "org" / "platform" / "federation.yaml"
    text = policy.read_text().replace("teams:\n", "teams:\n", 1)
    policy.write_text(edit(text))
    result = invoke("add-team", "gamma", "--platform", policy.parent)
    assert result.exit_code == 1 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_binary_policy_file_is_one_line(tmp_path):
    assert invoke("bootstrap", tmp_path / "org", "--team", "alpha").exit_code == 0
    policy = tmp_path / "org" / "platform" / "federation.yaml"
    policy.write_bytes(b"\x00\xff\xfe binary \x89PNG")
    result = invoke("add-team", "gamma", "--platform", policy.parent)
    assert result.exit_code == 1
    assert result.output.strip().endswith("not UTF-8 text; the policy file is YAML")


def test_add_team_keeps_comments_and_order_of_a_reordered_policy(tmp_path):
    assert invoke("bootstrap", tmp_path / "org", "--team", "alpha").exit_code == 0
    policy = tmp_path / "org" / "platform" / "federation.yaml"
    text = policy.read_text()
    backups = text[text.index("# Every sync") : text.index("teams:")]
    text = text.replace(backups, "").rstrip("\n") + "  # alpha's leads\n" + backups
    policy.write_text(text.replace("keep: 20", "keep: 20  # twenty snapshots"))
    before = policy.read_text()
    assert invoke("add-team", "gamma", "--platform", policy.parent).exit_code == 0
    after = policy.read_text()
    assert after.startswith(before[: before.index("# Every sync")])
    assert after.endswith(before[before.index("# Every sync") :])
    assert "  gamma:\n    prefix: gamma_\n    owners: [gamma-leads@example.com]\n" in after
    assert yaml.safe_load(after)["backups"] == {"path": ".federation/backups", "keep": 20}
