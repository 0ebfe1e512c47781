"""Every error a user sees: one line naming the object and the rule. Standard library only.

The CLI prints ``error: <message>`` and exits 1, without a traceback, for any of these.
Callers tell refusals apart by type, never by their text. The cookiecutter hooks keep a
standard-library copy of what they need (``hooks/cookiecutter_hooks.py``).
"""

from __future__ import annotations


class FederationError(Exception):
    """A user-facing failure: a mistake in a repo, a policy, an option or an environment."""


class OwnershipError(FederationError):
    """A federation rule was broken (a name, an owner, a kind)."""


class DefinitionError(FederationError):
    """Feast refuses an object the repo defines (its inference, its checks); the message
    names the object and the field."""


class RefusedError(FederationError):
    """A plan breaks federation rules; ``problems`` has one line per violation."""

    def __init__(self, problems: list[str], summary: str = "refused; nothing was written:"):
        self.problems = problems
        self.summary = summary
        super().__init__("\n".join(problems))


class BreaksTeams(RefusedError):
    """A write would break team services or ODFVs (delete protection)."""

    def __init__(self, problems: list[str], write: str = "write"):
        super().__init__(
            problems,
            f"refused: the {write} would break team objects; nothing was written "
            "(--allow-breaking-teams overrides):",
        )


class UnconfirmedDeletions(FederationError):
    """A write would delete objects and nobody confirmed it."""


class StalePlan(FederationError):
    """The repo or the registry moved past a saved plan; nothing was written."""

    def __init__(self, changed: list[str], *, repo_changed: bool, advice: str = "plan again"):
        self.changed, self.repo_changed = changed, repo_changed
        super().__init__("; ".join(changed) + f"; nothing was written: {advice}")

    def advising(self, advice: str) -> StalePlan:
        """The same refusal, with what to do where the plan came from."""
        return StalePlan(self.changed, repo_changed=self.repo_changed, advice=advice)


class LockTimeout(FederationError):
    """Another run held the registry lock longer than this run would wait."""


class RegistryLocked(FederationError):
    """The registry database stayed locked by another writer through every retry."""


class PartWayFailure(FederationError):
    """A registry write failed after writing some objects; ``cause`` says why."""

    def __init__(self, cause: BaseException, *, meaning: str):
        self.cause = cause
        self.meaning = meaning
        super().__init__(f"the apply failed part-way ({first_line(cause)}); {meaning}")

    def explained(self, explanation: str) -> FederationError:
        """The failure with the engine's own one-line explanation in front."""
        return FederationError(f"{explanation}; the apply failed part-way: {self.meaning}")


class LostWrite(FederationError):
    """The registry, read back after a write, lacks or differs from what was written."""


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's text, or its type's name."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


class UnknownEnvironment(FederationError):
    """``--env`` names no environment of the org, or the org has none, or needs one."""


class PromotionRefused(FederationError):
    """An apply to a later environment of definitions the one before has not verified."""


class VerificationFailed(RefusedError):
    """``verify`` found services or views that error or serve only nulls."""

    def __init__(self, problems: list[str], environment: str | None):
        super().__init__(problems, f"verify failed in {environment}:" if environment else
                         "verify failed:")  # fmt: skip
