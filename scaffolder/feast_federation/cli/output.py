"""Everything the CLI prints: plans as tables, markdown or JSON, audit findings, the apply
log, restores, onboarding results and error lines. Commands decide what to show; this
module decides how it looks, and is the only one that prints."""

from __future__ import annotations

import contextlib
import json
import sys
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from feast_federation.errors import FederationError, RefusedError
from feast_federation.rules.ownership import describe_owner

# Piped output (CI logs, grep) keeps whole names: rich would cut table cells to 80 columns.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 10_000)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 10_000)

_ACTION_STYLES = {"add": "green", "update": "yellow", "delete": "red", "unchanged": "dim"}


def progress(message: str):
    """A spinner on stderr while a slow step runs, at a terminal only: logs stay clean."""
    return err.status(message) if err.is_terminal else contextlib.nullcontext()


def report_error(exc: FederationError) -> None:
    """``error: <message>`` on stderr; a refusal lists one problem per line below it."""
    if isinstance(exc, RefusedError):
        err.print(f"error: {exc.summary}", style="red", markup=False, soft_wrap=True)
        for problem in exc.problems:
            err.print(f"  {problem}", markup=False, soft_wrap=True)
    else:
        err.print(f"error: {exc}", markup=False, soft_wrap=True, style="red")


def print_problems(problems: list[str]) -> None:
    for problem in problems:
        err.print(problem, markup=False, soft_wrap=True)


def note(message: str) -> None:
    """A remark on stderr, so stdout stays the plan alone (JSON, a job summary)."""
    err.print(message, markup=False, soft_wrap=True)


def warn(message: str) -> None:
    err.print(f"warning: {message}", style="yellow", markup=False, soft_wrap=True)


def print_json(data: object) -> None:
    print(json.dumps(data))


def show_plan(result, *, applied: bool, output: str) -> None:
    """A plan (or what an apply carried out) in the chosen ``output``: table, markdown, json."""
    if output == "json":
        print_json(result.to_json())
    elif output == "markdown":
        print(markdown_plan(result, applied=applied))
    else:
        title = f"{'Applied' if applied else 'Plan'} for {describe_owner(result.owner)}"
        print_changes([change.to_json() for change in result.changes], title, applied=applied)


def markdown_plan(result, *, applied: bool) -> str:
    """The plan as a GitHub-flavoured markdown table, for a CI job summary."""
    changed = [c.to_json() for c in result.changes if c.action != "unchanged"]
    title = f"### {'Applied' if applied else 'Plan'} for {describe_owner(result.owner)}"
    if not changed:
        unchanged = len(result.changes)
        return f"{title}\n\nNothing to change ({unchanged} objects up to date)."
    rows = [
        f"| {c['action']} | {c['kind']} | `{c['name']}` | {', '.join(c.get('fields', []))} |"
        for c in changed
    ]
    header = "| action | kind | name | changed fields |\n| --- | --- | --- | --- |"
    return "\n".join([title, "", header, *rows, *_markdown_values(changed)])


def _markdown_values(changes: list[dict]) -> list[str]:
    """Old and new values below the table, one collapsed block per updated object."""
    lines = []
    for change in changes:
        if not change.get("values"):
            continue
        lines += ["", f"<details><summary>{change['kind']} <code>{change['name']}</code>: "
                  "old and new values</summary>", ""]  # fmt: skip
        for name, value in change["values"].items():
            if "diff" in value:
                lines += [f"- `{name}`:", "", "```diff", value["diff"].rstrip("\n"), "```"]
            else:
                lines.append(f"- `{name}`: ``{_shown(value['old'])}`` → ``{_shown(value['new'])}``")
        lines += ["", "</details>"]
    return lines


def _shown(value) -> str:
    """A field's value as one line of JSON; an unset field reads as null."""
    return json.dumps(value, sort_keys=True)


def print_changes(changes: list[dict], title: str, *, applied: bool = False) -> None:
    """A table of the changes, coloured by action, and a count of what stays as it is."""
    changed = [change for change in changes if change["action"] != "unchanged"]
    unchanged = len(changes) - len(changed)
    if not changed:
        out.print(f"{title}: nothing to change ({unchanged} objects up to date).")
        return
    table = Table(title=title, title_justify="left")
    for column in ("action", "kind", "name", "changed fields"):
        table.add_column(column)
    for change in changed:
        style = _ACTION_STYLES[change["action"]]
        action = f"[{style}]{change['action']}[/{style}]"
        table.add_row(action, change["kind"], change["name"], ", ".join(change.get("fields", [])))
    out.print(table)
    _print_values(changed)
    done = "changed" if applied else "to change"
    out.print(f"{len(changed)} {done}, {unchanged} unchanged.")


def _print_values(changes: list[dict]) -> None:
    """Each updated object's changed fields, old -> new; UDF source as a unified diff."""
    for change in changes:
        if not change.get("values"):
            continue
        out.print(f"{change['kind']} {change['name']}:", markup=False, soft_wrap=True)
        for name, value in change["values"].items():
            if "diff" in value:
                out.print(f"  {name}:", markup=False)
                for line in value["diff"].splitlines():
                    out.print(f"    {line}", markup=False, soft_wrap=True, style=_diff_style(line))
            else:
                shown = f"  {name}: {_shown(value['old'])} -> {_shown(value['new'])}"
                out.print(shown, markup=False, soft_wrap=True)


