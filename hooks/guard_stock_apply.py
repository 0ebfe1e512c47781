#!/usr/bin/env python3
"""Pre-commit guard for platform and team repos: refuse what would sync or tear down the
whole shared project.

`feast apply` and `feast plan` treat one repo as the whole project (and delete the other
repos' objects); `feast teardown` drops the shared project's tables and registry entries;
`partial=False` and `objects_to_delete` delete through the Python API. Python files are read
as Python (`ast`) and shell, Makefiles and CI YAML as command lines (`shlex`), so comments,
docstrings and quoted strings that merely mention these never count. Standard library only:
pre-commit runs it without installing anything.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

STOCK = {
    "apply": "runs stock `feast apply`, which deletes other repos' objects; use python apply.py",
    "plan": "runs stock `feast plan`, which deletes other repos' objects; use python apply.py",
    "teardown": "runs stock `feast teardown`, which tears down the shared project for every "
    "repo; nobody's repo may do that",
}
PARTIAL = "passes partial=False, which deletes registry objects; use python apply.py"
TO_DELETE = "passes objects_to_delete, which deletes registry objects; use python apply.py"
STORE_APPLY = "calls FeatureStore(...).apply, which skips the ownership checks; use python apply.py"
STORE_TEARDOWN = (
    "calls teardown(), which tears down the shared project for every repo; nobody's repo may "
    "do that"
)

# Options of the feast CLI that take a value: `feast -c DIR apply` still runs apply.
_FEAST_VALUE_OPTIONS = {"-c", "--chdir", "-f", "--feature-store-yaml", "--log-level"}
# Words that run the command after them: `sudo feast apply`, `uv run feast apply`.
_WRAPPERS = {"sudo", "env", "exec", "time", "nohup", "command", "run", "uv", "poetry", "pipx"}
_SHELLS = {"sh", "bash", "zsh", "dash"}
_SUBPROCESS = {"run", "call", "check_call", "check_output", "Popen", "system", "getoutput"}
_YAML_COMMAND_KEY = re.compile(
    r"^(?P<indent>\s*)(?:-\s+)?(?:run|script|before_script|after_script)\s*:\s*(?P<value>.*)$"
)


# --- shell command lines ----------------------------------------------------------------


def stock_command(line: str) -> str | None:
    """The stock feast subcommand a shell line runs (apply, plan, teardown), or None.

    Quoted words stay one word and `#` starts a comment, as in the shell, so `echo "feast
    apply"` and `true  # feast apply` run nothing.
    """
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        words = list(lexer)
    except ValueError:  # an unclosed quote: a line of a multi-line string, not a command
        return None
    command: list[str] = []
    for word in [*words, ";"]:
        if word and set(word) <= set(";&|()<>"):
            found = _feast_subcommand(command)
            if found:
                return found
            command = []
        else:
            command.append(word)
    return None


def _feast_subcommand(words: list[str]) -> str | None:
    while words and (re.match(r"^\w+=", words[0]) or words[0] in _WRAPPERS):
        words = words[1:]  # environment assignments and wrappers run what follows
    if not words:
        return None
    program = os.path.basename(words[0].lstrip("@-+"))  # Makefile recipe prefixes
    if program in _SHELLS and "-c" in words[1:-1]:
        return stock_command(words[words.index("-c", 1) + 1])
    if program != "feast":
        return None
    rest = words[1:]
    while rest and rest[0].startswith("-"):
        takes_value = rest[0] in _FEAST_VALUE_OPTIONS
        rest = rest[2:] if takes_value else rest[1:]
    return rest[0] if rest and rest[0] in STOCK else None


def shell_lines(text: str) -> Iterator[tuple[int, str]]:
    """Each logical line with its first line's number; backslash continuations joined."""
    pending, start = "", 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield start, pending + line
        pending = ""
    if pending:
        yield start, pending


def yaml_command_lines(text: str) -> Iterator[tuple[int, str]]:
    """The command lines of CI YAML: `run:` (GitHub) and `script:` (GitLab) values, inline,
    as block scalars or as lists. Everything else in YAML is data, not commands."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = _YAML_COMMAND_KEY.match(lines[index])
        index += 1
        if not match:
            continue
        indent, value = len(match["indent"]), match["value"].strip()
        if value and value[0] not in "|>":
            yield index, _yaml_scalar(value)
            continue
        while index < len(lines) and (
            not lines[index].strip() or len(lines[index]) - len(lines[index].lstrip()) > indent
            or (not value and lines[index].lstrip().startswith("- "))
        ):  # fmt: skip
            line = lines[index].strip()
            index += 1
            if line:
                yield index, _yaml_scalar(line[2:]) if not value and line[:2] == "- " else line


def _yaml_scalar(value: str) -> str:
    """A YAML flow scalar's text: `"feast apply"` runs feast apply, the quotes are YAML's."""
    if value[:1] in "\"'" and value.rstrip()[-1:] == value[0]:
        return value.strip()[1:-1]
    return value


# --- Python -----------------------------------------------------------------------------


def python_problems(text: str) -> Iterator[tuple[int, str]]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return  # not Python pre-commit can check; the linters say why
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield from ((node.lineno, rule) for rule in _call_problems(node))


def _call_problems(call: ast.Call) -> Iterator[str]:
    keywords = {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg}
    method = call.func.attr if isinstance(call.func, ast.Attribute) else None
    partial = keywords.get("partial")
    if method == "apply" and isinstance(partial, ast.Constant) and partial.value is False:
        yield PARTIAL
    if "objects_to_delete" in keywords:
        yield TO_DELETE
    if method in ("apply", "teardown") and _is_feature_store(call.func.value):
        yield STORE_APPLY if method == "apply" else STORE_TEARDOWN
    elif method == "teardown" and not call.args and _names_a_store(call.func.value):
        yield STORE_TEARDOWN
    if method in _SUBPROCESS or _name(call.func) in _SUBPROCESS:
        found = _subprocess_command(call, keywords)
        if found:
            yield STOCK[found]


def _is_feature_store(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and _name(node.func) == "FeatureStore"


def _names_a_store(node: ast.expr) -> bool:
    return _is_feature_store(node) or (_name(node) or "").lower().endswith("store")


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _subprocess_command(call: ast.Call, keywords: dict) -> str | None:
    """The stock subcommand a subprocess call runs: a list of literal words, or a literal
    command line (os.system, shell=True)."""
    command = call.args[0] if call.args else keywords.get("args")
    if isinstance(command, ast.Constant) and isinstance(command.value, str):
        return stock_command(command.value)
    if isinstance(command, (ast.List, ast.Tuple)):
        words = [
            element.value if isinstance(element, ast.Constant) else "?" for element in command.elts
        ]
        return _feast_subcommand([str(word) for word in words])
    return None


# --- files ------------------------------------------------------------------------------


def problems(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    if path.suffix == ".py":
        found = list(python_problems(text))
    else:
        is_yaml = path.suffix in (".yml", ".yaml")
        lines = yaml_command_lines(text) if is_yaml else shell_lines(text)
        found = [(number, STOCK[sub]) for number, line in lines if (sub := stock_command(line))]
    return [f"{path}:{number}: {rule}" for number, rule in sorted(found, key=lambda f: f[0])]


def main(paths: list[str]) -> int:
    found = [problem for path in paths for problem in problems(Path(path))]
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
