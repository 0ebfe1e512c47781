"""Staging before production on real registries: staging a SQLite registry and online store,
production a PostgreSQL registry and online store (a server on 127.0.0.1), one org.

Every step is the CLI or a generated apply.py in a fresh process, credentials only in the
environment; one org for the module (about 90 s: each step pays Feast's import).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest

from support import invoke, run
from support.postgres import postgres_on_loopback

pytestmark = pytest.mark.slow

ENVIRONMENTS = ("staging", "production")
PRODUCTION_REGISTRY = (
    "postgresql+psycopg://${FEAST_PG_USER}:${FEAST_PG_PASSWORD}@${FEAST_PG_HOST}:"
    "${FEAST_PG_PORT}/${FEAST_PG_DATABASE}?sslmode=disable"
)
PRODUCTION_ONLINE = """online_store:
  type: postgres
  host: ${FEAST_PG_HOST}
  port: ${FEAST_PG_PORT}
  database: ${FEAST_PG_DATABASE}
  db_schema: feast_online
  user: "${FEAST_PG_USER}"
  password: "${FEAST_PG_PASSWORD}"
  sslmode: disable
"""


class Org:
    def __init__(self, root: Path, env: dict[str, str]):
        self.root, self.env = root, env
        self.platform, self.team = root / "platform", root / "teams" / "marketing"

    def cli(self, *args, check: bool = True, code: int = 0):
        result = run([sys.executable, "-m", "feast_federation.cli", *map(str, args)],
                     env=self.env)  # fmt: skip
        if check:
            assert result.returncode == code, result.stdout + result.stderr
        return result

    def apply(self, repo: Path, env: str, *extra, code: int = 0):
        result = run([sys.executable, "apply.py", "--yes", "--env", env, *extra], cwd=repo,
                     env=self.env)  # fmt: skip
        assert result.returncode == code, result.stdout + result.stderr
        return result

    def log(self, repo: Path, env: str) -> list[dict]:
        return json.loads(self.cli("log", repo, "--env", env, "--json").stdout)


def _production_on_postgres(repo: Path) -> None:
    """Production's store file: the registry and online store in PostgreSQL."""
    path = repo / "environments" / "production" / "feature_store.yaml"
    text = path.read_text(encoding="utf-8")
    lines, out, skipping = text.splitlines(keepends=True), [], False
    for line in lines:
        if line.startswith("online_store:"):
            out.append(PRODUCTION_ONLINE)
            skipping = True
            continue
        if skipping and line.startswith("  "):
            continue
        skipping = False
        if line.strip().startswith("path: sqlite:///"):
            line = f"  path: {PRODUCTION_REGISTRY}\n"
        out.append(line)
    path.write_text("".join(out), encoding="utf-8")


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    from feast_federation.onboarding import bootstrap_org

    scratch = tmp_path_factory.mktemp("environments")
    # The server's own user reads its data directory: outside pytest's 0700 base directory,
    # which a concurrent pytest run resets.
    with (
        tempfile.TemporaryDirectory(prefix="feast-federation-pg-") as server_dir,
        postgres_on_loopback(Path(server_dir)) as settings,
    ):
        root = scratch / "org"
        bootstrap_org(root, project="acme", owners=["p@acme.io"], teams=["marketing"],
                      environments=ENVIRONMENTS)  # fmt: skip
        org = Org(root, {**os.environ, **settings})
        for repo in (org.platform, org.team):
            _production_on_postgres(repo)
        for env in ENVIRONMENTS:
            org.apply(org.platform, env)
            org.cli("materialize", org.platform, "--env", env)
            if env == "staging":
                org.cli("verify", org.platform, "--env", env)
            org.apply(org.team, env)
            if env == "staging":
                org.cli("verify", org.team, "--env", env)
        yield org


@pytest.fixture(scope="module")
def baked(tmp_path_factory) -> Org:
    """An org with environments, baked and never applied: what --env is checked against."""
    from feast_federation.onboarding import bootstrap_org

    root = tmp_path_factory.mktemp("baked") / "org"
    bootstrap_org(root, project="acme", owners=["p@acme.io"], teams=["marketing"],
                  environments=ENVIRONMENTS)  # fmt: skip
    return Org(root, dict(os.environ))


def test_each_environment_has_its_own_registry_and_log(org):
    assert (org.platform / "data" / "staging" / "registry.db").is_file()
    assert not list((org.platform / "data" / "production").glob("*.db"))  # in PostgreSQL
    staging, production = org.log(org.team, "staging"), org.log(org.team, "production")
    assert [e["action"] for e in staging] == ["apply", "verify", "apply", "verify"]
    assert [e["action"] for e in production] == ["apply", "apply"]
    promoted = production[-1]
    assert promoted["promoted_from"] == "staging" and promoted["environment"] == "production"
    assert promoted["definitions"] == staging[-1]["definitions"]
    assert promoted["verified_entry"] == staging[-1]["id"]


