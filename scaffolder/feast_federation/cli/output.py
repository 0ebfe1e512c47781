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
from rich.text import Text

from feast_federation.errors import FederationError, RefusedError
from feast_federation.files import atomic_write
from feast_federation.rules.ownership import describe_owner
from feast_federation.rules.values import markdown_code, markdown_fence, markdown_text

# Piped output (CI logs, grep) keeps whole names: rich would cut table cells to 80 columns.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 10_000)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 10_000)

_ACTION_STYLES = {"add": "green", "update": "yellow", "delete": "red", "unchanged": "dim"}


def _table(title: str, *columns: str) -> Table:
    """A table whose title and cells are data: shown as they are, never read as markup."""
    table = Table(title=Text(title), title_justify="left")
    for column in columns:
        table.add_column(column)
    return table


def _row(table: Table, *cells: str, style: str = "") -> None:
    """One row of plain text (an object named ``x[/]`` is a name, not a closing tag); the
    first cell takes ``style``."""
    first, *rest = cells
    # A span, not the cell's style: the colour ends with the word, not the column's padding.
    table.add_row(Text.assemble((str(first), style)), *(Text(str(cell)) for cell in rest))


def progress(message: str):
    """A spinner on stderr while a slow step runs, at a terminal only: logs stay clean."""
    return err.status(message) if err.is_terminal else contextlib.nullcontext()


def report_error(exc: FederationError, *, as_json: bool = False) -> None:
    """``error: <message>`` on stderr; a refusal lists one problem per line below it. With
    ``as_json`` (the command's --json), also ``{"error": ..., "problems": [...]}`` on stdout."""
    if as_json:
        refused = isinstance(exc, RefusedError)
        print_json(
            {
                "error": exc.summary if refused else str(exc),
                "problems": exc.problems if refused else [],
            }
        )
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
    left = left_behind(result)
    if left and output != "json":
        note(f"note: {left}")


def left_behind(result) -> str:
    """What a team's plan leaves in the registry that its repo no longer defines."""
    objects = getattr(result, "left_behind", [])
    if not objects:
        return ""
    count = len(objects)
    these = "it" if count == 1 else "them"
    return (
        f"{describe_owner(result.owner)} has {count} object{'s' if count != 1 else ''} in the "
        f"registry that this repo no longer defines ({', '.join(objects)}): the apply keeps "
        f"{these}, still served; --prune deletes {these} (--plan --prune shows what it "
        "deletes)"
    )


def markdown_plan(result, *, applied: bool) -> str:
    """The plan as a GitHub-flavoured markdown table, for a CI job summary. Every value is
    escaped: a name or a value never ends a cell, a row or a code block early."""
    changed = [c.to_json() for c in result.changes if c.action != "unchanged"]
    owner = markdown_text(describe_owner(result.owner))
    title = f"### {'Applied' if applied else 'Plan'} for {owner}"
    if not changed:
        unchanged = len(result.changes)
        remark = f"\n\n> Note: {left_behind(result)}" if left_behind(result) else ""
        return f"{title}\n\nNothing to change ({unchanged} objects up to date).{remark}"
    rows = [
        f"| {markdown_text(c['action'])} | {markdown_text(c['kind'])} | {markdown_code(c['name'])} "
        f"| {markdown_text(', '.join(c.get('fields', [])))} |"
        for c in changed
    ]
    left = ["", f"> Note: {left_behind(result)}"] if left_behind(result) else []
    header = "| action | kind | name | changed fields |\n| --- | --- | --- | --- |"
    return "\n".join([title, "", header, *rows, *_markdown_values(changed), *left])


def _markdown_values(changes: list[dict]) -> list[str]:
    """Old and new values below the table, one collapsed block per updated object."""
    lines = []
    for change in changes:
        if not change.get("values") and not change.get("pinned_by"):
            continue
        lines += ["", f"<details><summary>{markdown_text(change['kind'])} "
                  f"{markdown_code(change['name'])}: old and new values</summary>", ""]  # fmt: skip
        for name, value in change.get("values", {}).items():
            if "diff" in value:
                diff = value["diff"].rstrip("\n")
                fence = markdown_fence(diff)
                lines += [f"- {markdown_code(name)}:", "", f"{fence}diff", diff, fence]
            else:
                old, new = markdown_code(_shown(value["old"])), markdown_code(_shown(value["new"]))
                lines.append(f"- {markdown_code(name)}: {old} → {new}")
        lines += [f"- pinned by {markdown_code(pin)}" for pin in change.get("pinned_by", [])]
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
        plain(f"{title}: nothing to change ({unchanged} objects up to date).")
        return
    table = _table(title, "action", "kind", "name", "changed fields")
    for change in changed:
        fields = ", ".join(change.get("fields", []))
        _row(table, change["action"], change["kind"], change["name"], fields,
             style=_ACTION_STYLES[change["action"]])  # fmt: skip
    out.print(table)
    _print_values(changed)
    done = "changed" if applied else "to change"
    out.print(f"{len(changed)} {done}, {unchanged} unchanged.")


def _print_values(changes: list[dict]) -> None:
    """Each updated object's changed fields, old -> new; UDF source as a unified diff."""
    for change in changes:
        if not change.get("values") and not change.get("pinned_by"):
            continue
        plain(f"{change['kind']} {change['name']}:")
        for pin in change.get("pinned_by", []):
            plain(f"  pinned by {pin}")
        for name, value in change.get("values", {}).items():
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
    table = _table("Registry drift", "rule", "object", "detail")
    for finding in findings:
        _row(table, finding.rule, finding.subject, finding.detail, style="red")
    out.print(table)


def print_log(entries: list[dict]) -> None:
    table = _table("Apply log", "id", "when", "who", "owner", "action", "changes")
    for entry in entries:
        counts = Counter(str(change.get("action")) for change in entry.get("changes") or [])
        summary = ", ".join(f"{count} {action}" for action, count in sorted(counts.items()))
        if entry["action"] == "verify":
            summary = "passed" if entry.get("passed") else f"failed ({len(entry['problems'])})"
        about = (entry.get(key, "") for key in ("at", "actor", "owner", "action"))
        _row(table, entry["id"], *about, summary)
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


def remove_summary(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise FederationError(f"--summary {path}: cannot remove it ({exc.strerror})") from None


def write_summary(result, path: Path | None, *, applied: bool, note: str | None = None) -> None:
    """The plan as markdown into the file this run names (a CI step appends it to the job
    summary): never through stdout, which a definition module can print into."""
    if path is None:
        return
    text = markdown_plan(result, applied=applied)
    if note:
        text += f"\n\n> **Note:** {markdown_text(note)}"
    try:
        atomic_write(path, text + "\n")
    except OSError as exc:
        raise FederationError(f"--summary {path}: cannot write it ({exc.strerror})") from None


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
