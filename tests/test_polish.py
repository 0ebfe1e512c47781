"""What a new user sees on the way: help that shows every option and default whole,
bootstrap's steps numbered from 1, materialize's output without escape codes in a log, and
a team's feature_store.yaml with one header."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import cli, invoke


@pytest.mark.parametrize(
    "command, whole",
    [
        ("serve", ["--max-requests-jitter", "--keep-alive-seconds", "--no-access-log"]),
        ("add-team", ["[the first with a bespoke starter", "[team name]", "[the platform repo's]"]),
        ("bootstrap", ["stores a CI runner can reach"]),
    ],
)  # fmt: skip
def test_help_shows_every_option_and_default_whole(command, whole):
    shown = cli(command, "--help").stdout
    flat = " ".join(shown.split())
    for text in whole:
        assert text in flat, shown
    assert " ." not in flat and "…" not in shown and "embedded local default" not in flat


@pytest.fixture(scope="module")
def org(tmp_path_factory) -> tuple[Path, str]:
    directory = tmp_path_factory.mktemp("polish") / "org"
    result = invoke("bootstrap", directory, "--team", "marketing", "--apply")
    assert result.exit_code == 0, result.output
    return directory, result.output


@pytest.mark.slow
def test_bootstrap_apply_numbers_its_steps_from_one(org):
    _, printed = org
    steps = [line.strip("│ ").split("  ")[0] for line in printed.splitlines() if ". " in line]
    numbered = [step for step in steps if step[:1].isdigit()]
    assert numbered == ["1. Platform sync", "2. Materialize", "3. Team applies"], printed


@pytest.mark.slow
def test_materialize_in_a_log_prints_no_escape_codes(org):
    directory, _ = org
    result = cli("materialize", str(directory / "platform"))
    assert result.returncode == 0, result.stderr
    assert "Materializing" in result.stdout and "\x1b" not in result.stdout + result.stderr


@pytest.mark.slow
def test_a_team_store_yaml_has_one_header(org):
    directory, _ = org
    text = (directory / "teams" / "marketing" / "feature_store.yaml").read_text()
    assert text.count("Shared settings, copied from the platform repo") == 1
    assert "Team repos copy these settings" not in text


@pytest.mark.slow
def test_a_json_run_reports_its_error_as_json(tmp_path):
    result = cli("plan", str(tmp_path / "nowhere"), "--json")
    assert result.returncode == 1
    import json

    error = json.loads(result.stdout)
    assert error == {
        "error": f"{tmp_path / 'nowhere'}: no feature_store.yaml; not a feature repo",
        "problems": [],
    }
    assert result.stderr.startswith("error: ")