def test_plain_feast_reads_each_environment_from_the_repo_root(org):
    for env in ENVIRONMENTS:
        result = run(
            [sys.executable, "-m", "feast.cli.cli", "-f", f"environments/{env}/feature_store.yaml",
             "feature-services", "list"],
            cwd=org.team, env=org.env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "marketing_model" in result.stdout


def test_a_breaking_change_fails_verify_on_staging_and_never_reaches_production(org):
    views = org.team / "on_demand_views.py"
    original = views.read_text(encoding="utf-8")
    # A UDF that fails on real balances only: Feast's inference and the apply's own run of
    # it use a sample balance of 1.0, so it applies; serving real users' rows fails.
    broken = original.replace(
        "round(balance - amount, 2)", "round(balance - amount, 2) if balance < 100 else 1 / 0"
    )
    assert broken != original
    views.write_text(broken, encoding="utf-8")
    try:
        org.apply(org.team, "staging")
        failed = org.cli("verify", org.team, "--env", "staging", code=1)
        assert "verify failed in staging:" in failed.stderr
        assert "marketing_model" in failed.stderr and "ZeroDivisionError" in failed.stderr
        assert "Traceback" not in failed.stderr
        refused = org.apply(org.team, "production", code=1)
        assert refused.stderr.count("\n") == 1, refused.stderr
        assert refused.stderr == (
            "error: production: team marketing's definitions were not applied and verified "
            "in staging; nothing was written: apply them with --env staging, run "
            "feast-federation verify . --env staging in the repo, then apply here "
            "(--skip-promotion-check forces it, and is logged)\n"
        )
        assert org.log(org.team, "staging")[-1]["passed"] is False
        assert len(org.log(org.team, "production")) == 2  # nothing written there
    finally:
        views.write_text(original, encoding="utf-8")


def test_the_gate_refuses_an_unverified_digest_and_admits_a_verified_one(org):
    services = org.team / "feature_services.py"
    services.write_text(
        services.read_text(encoding="utf-8").replace('description="', 'description="Promoted: ', 1),
        encoding="utf-8",
    )
    org.apply(org.team, "staging")  # the fix of the test before and the new description
    org.apply(org.team, "production", code=1)  # applied to staging, not verified
    org.cli("verify", org.team, "--env", "staging")
    promoted = org.apply(org.team, "production")
    assert "marketing_model" in promoted.stdout
    entry = org.log(org.team, "production")[-1]
    assert entry["promoted_from"] == "staging"
    assert org.cli("plan", org.team, "--env", "production", check=False).returncode == 0


def test_diff_env_lists_exactly_the_pending_objects(org):
    views = org.platform / "feature_views.py"
    original = views.read_text(encoding="utf-8")
    assert 'name="driver_stats"' in original
    views.write_text(
        original.replace('name="driver_stats",', 'name="driver_stats",\n    tags={"tier": "2"},'),
        encoding="utf-8",
    )
    org.apply(org.platform, "staging")
    found = org.cli("diff-env", org.platform, "--from", "staging", "--to", "production",
                    "--json", code=2)  # fmt: skip
    assert json.loads(found.stdout) == {
        "from": "staging",
        "to": "production",
        "owners": {"platform": [{"kind": "FeatureView", "name": "driver_stats",
                                 "action": "update"}]},
    }  # fmt: skip
    # Promoting without verifying is forced, and the log says so.
    org.apply(org.platform, "production", code=1)
    org.apply(org.platform, "production", "--skip-promotion-check")
    entry = [e for e in org.log(org.platform, "production") if e["owner"] == "platform"][-1]
    assert entry["promotion_check_skipped"] == "not verified in staging"
    none = org.cli("diff-env", org.platform, "--from", "staging", "--to", "production")
    assert "nothing awaits promotion" in none.stdout


@pytest.mark.parametrize(
    "command",
    [
        "plan {platform}", "apply {platform}", "check {team}", "audit {platform}",
        "catalog {platform}", "log {platform}", "backup {platform} --output {tmp}/b.pb",
        "restore {platform} --to 1", "contract refresh {team}", "materialize {platform}",
        "verify {team}", "serve {platform}",
    ],
)  # fmt: skip
def test_every_command_takes_env_and_refuses_an_unknown_one(baked, command, tmp_path):
    words = command.format(platform=baked.platform, team=baked.team, tmp=tmp_path).split()
    unknown = invoke(*words, "--env", "qa")
    assert unknown.exit_code == 1
    (line,) = unknown.output.strip().splitlines()  # check lists problems without "error: "
    assert line.removeprefix("error: ") == (
        "--env qa: not an environment of this org (it has staging, production)"
    )


def test_an_org_without_environments_refuses_env_and_an_org_with_them_needs_one(
    tmp_path, monkeypatch
):
    from feast_federation.onboarding import bootstrap_org

    plain, _ = bootstrap_org(tmp_path / "plain", project="acme", owners=["p@acme.io"], teams=[])
    result = invoke("plan", plain, "--env", "staging")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: --env staging: this org has no environments (federation.yaml names none); "
        "drop --env and FEAST_FEDERATION_ENV"
    )
    envs, _ = bootstrap_org(tmp_path / "envs", project="acme", owners=["p@acme.io"], teams=[],
                            environments=ENVIRONMENTS)  # fmt: skip
    monkeypatch.delenv("FEAST_FEDERATION_ENV", raising=False)  # the --env above set it
    result = invoke("plan", envs)
    assert result.exit_code == 1
    assert "choose one with --env NAME or FEAST_FEDERATION_ENV" in result.output
