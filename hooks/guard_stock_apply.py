#!/usr/bin/env python3
"""Pre-commit guard for team repos: refuse what would sync the whole shared project.

`feast apply` and `feast plan` treat a team repo as the whole project (and delete the
platform's and other teams' objects); `partial=False` and `objects_to_delete` delete through
the Python API. Standard library only: pre-commit runs it without installing anything.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

FORBIDDEN = (
    (
        re.compile(r"\bfeast\s+(apply|plan)\b"),
        "runs stock `feast {0}`, which deletes other repos' objects",
    ),
    (
        re.compile(r"\bpartial\s*=\s*False\b"),
        "passes partial=False, which deletes registry objects",
    ),
    (
        re.compile(r"\bobjects_to_delete\b"),
        "passes objects_to_delete, which deletes registry objects",
    ),
)


def problems(path: Path) -> list[str]:
    found = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return found
    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith("#"):
            continue
        for pattern, rule in FORBIDDEN:
            match = pattern.search(line)
            if match:
                rule_text = rule.format(*match.groups())
                found.append(f"{path}:{number}: {rule_text}; use python apply.py")
    return found


def main(paths: list[str]) -> int:
    found = [problem for path in paths for problem in problems(Path(path))]
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
