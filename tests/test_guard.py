"""The stock-command guard (hooks/guard_stock_apply.py): real calls and commands are caught,
mentions in comments, docstrings and quoted strings are not."""

from __future__ import annotations

import sys

import pytest

from support import ROOT, build_org, run

GUARD = [sys.executable, str(ROOT / "hooks" / "guard_stock_apply.py")]
APPLY = "runs stock `feast apply`, which deletes other repos' objects; use python apply.py"
PLAN = "runs stock `feast plan`, which deletes other repos' objects; use python apply.py"
TEARDOWN = (
    "runs stock `feast teardown`, which tears down the shared project for every repo; "
    "nobody's repo may do that"
)
PARTIAL = "passes partial=False, which deletes registry objects; use python apply.py"
TO_DELETE = "passes objects_to_delete, which deletes registry objects; use python apply.py"
STORE_APPLY = "calls FeatureStore(...).apply, which skips the ownership checks; use python apply.py"
STORE_TEARDOWN = (
    "calls teardown(), which tears down the shared project for every repo; nobody's repo may "
    "do that"
)

CAUGHT = {
    "deploy.sh": ("#!/bin/sh\nset -e\nfeast apply\n", [(3, APPLY)]),
    "chdir.sh": ("feast -c feature_repo apply\n", [(1, APPLY)]),
    "chained.sh": ("cd repo && feast --log-level INFO plan; echo done\n", [(1, PLAN)]),
    "wrapped.sh": ("FEAST_USAGE=False uv run feast teardown\n", [(1, TEARDOWN)]),
    "continued.sh": ("feast \\\n  apply\n", [(1, APPLY)]),
    "nested.sh": ("bash -c 'feast apply'\n", [(1, APPLY)]),
    "Makefile": (
        "deploy:\n\t@feast apply\nclean:\n\t-feast teardown\n",
        [(2, APPLY), (4, TEARDOWN)],
    ),
    "ci.yml": (
        "jobs:\n  apply:\n    steps:\n      - run: feast apply\n      - run: |\n"
        "          pip install feast\n          feast -f fs.yaml plan\n",
        [(4, APPLY), (7, PLAN)],
    ),
    ".gitlab-ci.yml": (
        'apply:\n  script:\n    - pip install feast\n    - "feast teardown"\n',
        [(4, TEARDOWN)],
    ),
    "partial.py": ("store.apply(objs, partial=False)\n", [(1, PARTIAL)]),
    "delete.py": ("store.apply(objs, objects_to_delete=old)\n", [(1, TO_DELETE)]),
    "raw.py": (
        "from feast import FeatureStore\nFeatureStore(repo_path='.').apply([service])\n",
        [(2, STORE_APPLY)],
    ),
    "teardown.py": (
        "import feast\nfeast.FeatureStore('.').teardown()\nstore.teardown()\n",
        [(2, STORE_TEARDOWN), (3, STORE_TEARDOWN)],
    ),
    "shell_out.py": (
        "import os, subprocess\nsubprocess.run(['feast', 'apply'], check=True)\n"
        "subprocess.check_call(['feast', '-c', 'repo', 'plan'])\nos.system('feast teardown')\n",
        [(2, APPLY), (3, PLAN), (4, TEARDOWN)],
    ),
}

HARMLESS = {
    "comments.sh": "# never run feast apply here\necho ok  # feast plan is forbidden\n",
    "quoted.sh": "echo \"don't run feast apply\"\nprintf 'feast teardown\\n'\n",
    "other.sh": "python apply.py\nfeast-federation plan .\nfeast materialize-incremental now\n",
    "Makefile": "# feast apply\nplan:\n\tpython apply.py --plan\n",
    "ci.yml": (
        "name: feast apply is not used\non: push\njobs:\n  plan:\n    steps:\n"
        "      - name: feast plan\n        run: python apply.py --plan  # not feast plan\n"
        "      - run: |\n          echo 'feast apply'\n          python apply.py\n"
    ),
    "docs.py": (
        '"""Never call store.apply(objs, partial=False) or objects_to_delete or feast apply."""\n'
        "# store.apply(objs, partial=False)\n"
        "HELP = 'feast apply and store.teardown() delete things'\n"
        "def apply(objects, partial=True):\n    return store.apply(objects, partial=True)\n"
        "subprocess.run(['python', 'apply.py', '--plan'])\n"
        "subprocess.run(['echo', 'feast apply'])\n"
        "fixture.teardown()\n"
    ),
    "broken.py": "def (:\n    store.apply(x, partial=False)\n",
}


def guarded(tmp_path, files: dict[str, str]):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return run([*GUARD, *files], cwd=tmp_path)


GROUPS = {
    "shell": ("deploy.sh", "chdir.sh", "chained.sh", "wrapped.sh", "continued.sh", "nested.sh"),
    "makefile": ("Makefile",),
    "ci-yaml": ("ci.yml", ".gitlab-ci.yml"),
    "python": ("partial.py", "delete.py", "raw.py", "teardown.py", "shell_out.py"),
}
HARMLESS_GROUPS = {
    "shell": ("comments.sh", "quoted.sh", "other.sh", "Makefile"),
    "ci-yaml": ("ci.yml",),
    "python": ("docs.py", "broken.py"),
}


@pytest.mark.parametrize("group", list(GROUPS))
def test_real_stock_commands_and_calls_are_refused(tmp_path, group):
    result = guarded(tmp_path, {name: CAUGHT[name][0] for name in GROUPS[group]})
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{name}:{line}: {rule}" for name in GROUPS[group] for line, rule in CAUGHT[name][1]
    ]


@pytest.mark.parametrize("group", list(HARMLESS_GROUPS))
def test_mentions_in_comments_strings_and_docstrings_pass(tmp_path, group):
    result = guarded(tmp_path, {name: HARMLESS[name] for name in HARMLESS_GROUPS[group]})
    assert (result.returncode, result.stderr) == (0, "")


def test_both_repo_kinds_install_the_guard():
    for template in ("cookiecutter-platform", "cookiecutter-team"):
        [config] = (ROOT / template).glob("{{*}}/.pre-commit-config.yaml")
        assert "- id: feast-federation-guard" in config.read_text(), template


STOCK = "import sys\nfrom feast.cli.cli import cli\nsys.argv = ['feast', 'teardown']; cli()"


@pytest.mark.slow
def test_stock_teardown_from_a_team_repo_refuses_the_synced_project(tmp_path):
    from feast import FeatureStore

    platform, (marketing, _) = build_org(tmp_path / "org")
    result = run([sys.executable, "-c", STOCK], cwd=marketing)
    assert result.returncode != 0
    assert 'Teardown is not allowed on protected project "acme"' in result.stderr
    store = FeatureStore(repo_path=str(platform))
    assert store.get_feature_view("user_features").name == "user_features"
