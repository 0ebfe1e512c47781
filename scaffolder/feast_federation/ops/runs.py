"""A repo's plan and apply as the commands run them: plan, confirm deletions, apply exactly
what was shown, or carry out a saved plan. Returns results; prints nothing (the CLI does).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from feast_federation.ci.reviewed import stale_plan_advice
from feast_federation.errors import FederationError, StalePlan
from feast_federation.registry.location import DEFAULT_LOCK_TIMEOUT
from feast_federation.rules.repo import Repo, find_repo
from feast_federation.transaction.plans import Plan
from feast_federation.transaction.saved import SavedPlan

# Asked before deleting at a terminal: the deletions, as the plan lists them -> go ahead?
Confirm = Callable[[list[dict]], bool]


@dataclass(frozen=True)
class RunOptions:
    prune: bool = False
    allow_breaking: bool = False
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    skip_promotion_check: bool = False  # apply only: into a later environment unverified


def load_repo(repo_path: Path, options: RunOptions) -> Repo:
    """The repo, with the options checked against its kind."""
    repo = find_repo(repo_path)
    if options.prune and repo.is_platform:
        raise FederationError("--prune is for team repos; the platform sync always deletes")
    if options.allow_breaking and not repo.is_platform:
        raise FederationError("--allow-breaking-teams is for the platform repo")
    return repo


def plan_repo(repo: Repo, options: RunOptions, out_file: Path | None = None) -> Plan:
    """The repo's plan; saved to ``out_file`` for ``apply FILE`` when given."""
    from feast_federation import sync

    result = sync.plan(
        repo, prune=options.prune, allow_breaking=options.allow_breaking,
        lock_timeout=options.lock_timeout,
    )  # fmt: skip
    if out_file is not None:
        saved_plan(repo, result, options).write(out_file)
    return result


def apply_repo(
    repo: Repo, options: RunOptions, *, yes: bool, confirm: Confirm | None,
    saved: SavedPlan | None = None,
) -> Plan:  # fmt: skip
    """Apply the repo (or exactly ``saved``). Without ``yes``, a plan that deletes is
    carried out only when ``confirm`` (given at a terminal) agrees to what it was shown."""
    from feast_federation import sync

    run = {"prune": options.prune, "allow_breaking": options.allow_breaking,
           "lock_timeout": options.lock_timeout}  # fmt: skip
    if not yes and confirm is not None:
        # Plan, ask without holding the registry lock, then apply exactly what was shown.
        if saved is None:
            saved = saved_plan(repo, sync.plan(repo, **run), options)
        if saved.deletions() and not confirm(saved.deletions()):
            raise FederationError("the deletions were not confirmed; nothing was written")
        yes = True
    return sync.apply(
        repo, **run, expected=saved, allow_delete=yes,
        skip_promotion_check=options.skip_promotion_check,
    )  # fmt: skip


def apply_saved_plan(
    plan_file: Path, repo_path: Path | None, options: RunOptions, *, yes: bool,
    confirm: Confirm | None,
) -> Plan:  # fmt: skip
    """Carry out a saved plan, in ``repo_path`` (apply.py's repo) or the repo it records;
    refused in one line, with what helps where it came from, when it is stale."""
    saved = SavedPlan.read(plan_file)
    # Before loading Feast or asking about deletions; the sync checks again for its callers.
    saved.check_options(prune=options.prune, allow_breaking=options.allow_breaking)
    if repo_path is None and not Path(saved.repo).is_dir():
        raise FederationError(
            f"{plan_file}: its repo {saved.repo} is not here; run `python apply.py "
            f"{plan_file}` in the repo's checkout"
        )
    repo = load_repo(repo_path or Path(saved.repo), options)
    try:
        return apply_repo(repo, options, yes=yes, confirm=confirm, saved=saved)
    except StalePlan as stale:
        advice = stale_plan_advice(os.environ, repo_changed=stale.repo_changed)
        if advice is None:
            raise
        raise stale.advising(advice) from None


def saved_plan(repo: Repo, result: Plan, options: RunOptions) -> SavedPlan:
    return SavedPlan.of(
        repo.path, result, prune=options.prune, allow_breaking=options.allow_breaking
    )
