"""The package's layers: which code may import Feast, and no import circles.

Baking and registering run under plain cookiecutter and must not pay ``import feast``
(about 3 s): rules/ and onboarding/ never import it, and neither does the CLI until a
command talks to a registry. These tests run them with Feast made unimportable.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

PACKAGE = ROOT / "scaffolder" / "feast_federation"
FEAST_FREE = (
    "errors", "files", "rules", "onboarding", "ops.reviewed", "cli.output", "cli.commands", "cli",
)  # fmt: skip


@pytest.fixture(scope="module")
def without_feast(tmp_path_factory) -> dict[str, str]:
    """An environment in which ``import feast`` fails, in this process's children too."""
    blocker = tmp_path_factory.mktemp("blocked") / "feast"
    blocker.mkdir()
    (blocker / "__init__.py").write_text('raise ImportError("feast is blocked in this test")\n')
    path = os.pathsep.join([str(blocker.parent), str(ROOT / "scaffolder")])
    return {**os.environ, "PYTHONPATH": path, "PYTHONWARNINGS": "ignore"}


def run(args: list[str], env: dict, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "feast_federation.cli", *map(str, args)], env)


def module_names(layer: str) -> list[str]:
    target = PACKAGE.joinpath(*layer.split("."))
    if target.with_suffix(".py").is_file():
        return [f"feast_federation.{layer}"]
    return [
        "feast_federation." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for path in sorted(target.rglob("*.py"))
        if path.name != "__main__.py"  # runs the CLI
    ]


def test_the_blocker_blocks(without_feast):
    probe = run([sys.executable, "-c", "import feast"], without_feast)
    assert probe.returncode == 1 and "feast is blocked" in probe.stderr


def test_feast_free_layers_import_without_feast(without_feast):
    names = [name for layer in FEAST_FREE for name in module_names(layer)]
    assert len(names) > 10
    probe = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    result = run([sys.executable, "-c", probe, *names], without_feast)
    assert result.returncode == 0, result.stderr


def test_onboarding_works_without_feast(without_feast, tmp_path):
    made = cli(without_feast, "bootstrap", tmp_path / "org", "--team", "alpha")
    assert made.returncode == 0, made.stderr
    added = cli(without_feast, "add-team", "beta", "--platform", tmp_path / "org" / "platform")
    assert added.returncode == 0, added.stderr
    assert (tmp_path / "org" / "teams" / "beta" / "feature_store.yaml").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["add-team", "x1", "--platform", "/nonexistent/empty"], "not a platform repo"),
        (["add-team", "Bad-Name", "--platform", "{platform}"], "team name 'Bad-Name'"),
        (["add-team", "alpha", "--platform", "{platform}"], "already registered"),
        (["add-team", "gamma", "--platform", "{platform}", "--ci", "jenkins"], "ci jenkins"),
        (["bootstrap", "{tmp}/other", "--team", "xy", "--registry", "mysql"], "registry mysql"),
    ],
)
def test_refusals_are_one_line_without_feast(without_feast, tmp_path, args, message):
    assert cli(without_feast, "bootstrap", tmp_path / "org", "--team", "alpha").returncode == 0
    policy = tmp_path / "org" / "platform" / "federation.yaml"
    before = policy.read_bytes()
    filled = [a.format(platform=policy.parent, tmp=tmp_path) for a in args]
    result = cli(without_feast, *filled)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert policy.read_bytes() == before
    assert not (tmp_path / "org" / "teams" / "gamma").exists()


def test_the_main_job_fetches_the_reviewed_plan_without_feast(without_feast, tmp_path):
    env = {k: v for k, v in without_feast.items() if not k.startswith(("GITHUB_", "GITLAB_"))}
    env |= {"GITHUB_ACTIONS": "true"}
    result = cli(env, "reviewed-plan", "--out", tmp_path / "plan.json")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: reviewed-plan: GITHUB_API_URL, "), result.stderr


def test_template_hooks_refuse_without_feast(without_feast, tmp_path):
    assert cli(without_feast, "bootstrap", tmp_path / "org", "--team", "alpha").returncode == 0
    bake = (
        "import sys\nfrom cookiecutter.main import cookiecutter\n"
        "cookiecutter(sys.argv[1], no_input=True, output_dir=sys.argv[2],\n"
        "             extra_context={'team_name': 'alpha', 'platform_dir': sys.argv[3]})\n"
    )
    result = run(
        [sys.executable, "-c", bake, str(ROOT / "cookiecutter-team"), str(tmp_path / "out"),
         str(tmp_path / "org" / "platform")],
        without_feast,
    )  # fmt: skip
    assert result.returncode != 0
    assert "error: team name 'alpha': team alpha is already registered" in result.stderr
    assert "feast is blocked" not in result.stderr and "ModuleNotFoundError" not in result.stderr


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package modules ``path`` imports, at any level (deferred imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("feast_federation"):
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("feast_federation")]
        for name in names:
            while name not in modules and "." in name:
                name = name.rpartition(".")[0]
            found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("feast_federation", *path.relative_to(PACKAGE).with_suffix("").parts)
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    modules = set(files)
    return {name: _imports(path, modules) - {name} for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle, each as the path that closes it."""
    found, done = [], set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            found.append(path[path.index(node) :] + [node])
            return
        if node in done:
            return
        for target in sorted(graph.get(node, ())):
            visit(target, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return found


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen, todo = set(), [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_cycle_finder_finds_a_planted_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_circles():
    graph = import_graph()
    # The graph holds deferred imports too: the CLI imports sync only inside its commands
    # (test_feast_free_layers_import_without_feast), so a graph of top-level imports alone
    # would not reach it, and would find no circle through it either.
    assert "feast_federation.sync" in reachable(graph, "feast_federation.cli")
    assert cycles(graph) == []


def test_feast_free_layers_never_import_feast_layers():
    """rules/ and onboarding/ import nothing from the layers that import Feast."""
    graph = import_graph()
    feast_layers = ("registry", "sync", "ops")
    layer = {name: name.split(".")[1] if "." in name else "" for name in graph}
    for name, imported in graph.items():
        if layer[name] in ("rules", "onboarding", "errors", "files"):
            bad = sorted(m for m in imported if layer.get(m) in feast_layers)
            assert bad == [], f"{name} imports {bad}"
