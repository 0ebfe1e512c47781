"""Registering a team in federation.yaml: appended as lines where the layout allows it (a
10,000-team file round-tripped through ruamel.yaml takes seconds), round-tripped where it
does not, and in both cases read back as the old policy plus the new team. No Feast."""

from __future__ import annotations

import pytest
import yaml

from feast_federation.rules import policy as policy_file
from feast_federation.rules.policy import load_policy, policy_section, register_team

HEAD = """# Federation policy.
project: acme
platform:
  owners: ["p@x.io"]
  role: feast-platform
"""
BACKUPS = """# Every sync snapshots the registry here first.
backups:
  path: .federation/backups
  keep: 20
"""
ALPHA = """  alpha:
    prefix: alpha_
    owners: [alpha-leads@example.com]  # the leads
"""

# Layouts the append handles: the new team lands after the last one, nothing else moves.
APPENDED = {
    "teams last": HEAD + BACKUPS + "teams:\n" + ALPHA,
    "teams before a section, with comments between": HEAD
    + "teams:\n"
    + ALPHA
    + "\n# the backups, below\n"
    + BACKUPS,  # fmt: skip
    "a last team with kept names and a folded description": HEAD
    + "teams:\n"
    + ALPHA
    + "  beta:\n    prefix: beta_\n    owners: ['@beta']\n    names:\n      - legacy_model\n"
    "      - old_view\n    description: >\n      Beta's models,\n      all of them.\n"
    "    # a comment inside the entry\n" + BACKUPS,  # fmt: skip
    "four-space indentation": HEAD + "teams:\n    alpha:\n        prefix: alpha_\n"
    "        owners: [a@x.io]\n" + BACKUPS,  # fmt: skip
    "no newline at the end": HEAD + "teams:\n" + ALPHA.rstrip("\n"),
    "windows line ends": (HEAD + BACKUPS + "teams:\n" + ALPHA).replace("\n", "\r\n"),
}
# Layouts it leaves to the round trip.
ROUND_TRIPPED = {
    "no teams yet": HEAD + BACKUPS + "teams: {}\n",
    "teams in flow style": HEAD + "teams: {alpha: {prefix: alpha_, owners: [a@x.io]}}\n",
    "a quoted team key": HEAD + 'teams:\n  "alpha":\n    prefix: alpha_\n    owners: [a@x.io]\n',
    "old Mac line ends": (HEAD + "teams:\n" + ALPHA).replace("\n", "\r"),
    "a kept trailing block scalar": HEAD + "teams:\n  alpha:\n    prefix: alpha_\n"
    "    owners: [a@x.io]\n    description: |+\n      keeps its blank lines\n\n\n",
}


def registered(tmp_path, text: str, team="gamma", **extra):
    path = tmp_path / "federation.yaml"
    path.write_bytes(text.encode())
    policy = register_team(tmp_path, team, [f"{team}-leads@example.com"], **extra)
    return path.read_bytes().decode(), policy


def expected_data(text: str, team: str, **extra) -> dict:
    data = yaml.safe_load(text)
    entry = {"prefix": f"{team}_", "owners": [f"{team}-leads@example.com"], **extra}
    return {**data, "teams": {**(data.get("teams") or {}), team: entry}}


@pytest.mark.parametrize("layout", sorted(APPENDED))
def test_a_team_is_appended_after_the_last_one_and_nothing_else_moves(
    tmp_path, layout, monkeypatch
):
    text = APPENDED[layout]

    def no_round_trip(*args):
        raise AssertionError("round-tripped a layout the append handles")

    monkeypatch.setattr(policy_file, "_with_team", no_round_trip)
    after, policy = registered(tmp_path, text, role="feast-gamma", offline_schema="gamma_x")
    extra = {"role": "feast-gamma", "offline_schema": "gamma_x"}
    assert yaml.safe_load(after) == expected_data(text, "gamma", **extra)
    assert list(yaml.safe_load(after)["teams"])[-1] == "gamma"
    newline = "\r\n" if "\r\n" in text else "\n"
    entry = newline.join(
        ["gamma:", "prefix: gamma_", "owners: [gamma-leads@example.com]", "role: feast-gamma",
         "offline_schema: gamma_x"]
    )  # fmt: skip
    # The old text is all there, in order, with the entry inserted in one piece.
    inserted = [line for line in after.splitlines() if line.strip() and line not in text]
    assert newline.join(line.strip() for line in inserted) == entry
    assert [line for line in after.splitlines() if line not in inserted] == text.splitlines()
    # What register_team returns is what the file reads as.
    policy_file._last = None
    assert policy == load_policy(tmp_path)
    assert policy_section(tmp_path, "backups") == (yaml.safe_load(text).get("backups") or {})


@pytest.mark.parametrize("layout", sorted(ROUND_TRIPPED))
def test_other_layouts_are_round_tripped_to_the_same_policy(tmp_path, layout):
    text = ROUND_TRIPPED[layout]
    after, policy = registered(tmp_path, text)
    assert yaml.safe_load(after) == expected_data(text, "gamma")
    policy_file._last = None
    assert policy == load_policy(tmp_path)


def test_a_hundred_registrations_read_back_as_the_teams_in_order(tmp_path):
    path = tmp_path / "federation.yaml"
    path.write_text(APPENDED["teams before a section, with comments between"])
    for index in range(100):
        register_team(tmp_path, f"crew{index:03d}", [f"crew{index:03d}@x.io"])
    data = yaml.safe_load(path.read_text())
    assert list(data["teams"]) == ["alpha"] + [f"crew{index:03d}" for index in range(100)]
    assert data["backups"]["keep"] == 20
    assert path.read_text().endswith(BACKUPS)


# --- reading: plain YAML built straight from libyaml's events, to PyYAML's data ----------

DOCUMENTS = [
    "teams:\n  t:\n    prefix: t_\n    owners: [a, 'b c']\n",
    "a: 1\nb: [1, 2.5, {c: d}]\nc: null\nd: yes\ne: 2020-01-01\nf: !!str 7\n",
    "a: &x {b: 1}\nc: *x\n",  # an alias: PyYAML's own construction
    "<<: {a: 1}\nb: 2\n",  # a merge key
    "a: 1\na: 2\n",
    "{a: 1, a: 2}",
    "1: one\ntrue: two\n",  # equal keys to Python
    "a: {b: 1, b: 2}\nc: 1\nc: 2\n",  # the outer mapping's keys are checked first
    "? [1]\n: 2\n",  # an unhashable key
    "x: !custom 1\n",
    "",
    "---\na: 1\n---\nb: 2\n",
    "---\n",
    "a: ! 12\nb: '12'\nc: |\n  x\n",  # a non-specific tag is resolved as if plain
    "a: &x 1\nb: *x\n",  # a scalar's anchor
    "- [a, {b: c}]\n- !!map {d: 1}\n",
    "a: [\n",
]


def _outcome(load, text: str):
    try:
        return ("data", load(text))
    except policy_file.DuplicateKey as exc:
        return ("duplicate", exc.key, exc.first, exc.again)
    except yaml.YAMLError as exc:
        return ("refused", type(exc).__name__)


@pytest.mark.parametrize("text", DOCUMENTS)
def test_the_policy_reader_reads_what_pyyamls_unique_key_loader_reads(text):
    def pyyaml(document):
        return yaml.load(document, Loader=policy_file._UniqueKeyLoader)  # noqa: S506

    assert _outcome(policy_file._load, text) == _outcome(pyyaml, text)