def _diff_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    return {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")


def summarize(result) -> str:
    """One line: how many objects each action touched, for the owner of ``result``."""
    counts = Counter(change.action for change in result.changes)
    summary = ", ".join(f"{count} {action}" for action, count in sorted(counts.items()))
    return f"{describe_owner(result.owner)}: {summary}"


def print_findings(findings: list) -> None:
    if not findings:
        out.print("No drift: the registry holds what the federation put there.")
        return
    table = Table(title="Registry drift", title_justify="left")
    for column in ("rule", "object", "detail"):
        table.add_column(column)
    for finding in findings:
        table.add_row(f"[red]{finding.rule}[/red]", finding.subject, finding.detail)
    out.print(table)


def print_log(entries: list[dict]) -> None:
    table = Table(title="Apply log", title_justify="left")
    for column in ("id", "when", "who", "owner", "action", "changes"):
        table.add_column(column)
    for entry in entries:
        counts = Counter(change["action"] for change in entry["changes"])
        summary = ", ".join(f"{count} {action}" for action, count in sorted(counts.items()))
        if entry["action"] == "verify":
            summary = "passed" if entry.get("passed") else f"failed ({len(entry['problems'])})"
        table.add_row(
            str(entry["id"]), entry["at"], entry["actor"], entry["owner"], entry["action"], summary
        )
    out.print(table)


# --- command results ------------------------------------------------------------------------


def print_version(version: str) -> None:
    print(f"feast-federation {version}")


def plain(line: str) -> None:
    """A line as it is: names and paths are data, never markup."""
    out.print(line, markup=False, soft_wrap=True)


def show_applied(result, *, output: str) -> None:
    """What an apply carried out, after any breakage it was told to carry out anyway."""
    for breakage in result.overridden:
        warn(f"--allow-breaking-teams: {breakage}")
    show_plan(result, applied=True, output=output)


def saved_plan_written(path: Path) -> None:
    note(f"Saved the plan to {path}; carry it out with: feast-federation apply {path}")


def confirm_deletions(deletions: list[dict]) -> bool:
    """Show the deletions a plan makes and ask whether to go ahead (at a terminal)."""
    print_changes(deletions, "The plan deletes")
    count = len(deletions)
    return typer.confirm(f"Delete {count} object{'s' if count != 1 else ''}?", default=False)


def repo_follows_rules() -> None:
    out.print("The repo follows the federation rules.")


def wrote(path: Path) -> None:
    plain(f"Wrote {path}.")


def wrote_bytes(count: int, path: Path) -> None:
    plain(f"Wrote {count} bytes to {path}")


def write_text(text: str, path: Path | None, *, what: str) -> None:
    """``text`` to stdout, or to ``path`` with a line saying so."""
    if path is None:
        print(text)
        return
    path.write_text(text, encoding="utf-8")
    plain(f"Wrote {what} to {path}")


def show_findings(findings: list, *, as_json: bool) -> None:
    if as_json:
        print_json({"findings": [finding.to_json() for finding in findings]})
    else:
        print_findings(findings)


def show_restore(result, *, applied: bool, as_json: bool) -> None:
    if as_json:
        print_json(result.to_json())
        return
    title = "Restored" if applied else "Restore plan"
    print_changes([c.to_json() for c in result.changes], title, applied=applied)
    for breakage in result.overridden:
        warn(f"--allow-breaking-teams: {breakage}")
    if result.rematerialize:
        plain(
            "Re-materialize these views (their online rows are gone): "
            + ", ".join(result.rematerialize)
        )
    if not applied and result.has_changes:
        out.print("Nothing was written; run again with --yes to restore.")


def show_log(entries: list[dict], summaries: list[dict], *, as_json: bool) -> None:
    if as_json:
        print_json(summaries)
    else:
        print_log(entries)


def materialized(views: list[str]) -> None:
    plain(f"Materialized {len(views)} feature views: {', '.join(views)}")


def team_added(name: str, platform: Path, repo: Path) -> None:
    plain(f"Team {name} registered in {platform / 'federation.yaml'}")
    plain(f"Team repo created at {repo}")
    out.print(
        "Next: the platform applies federation.yaml (python apply.py), then the team applies."
    )


def org_created(platform_dir: Path, team_dirs) -> None:
    plain(f"Platform repo: {platform_dir}")
    for team_dir in team_dirs:
        plain(f"Team repo:     {team_dir}")


def adopted(lines: list[str], platform: Path | None, team_dirs: list[Path]) -> None:
    for line in lines:
        plain(line)
    if platform is not None:
        org_created(platform, team_dirs)


def step(title: str, detail: str) -> None:
    """A step of a narrated run (the demo, bootstrap --apply)."""
    out.print(Panel(f"[bold]{escape(title)}[/bold]  {escape(detail)}", expand=False))


def step_done(result) -> None:
    """One line for a step's result: a plan's counts, or views materialized."""
    if isinstance(result, int):
        out.print(f"  {result} feature views materialized")
    else:
        plain(f"  {summarize(result)}")


def verified(result) -> None:
    """A passed verification: what was checked, and what the next environment may take."""
    where = f" in {result.environment}" if result.environment else ""
    for checked in result.checked:
        plain(f"ok  {checked}")
    plain(f"Verified{where}: definitions {result.digest[:12]}, logged")


def show_env_diff(found: dict[str, list[dict]], source: str, target: str, *, as_json: bool):
    if as_json:
        print_json({"from": source, "to": target, "owners": found})
        return
    if not found:
        plain(f"{target} holds everything {source} holds: nothing awaits promotion")
        return
    plain(f"What promoting {source} to {target} would change, per owner:")
    for owner, changes in found.items():
        plain(f"{owner}:")
        for change in changes:
            plain(f"  {change['action']:<7} {change['kind']} {change['name']}")
