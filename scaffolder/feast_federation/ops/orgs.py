"""A whole org at once: the platform sync, materialization and every team's apply in the
order they depend on each other (``bootstrap --apply``, the demo), and online reads
through a team's services."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from feast_federation.rules.ownership import FEATURE_SERVICE, TEAM_KINDS
from feast_federation.transaction.plans import Plan

# Called before each step with its title and what it does, so a caller can narrate.
Step = Callable[[str, str], None]


def apply_org(
    platform_dir: Path,
    team_dirs: Sequence[Path],
    step: Step,
    done: Callable[[object], None],
    first: int = 1,
) -> None:
    """Sync the platform, materialize its views, apply each team; ``done`` gets each
    result (a Plan, or the number of views materialized). Steps are numbered from ``first``
    (the demo's bootstrap is its step 1)."""
    from feast_federation import sync
    from feast_federation.ops.materialize import materialize_repo
    from feast_federation.rules.repo import find_repo

    step(f"{first}. Platform sync", "entities, sources, views, and the policy as Permissions")
    done(sync.apply(find_repo(platform_dir)))
    step(f"{first + 1}. Materialize", "load the sample data into the online store")
    done(materialize_repo(platform_dir, quiet=True))
    step(f"{first + 2}. Team applies", "validated partial applies: own objects only")
    for team_dir in team_dirs:
        done(sync.apply(find_repo(team_dir)))


def promote_org(
    platform_dir: Path, team_dirs: Sequence[Path], environments: Sequence[str], step: Step,
    done: Callable[[object], None],
) -> None:  # fmt: skip
    """Each environment in order: sync the platform, materialize, apply each team, and, but
    in the last, verify each repo there: the next environment's gate admits what it verified."""
    from feast_federation import sync
    from feast_federation.ops.materialize import materialize_repo
    from feast_federation.ops.verify import verify
    from feast_federation.rules.environments import choose
    from feast_federation.rules.repo import find_repo

    for number, env in enumerate(environments, start=2):
        choose(env)
        step(f"{number}. {env}", "platform sync, materialize, team applies, verify")
        repos = [find_repo(platform_dir), *(find_repo(team) for team in team_dirs)]
        done(sync.apply(repos[0]))
        done(materialize_repo(platform_dir, quiet=True))
        for team in repos[1:]:
            done(sync.apply(team))
        if env != environments[-1]:
            for repo in repos:
                done(verify(repo))


def online_features(team_dir: Path, entity_rows: Callable[[object], list[dict] | None]):
    """Each of the team's FeatureServices (as the registry holds it) with the online
    features it serves for the rows ``entity_rows(service)`` gives (None: skip it)."""
    from feast_federation.registry import open_store
    from feast_federation.registry.kinds import kind_of
    from feast_federation.rules.repo import find_repo
    from feast_federation.sync.collect import collect

    repo = find_repo(team_dir)
    store = open_store(repo.path)
    for defined in (obj for obj in collect(repo) if kind_of(obj) == FEATURE_SERVICE):
        service = store.get_feature_service(defined.name)
        rows = entity_rows(service)
        if rows is not None:
            yield (
                repo.owner,
                service,
                store.get_online_features(features=service, entity_rows=rows).to_dict(),
            )


def kept_objects(platform_dir: Path, team_dir: Path) -> tuple[str, int, int]:
    """How many of a team repo's objects the registry holds: (team, kept, defined)."""
    from feast_federation.registry import get, open_store
    from feast_federation.rules.repo import find_repo
    from feast_federation.sync.collect import collect

    store = open_store(find_repo(platform_dir).path)
    team = find_repo(team_dir)
    names = [obj.name for obj in collect(team)]
    kept = [n for n in names if any(get(store, kind, n) is not None for kind in TEAM_KINDS)]
    return team.owner, len(kept), len(names)


def apply_repo_at(repo_dir: Path) -> Plan:
    from feast_federation import sync
    from feast_federation.rules.repo import find_repo

    return sync.apply(find_repo(repo_dir))
