"""Every error a user sees: one line naming the object and the rule. Standard library only.

The CLI prints ``error: <message>`` and exits 1, without a traceback, for any of these.
"""

from __future__ import annotations


class FederationError(Exception):
    """A user-facing failure: a mistake in a repo, a policy, an option or an environment."""


class OwnershipError(FederationError):
    """A federation rule was broken (a name, an owner, a kind)."""


class RefusedError(FederationError):
    """A plan breaks federation rules; ``problems`` has one line per violation."""

    def __init__(self, problems: list[str], summary: str = "refused; nothing was written:"):
        self.problems = problems
        self.summary = summary
        super().__init__("\n".join(problems))


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's text, or its type's name."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
