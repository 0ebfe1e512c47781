"""Which files hold a repo's definitions: Feast's own discovery (``**/*.py`` minus
``.feastignore``), for plan, apply and check alike, in fresh processes where a real run is
the claim. A module that fails or exits while imported refuses the run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from support import ROOT, build_org, file_digest, run

TEMPLATE_REPOS = (
    ROOT / "cookiecutter-platform" / "{{cookiecutter.repo_name}}",
    ROOT / "cookiecutter-team" / "{{cookiecutter.__repo_dir}}",
)


@pytest.fixture()
def org(tmp_path):
    platform, (marketing, risk) = build_org(tmp_path / "org")
    return platform, marketing, risk


def apply_script(repo: Path, *args: str):
    """The repo's own ``python apply.py``, in a fresh process."""
    return run([sys.executable, "apply.py", *args], cwd=repo)


def planned(repo: Path, *args: str) -> dict[tuple[str, str], str]:
    result = apply_script(repo, "--plan", "--json", *args)
    assert result.returncode in (0, 2), result.stdout + result.stderr
    return {(c["kind"], c["name"]): c["action"] for c in json.loads(result.stdout)["changes"]}


def registry_digest(platform: Path) -> str:
    return file_digest(platform / "data" / "registry.db")


def move_driver_stats(platform: Path, target: str) -> None:
    """Move the driver_stats view out of feature_views.py into ``target``, which gets the
    module's header (docstring, imports, OWNER) so the moved code still runs."""
    source = platform / "feature_views.py"
    text = source.read_text()
    header = text[: text.index("user_features = FeatureView(")]
    first = text.index("driver_stats = FeatureView(")
    last = text.index("customer_features = FeatureView(")
    (platform / target).parent.mkdir(parents=True, exist_ok=True)
    (platform / target).write_text(header + text[first:last])
    source.write_text(text[:first] + text[last:])


# --- subfolders change nothing ---------------------------------------------------------


@pytest.mark.slow
def test_moving_a_platform_view_into_a_subfolder_changes_nothing(org):
    platform, _, _ = org
    move_driver_stats(platform, "views/driver.py")
    result = apply_script(platform, "--plan", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    changes = {(c["kind"], c["name"]): c["action"] for c in json.loads(result.stdout)["changes"]}
    assert changes[("FeatureView", "driver_stats")] == "unchanged"
    assert set(changes.values()) == {"unchanged"}


@pytest.mark.slow
def test_a_team_service_in_a_subfolder_is_applied(org):
    platform, marketing, _ = org
    text = (marketing / "feature_services.py").read_text()
    (marketing / "feature_services.py").unlink()
    extra = marketing / "services" / "extra.py"
    extra.parent.mkdir()
    extra.write_text(
        text + "\nmarketing_extra = FeatureService(name='marketing_extra', "
        "features=[platform_view('customer_features', ['total_purchases'])])\n"
    )
    assert planned(marketing, "--prune") == {
        ("FeatureService", "marketing_campaign_model"): "unchanged",
        ("FeatureService", "marketing_extra"): "add",
        ("OnDemandFeatureView", "marketing_purchase_propensity"): "unchanged",
        ("RequestSource", "marketing_cart_request"): "unchanged",
    }
    applied = apply_script(marketing)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    from feast_federation.registry import open_store

    assert open_store(platform).get_feature_service("marketing_extra").name == "marketing_extra"


# --- .feastignore ----------------------------------------------------------------------

SCRATCH_VIEW = """
from datetime import timedelta
from feast import FeatureView, Field, FileSource
from feast.types import Int64
from entities import user

scratch_view = FeatureView(
    name="scratch_view", entities=[user], ttl=timedelta(days=1),
    schema=[Field(name="x", dtype=Int64)],
    source=FileSource(name="scratch_source", path="/tmp/scratch.parquet", timestamp_field="ts"),
)
"""


@pytest.mark.slow
def test_feastignore_is_honoured(org):
    platform, _, _ = org
    (platform / "notebooks").mkdir()
    (platform / "notebooks" / "scratch.py").write_text(SCRATCH_VIEW)
    assert planned(platform)[("FeatureView", "scratch_view")] == "add"  # read when not ignored
    with open(platform / ".feastignore", "a") as ignore:
        ignore.write("notebooks/  # experiments, not definitions\n")
    assert set(planned(platform).values()) == {"unchanged"}


@pytest.mark.slow
def test_our_discovery_is_feasts_in_every_generated_repo(org):
    from feast.repo_operations import get_repo_files, read_feastignore

    from feast_federation.rules.repo import NEVER_DEFINITIONS, definition_modules

    for template in TEMPLATE_REPOS:  # the templates skip at least what we never import
        assert set(NEVER_DEFINITIONS) <= set(read_feastignore(template)), template
    for repo in org:
        (repo / "pkg" / "deep").mkdir(parents=True)
        for name in ("pkg/deep/more.py", "pkg/__init__.py", "tests/helpers.py"):
            (repo / name).write_text("\n")
        ours = definition_modules(repo)
        assert ours == get_repo_files(repo)
        assert repo / "pkg" / "deep" / "more.py" in ours
        assert not {"apply.py", "tests", "scripts"} & {p.relative_to(repo).parts[0] for p in ours}


@pytest.mark.slow
def test_our_discovery_is_feasts_without_the_templates_feastignore(tmp_path):
    """The Feast-free walk (sync, source check, onboarding) against Feast's own, on a tree
    that exercises each rule: comments, directory and ``**`` patterns, Feast's fixed skips,
    packages, and what we never import."""
    from feast.repo_operations import get_ignore_files, get_repo_files

    from feast_federation.rules.repo import NEVER_DEFINITIONS, declared_names, definition_modules

    (tmp_path / ".feastignore").write_text(
        "# scratch work\nnotebooks/  # not definitions\n**/scratch_*.py\npkg/vendored\n\n"
    )
    files = [
        "views.py",
        "pkg/__init__.py",
        "pkg/deep/more.py",
        "pkg/vendored/lib.py",
        "notebooks/try.py",
        "pkg/deep/scratch_a.py",
        ".venv/lib/site.py",
        ".hidden/kept.py",
        ".ipynb_checkpoints/views-checkpoint.py",
        "sub/__pycache__/x.py",
        "venv/kept_too.py",
        "tests/test_views.py",
        "scripts/seed.py",
        "apply.py",
        "sub/conftest.py",
        "sub/test_more.py",
    ]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f'x = Entity(name="{Path(name).stem}")\n')

    never = get_ignore_files(tmp_path, list(NEVER_DEFINITIONS))
    feasts = sorted(set(get_repo_files(tmp_path)) - never)
    ours = definition_modules(tmp_path)
    assert ours == feasts
    kept = {p.relative_to(tmp_path.resolve()).as_posix() for p in ours}
    assert kept == {"views.py", "pkg/deep/more.py", ".hidden/kept.py", "venv/kept_too.py"}
    assert declared_names(tmp_path) == {"views", "more", "kept", "kept_too"}


