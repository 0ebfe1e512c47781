"""The package's layers: which code may import Feast, which package may import which, who
writes the registry, and no import circles.

Baking and registering run under plain cookiecutter and must not pay ``import feast``
(about 3 s): rules/ and onboarding/ never import it, and neither does the CLI until a
command talks to a registry. These tests run them with Feast made unimportable.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

PACKAGE = ROOT / "scaffolder" / "feast_federation"
FEAST_FREE = (
    "version", "errors", "files", "rules", "onboarding", "ci", "serving", "cli",
)  # fmt: skip
# The packages from the bottom up: each may import only packages on lower floors (and its
# own modules). Packages on one floor never import each other.
FLOORS = (
    ("version",),
    ("errors",),
    ("files",),
    ("rules",),
    ("onboarding", "ci"),
    ("registry",),
    ("transaction",),
    ("sync",),
    ("ops", "serving"),
    ("cli", "testing"),
    ("api",),  # the package's own __init__: platform_view for generated repos
)
FLOOR = {package: level for level, packages in enumerate(FLOORS) for package in packages}
# Only the adapter imports Feast; testing.py is the helpers generated repos' tests import.
FEAST_IMPORTERS = ("registry", "testing")
# Feast's internals (private methods, caches, patched functions): one module reaches them.
FEAST_INTERNALS = frozenset({
    "_make_inferences", "_validate_all_feature_views", "_registry_store", "_write_registry",
    "_prepare_registry_for_changes", "cached_registry_proto", "cached_registry_proto_ttl",
    "cached_registry_proto_created", "cache_mode", "write_engine", "read_engine",
    "proto_registry_utils", "_construct_random_input", "_feature_exists_in_inferred",
})  # fmt: skip
INTERNALS_MODULE = "feast_federation.registry.feast067"
# Registry writes: calls of these on a store or a registry, and the kind table's method names.
REGISTRY_WRITES = re.compile(r"^(apply|apply_\w+|delete_\w+|commit|writer|deleter)$")
WRITES_MODULE = "feast_federation.transaction.writes"


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
    """The package modules ``path`` imports, at any level (deferred imports count).

    ``from package import module`` imports ``module``; the package's ``__init__`` runs too,
    but what the import depends on is the module.
    """
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("feast_federation"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.append(submodule if submodule in modules else node.module)
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


def package_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "api"
    return parts[1]


def upward_edges(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a package on the same or a higher floor, at any level."""
    found = []
    for name, imported in sorted(graph.items()):
        here = package_of(name)
        for target in sorted(imported):
            there = package_of(target)
            if there != here and FLOOR[there] >= FLOOR[here]:
                found.append(f"{name} ({here}) imports {target} ({there})")
    return found


def test_every_package_has_a_floor():
    assert {package_of(name) for name in import_graph()} <= set(FLOOR)


def test_packages_import_only_downward():
    assert upward_edges(import_graph()) == []


def test_the_layer_check_finds_an_upward_import_added_by_hand():
    graph = import_graph()
    graph["feast_federation.registry.lookups"] |= {"feast_federation.sync.repos"}
    graph["feast_federation.onboarding.bake"] |= {"feast_federation.ci.reviewed"}
    assert upward_edges(graph) == [
        "feast_federation.onboarding.bake (onboarding) imports feast_federation.ci.reviewed (ci)",
        "feast_federation.registry.lookups (registry) imports feast_federation.sync.repos (sync)",
    ]


def _modules() -> dict[str, ast.Module]:
    trees = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("feast_federation", *path.relative_to(PACKAGE).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        trees[name] = ast.parse(path.read_text(encoding="utf-8"))
    return trees


def feast_importers(trees: dict[str, ast.Module]) -> set[str]:
    """The package modules that import Feast (or its protos), at any level."""
    found = set()
    for name, tree in trees.items():
        for node in ast.walk(tree):
            modules = []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            if any(m == "feast" or m.startswith("feast.") for m in modules):
                found.add(name)
    return found


def test_only_the_adapter_imports_feast():
    importers = feast_importers(_modules())
    assert "feast_federation.registry.feast067" in importers
    assert {name for name in importers if package_of(name) not in FEAST_IMPORTERS} == set()


def test_the_feast_import_check_finds_one_added_by_hand():
    trees = _modules()
    trees["feast_federation.sync.team"].body.append(ast.parse("from feast import Entity").body[0])
    assert "feast_federation.sync.team" in feast_importers(trees)


def internals_used(trees: dict[str, ast.Module]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, tree in trees.items():
        for node in ast.walk(tree):
            word = node.attr if isinstance(node, ast.Attribute) else None
            if isinstance(node, ast.alias):
                word = node.name.rpartition(".")[2]
            if word in FEAST_INTERNALS:
                found.setdefault(name, set()).add(word)
    return found


def test_feast_internals_are_reached_from_one_module():
    used = internals_used(_modules())
    assert INTERNALS_MODULE in used
    assert {name: words for name, words in used.items() if name != INTERNALS_MODULE} == {}


def registry_writes(trees: dict[str, ast.Module]) -> dict[str, set[str]]:
    """Calls that write a registry (``store.apply``, ``registry.apply_*``, ``commit``,
    ``delete_*``) and uses of the kind table's writer and deleter names, by module."""
    found: dict[str, set[str]] = {}
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or not REGISTRY_WRITES.match(node.attr):
                continue
            receiver = ast.unparse(node.value)
            if node.attr in ("writer", "deleter") or re.search(r"store|registry|\breg\b", receiver):
                found.setdefault(name, set()).add(f"{receiver}.{node.attr}")
    return found


def test_only_the_transaction_writes_the_registry():
    writes = registry_writes(_modules())
    assert WRITES_MODULE in writes and "store.apply" in writes[WRITES_MODULE]
    assert {name: calls for name, calls in writes.items() if name != WRITES_MODULE} == {}


def test_feast_free_layers_never_import_feast_layers():
    """rules/, onboarding/ and ci/ import nothing from the layers that import Feast."""
    graph = import_graph()
    feast_layers = ("registry", "transaction", "sync", "ops")
    for name, imported in graph.items():
        if package_of(name) in ("rules", "onboarding", "ci", "errors", "files"):
            bad = sorted(m for m in imported if package_of(m) in feast_layers)
            assert bad == [], f"{name} imports {bad}"
