"""A GCS file registry (on a GCS emulator at 127.0.0.1) with PostgreSQL stores: refused
unless the org serializes its applies, and working end to end when it says it does."""

from __future__ import annotations

import os
import sys
from unittest import mock

import pytest

from support import run
from support.gcs import BUCKET, gcs_on_loopback
from support.orgs import FETCH, running_org
from support.postgres import postgres_on_loopback

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("gcs")
    with gcs_on_loopback() as gcs, postgres_on_loopback(scratch) as postgres:
        yield running_org(scratch / "org", {**os.environ, **gcs, **postgres}, "gcs", "postgres")


def registry_blob(org) -> bytes:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    with mock.patch.dict(os.environ, STORAGE_EMULATOR_HOST=org.env["STORAGE_EMULATOR_HOST"]):
        client = storage.Client(project="acme-ml", credentials=AnonymousCredentials())
        return client.bucket(BUCKET).blob("acme/registry.pb").download_as_bytes()


def test_the_registry_is_in_gcs_and_a_team_serves_from_it(org):
    assert len(registry_blob(org)) > 1000
    repo = org.root / "teams" / "marketing"
    result = org.run([sys.executable, "-c", FETCH, str(repo), "marketing_campaign_model", "online"])
    assert '"purchase_propensity_score"' in result.stdout


def test_without_serialized_applies_an_apply_is_refused_and_writes_nothing(org):
    before = registry_blob(org)
    env = {k: v for k, v in org.env.items() if k != "FEAST_FEDERATION_SERIALIZED_BY_CI"}
    result = run([sys.executable, "apply.py"], cwd=org.root / "teams" / "risk", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: registry gs://{BUCKET}/acme/registry.pb: a GCS file registry loses concurrent "
        "writes and cannot be locked from here; use the SQL registry (recommended) or S3, or "
        "serialize every apply of the org in one CI queue and set "
        "FEAST_FEDERATION_SERIALIZED_BY_CI=1"
    ]
    assert registry_blob(org) == before