# --- modules that fail or exit ---------------------------------------------------------


@pytest.mark.slow
def test_a_broken_module_in_a_subfolder_refuses_the_whole_plan(org):
    platform, _, _ = org
    move_driver_stats(platform, "views/driver.py")
    with open(platform / "views" / "driver.py", "a") as module:
        module.write('raise RuntimeError("boom\\nand more")\n')
    before = registry_digest(platform)
    for args in (["--plan"], []):
        result = apply_script(platform, *args)
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stderr.strip() == (
            "error: views/driver.py: importing it failed: RuntimeError: boom"
        )
        assert "driver_stats" not in result.stdout  # never reads as "deleted"
    assert registry_digest(platform) == before


@pytest.mark.slow
@pytest.mark.parametrize(
    "code, shown",
    [
        ("import sys\nsys.exit(0)\n", "SystemExit(0)"),
        ("raise KeyboardInterrupt\n", "KeyboardInterrupt()"),
    ],
)
def test_a_module_that_exits_refuses_with_exit_1(org, code, shown):
    platform, marketing, _ = org
    (marketing / "services").mkdir()
    (marketing / "services" / "quits.py").write_text(code)
    (marketing / "feature_services.py").write_text(
        (marketing / "feature_services.py").read_text().replace("Features of", "Changed:")
    )
    before = registry_digest(platform)
    result = apply_script(marketing)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip() == (
        f"error: services/quits.py: importing it ended the run ({shown}); "
        "a definition module must not exit"
    )
    assert result.stdout == ""
    assert registry_digest(platform) == before


def test_an_absolute_feastignore_pattern_is_one_line(tmp_path):
    from feast_federation.errors import FederationError
    from feast_federation.rules.repo import definition_modules

    (tmp_path / "views.py").write_text("\n")
    (tmp_path / ".feastignore").write_text("/build\n")
    with pytest.raises(FederationError) as refused:
        definition_modules(tmp_path)
    assert str(refused.value) == (
        f"{tmp_path / '.feastignore'}: pattern '/build' must be relative to the repo "
        "(write 'build'); Feast cannot read it either"
    )
