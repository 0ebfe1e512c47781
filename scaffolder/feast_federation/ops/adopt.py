"""Adopting an existing feature repo: its definitions moved into a platform repo and one repo
per team, under their existing names, with nothing in the registry rewritten.

Each module of the existing repo is split by its top-level statements: a statement that
binds a Feast object goes to the object's owner, every other statement (imports, helpers,
constants) to each repo that gets the module. A team statement that reads a platform
FeatureView reads it from the shared registry instead (``platform_view``), which serves the
same definition. The split is checked whole before anything is written.
"""

from __future__ import annotations

import ast
import fnmatch
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from feast_federation.errors import FederationError, RefusedError
from feast_federation.registry.kinds import as_stored, implicit_writes, is_feast_object, kind_of
from feast_federation.registry.location import DEFAULT_LOCK_TIMEOUT
from feast_federation.rules.kinds import PLATFORM_KINDS, TEAM_KINDS
from feast_federation.rules.ownership import (
    FEATURE_VIEW,
    PERMISSION,
    PLATFORM,
    PROJECT,
    Definition,
    Policy,
    Team,
    validate_policy,
    validate_team_name,
    violations,
)
from feast_federation.rules.repo import STORE_FILE, definition_modules
from feast_federation.sync.collect import import_definitions, module_name
from feast_federation.sync.references import is_reference

# Starter modules and tests the templates ship, replaced by the adopted definitions.
PLATFORM_STARTERS = (
    "data_sources.py", "entities.py", "feature_views.py",
    "tests/test_definitions.py", "scripts/generate_sample_data.py",
)  # fmt: skip
TEAM_STARTERS = ("feature_services.py", "on_demand_views.py", "tests/test_on_demand_views.py")
REFERENCE_IMPORT = "from feast_federation import platform_view"


@dataclass(frozen=True)
class Adopted:
    """One object of the existing repo and where it goes."""

    kind: str
    name: str
    owner: str
    module: str  # path relative to the repo

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass
class Split:
    project: str
    objects: list[Adopted] = field(default_factory=list)
    # destination ("platform" or a team) -> module path -> source text
    modules: dict[str, dict[str, str]] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    # names Feast writes along with the objects (inline sources)
    written_along: set[str] = field(default_factory=set)

    def lines(self) -> list[str]:
        return [
            f"{_where(item.owner)}: {item} ({item.module})"
            for item in sorted(self.objects, key=lambda i: (i.owner != PLATFORM, i.owner, i.kind))
        ]


def _where(owner: str) -> str:
    return "platform" if owner == PLATFORM else f"team {owner}"


def parse_team_options(options: Sequence[str]) -> dict[str, list[str]]:
    """``NAME=GLOB[,GLOB...]`` (or a bare ``NAME``: owned through tags) per option."""
    teams: dict[str, list[str]] = {}
    for option in options:
        name, _, globs = option.partition("=")
        validate_team_name(name.strip(), [t for t in teams if t != name.strip()])
        teams.setdefault(name.strip(), []).extend(g.strip() for g in globs.split(",") if g.strip())
    return teams


def split_repo(source: Path, team_globs: Mapping[str, list[str]]) -> Split:
    """The existing repo's definitions, each with its owner and module; refused whole, one
    line per object, if any object has no owner or breaks the rules."""
    source = Path(source).resolve()
    project = _project(source)
    loaded = _load_modules(source)
    problems: list[str] = []
    split = Split(project=project)
    for where, module in loaded.items():
        for value in _definitions(module).values():
            owner, problem = _owner_of(value, team_globs, project)
            if problem:
                problems.append(f"{kind_of(value)} {value.name} ({where}): {problem}")
                continue
            split.objects.append(Adopted(kind_of(value), value.name, owner, where))
            split.written_along.update(obj.name for obj in implicit_writes(value))
    split.objects = list({(o.kind, o.name): o for o in split.objects}.values())
    split.teams = _teams(split, team_globs)
    problems += _rule_problems(split)
    if not problems:
        split.modules, module_problems = _split_sources(source, loaded, split)
        problems += module_problems
    if problems:
        raise RefusedError(
            problems, "refused: adopt would not move every object; nothing was written:"
        )
    return split


def _project(source: Path) -> str:
    store_file = source / STORE_FILE
    if not store_file.is_file():
        raise FederationError(f"{source}: no {STORE_FILE}; not a feature repo")
    config = yaml.safe_load(store_file.read_text(encoding="utf-8")) or {}
    project = config.get("project")
    if not isinstance(project, str):
        raise FederationError(f"{store_file}: no project name")
    return project


def _load_modules(source: Path) -> dict[str, object]:
    return {
        str(path.relative_to(source)): import_definitions(
            source, module_name(source, path), str(path)
        )
        for path in definition_modules(source)
    }


def _definitions(module) -> dict[str, object]:
    """The module-level variables of ``module`` that hold Feast objects it defines itself."""
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    bound = {
        name for statement in tree.body if not _is_import(statement) for name in _binds(statement)
    }
    return {
        name: value
        for name, value in vars(module).items()
        if name in bound and is_feast_object(value) and not is_reference(value)
    }


def _owner_of(obj, team_globs: Mapping[str, list[str]], project: str) -> tuple[str, str]:
    kind = kind_of(obj)
    if kind == PERMISSION:
        return "", (
            "permissions are generated from federation.yaml; remove it from the repo (the "
            "registry keeps it until deleted) or express it as a team's role"
        )
    if kind in PLATFORM_KINDS:
        return PLATFORM, ""
    if kind not in TEAM_KINDS:
        return "", f"no owner is defined for {kind}s"
    matches = sorted(
        t for t, globs in team_globs.items() if any(fnmatch.fnmatchcase(obj.name, g) for g in globs)
    )
    if not matches:
        labels = {getattr(obj, "owner", ""), *(obj.tags.get(k, "") for k in ("team", "owner"))}
        matches = sorted(t for t in team_globs if t in labels)
    if len(matches) > 1:
        return "", f"matches more than one team ({', '.join(matches)})"
    if not matches:
        return (
            "",
            "matches no --team glob and no team names it in owner or tags; give --team NAME=GLOB",
        )
    return matches[0], ""


def _teams(split: Split, team_globs: Mapping[str, list[str]]) -> dict[str, Team]:
    return {
        team: Team(
            name=team,
            owners=(f"{team}-leads@example.com",),
            names=tuple(
                sorted(
                    o.name
                    for o in split.objects
                    if o.owner == team and not o.name.startswith(f"{team}_")
                )
            ),
        )
        for team in team_globs
    }


def _rule_problems(split: Split) -> list[str]:
    """The ownership rules, applied to the split as the plans will apply them."""
    policy = Policy(project=split.project, teams=split.teams)
    try:
        validate_policy(policy)
    except Exception as exc:  # OwnershipError
        return [str(exc)]
    problems = []
    for owner in {PLATFORM, *split.teams}:
        mine = [Definition(o.kind, o.name) for o in split.objects if o.owner == owner]
        problems += violations(owner, mine, policy)
    return problems


# --- splitting the modules ---------------------------------------------------------------


def _split_sources(source: Path, loaded: Mapping[str, object], split: Split):
    owners = {(o.module, o.name): o.owner for o in split.objects}
    problems: list[str] = []
    modules: dict[str, dict[str, str]] = {dest: {} for dest in (PLATFORM, *split.teams)}
    all_definitions = {where: _definitions(module) for where, module in loaded.items()}
    # module variable -> (object, owner), across modules (imports bind the same objects)
    by_object = {
        id(value): (value, owners[(where, value.name)])
        for where, defs in all_definitions.items()
        for value in defs.values()
        if (where, value.name) in owners
    }
    for where, module in loaded.items():
        text = Path(module.__file__).read_text(encoding="utf-8")
        variables = {
            name: by_object[id(value)]
            for name, value in vars(module).items()
            if id(value) in by_object
        }
        for dest in modules:
            written, dest_problems = _module_for(where, text, variables, dest)
            problems += dest_problems
            if written is not None:
                modules[dest][where] = written
    return modules, problems


def _module_for(
    where: str, text: str, variables: Mapping, dest: str
) -> tuple[str | None, list[str]]:
    """The part of one module that goes to ``dest``, or None when none of it does."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    references: list[str] = []
    problems: list[str] = []
    first_definition = None
    owns_any = False
    for statement in tree.body:
        chunk = "".join(lines[_start(statement) - 1 : statement.end_lineno])
        owners = {variables[n][1] for n in _binds(statement) if n in variables}
        if _is_import(statement):
            kept.append(_filtered_import(statement, chunk, variables, dest))
            continue
        if not owners:
            used = {variables[n][1] for n in _uses(statement) if n in variables}
            if len(used) > 1:
                problems.append(
                    f"{where} line {statement.lineno}: uses objects of "
                    f"{', '.join(sorted(map(_where, used)))}; split it by hand"
                )
            if used and dest not in used:
                continue
            kept.append(chunk)
            continue
        if owners != {dest}:
            if len(owners) > 1:
                problems.append(
                    f"{where} line {statement.lineno}: defines objects of "
                    f"{', '.join(sorted(map(_where, owners)))} in one statement"
                )
            continue
        owns_any = True
        if first_definition is None:
            first_definition = len(kept)
        for name in sorted(_uses(statement)):
            if name not in variables or variables[name][1] == dest or name in _binds(statement):
                continue
            obj, owner = variables[name]
            if dest == PLATFORM or kind_of(obj) != FEATURE_VIEW:
                problems.append(
                    f"{where} line {statement.lineno}: {_where(dest)}'s definition reads "
                    f"{kind_of(obj)} {obj.name}, which goes to {_where(owner)}; only platform "
                    "FeatureViews can be read from another repo"
                )
                continue
            line = f'{name} = platform_view("{obj.name}")\n'
            if line not in references:
                references.append(line)
        kept.append(chunk)
    if not owns_any:
        return None, problems
    if references:
        kept.insert(first_definition, "".join([REFERENCE_IMPORT + "\n", *references, "\n\n"]))
    return "".join(_separated(kept)), problems


def _separated(chunks: list[str]) -> list[str]:
    return [
        chunk if chunk.endswith("\n\n") else chunk.rstrip("\n") + "\n\n"
        for chunk in chunks
        if chunk
    ]


def _filtered_import(statement, chunk: str, variables: Mapping, dest: str) -> str:
    """An import without the names of objects that go elsewhere."""
    names = [
        alias
        for alias in statement.names
        if (alias.asname or alias.name) not in variables
        or variables[alias.asname or alias.name][1] == dest
    ]
    if len(names) == len(statement.names):
        return chunk
    if not names:
        return ""
    statement.names = names
    return ast.unparse(statement) + "\n"


def _start(statement) -> int:
    decorators = getattr(statement, "decorator_list", [])
    return min([statement.lineno, *(d.lineno for d in decorators)])


def _is_import(statement) -> bool:
    return isinstance(statement, (ast.Import, ast.ImportFrom))


def _binds(statement) -> set[str]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    targets = []
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
        targets = [statement.target]
    return {
        node.id for target in targets for node in ast.walk(target) if isinstance(node, ast.Name)
    }


def _uses(statement) -> set[str]:
    return {
        node.id
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


# --- writing the repos -------------------------------------------------------------------


def write_org(source: Path, org: Path, split: Split) -> tuple[Path, list[Path]]:
    """Bake the platform and team repos and put the adopted modules in them."""
    from feast_federation.onboarding.bake import bake_platform, bake_team
    from feast_federation.rules.choices import Backends
    from feast_federation.rules.policy import grandfather_names

    source = Path(source).resolve()
    store_yaml = (source / STORE_FILE).read_text(encoding="utf-8")
    platform = bake_platform(
        org, project=split.project, owners=["platform-team@example.com"],
        backends=Backends.of_store_yaml(store_yaml),
    )  # fmt: skip
    _replace_definitions(platform, PLATFORM_STARTERS, split.modules[PLATFORM], source)
    (platform / STORE_FILE).write_text(store_yaml, encoding="utf-8")
    team_dirs = []
    for name, team in split.teams.items():
        repo = bake_team(
            platform, team=name, owners=list(team.owners), output_dir=Path(org) / "teams"
        )
        _replace_definitions(repo, TEAM_STARTERS, split.modules[name], source)
        if team.names:
            grandfather_names(platform, name, team.names)
        team_dirs.append(repo)
    return platform, team_dirs


def _replace_definitions(
    repo: Path, starters: Sequence[str], modules: Mapping[str, str], source: Path
) -> None:
    for starter in starters:
        (repo / starter).unlink(missing_ok=True)
    for where, text in modules.items():
        target = repo / where
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        for package in Path(where).parents:
            init = source / package / "__init__.py"
            if (
                str(package) != "."
                and init.is_file()
                and not (repo / package / "__init__.py").exists()
            ):
                shutil.copyfile(init, repo / package / "__init__.py")
    _link_data(repo, source)


def _link_data(repo: Path, source: Path) -> None:
    """Relative paths in the definitions (FileSource paths, logging destinations) and in
    feature_store.yaml resolve against the repo that reads them: each new repo links the
    existing repo's data folders (the folders holding no Python) under the same names."""
    for entry in sorted(source.iterdir()):
        if (
            entry.is_dir()
            and not entry.name.startswith((".", "__"))
            and not any(entry.rglob("*.py"))
        ):
            link = repo / entry.name
            if link.is_dir() and not link.is_symlink():  # the template's own, just baked
                shutil.rmtree(link)
            if not link.exists():
                link.symlink_to(entry, target_is_directory=True)


# --- the live registry -------------------------------------------------------------------


def live_store(source: Path):
    """The existing repo's store when its registry holds the project, else None."""
    from feast_federation.registry import open_store, registry_proto

    try:
        store = open_store(Path(source))
        proto = registry_proto(store)
    except Exception:  # no registry reachable yet: the repo was never applied
        return None
    return store if any(p.spec.name == store.project for p in proto.projects) else None


def registry_only(store, split: Split) -> list[str]:
    """Objects the live registry holds that no module of the repo defines: the platform sync
    would delete them, so adoption refuses until they are in the repo or deleted."""
    from feast_federation import registry
    from feast_federation.registry.protos import project_of, spec_of
    from feast_federation.rules.ownership import INTERNAL_NAMES

    proto = registry.registry_proto(store)
    defined = {o.name for o in split.objects} | split.written_along
    held = [
        (collection, spec_of(item).name)
        for collection in ("entities", "data_sources", "feature_views", "stream_feature_views",
                           "label_views", "on_demand_feature_views", "feature_services")
        for item in getattr(proto, collection)
        if project_of(item) == store.project
    ]  # fmt: skip
    return [
        f"{name} ({collection} in the registry): no module of the repo defines it; add it to "
        "the repo or delete it from the registry before adopting"
        for collection, name in sorted(held)
        if name not in defined and name not in INTERNAL_NAMES
    ]


def arrive(platform: Path, split: Split, lock_timeout: float) -> None:
    """Publish the policy into the adopted registry (new Permission objects only; nothing
    there is rewritten) and log each owner's adopted objects, so audits and plans see them
    as applied by their owners."""
    from feast_federation import registry, transaction
    from feast_federation.registry.permissions import policy_permissions
    from feast_federation.rules.policy import load_policy

    store = registry.open_store(platform)
    permissions = policy_permissions(load_policy(platform))
    planner = lambda s: _arrival(s, split, permissions)  # noqa: E731 - under the lock
    writer = transaction.Writer(PLATFORM, platform)
    transaction.write(store, writer, planner, transaction.Safeguards(lock_timeout=lock_timeout))


def _arrival(store, split: Split, permissions: list):
    """The adoption as a plan: the Permissions written, and one log entry per owner that
    records the owner's adopted objects as its own adds."""
    from feast_federation import registry
    from feast_federation.registry.permissions import managed_permission_protos
    from feast_federation.rules.kinds import BY_NAME
    from feast_federation.transaction.plans import ADD, Change, LogEntry, Plan

    # Before-images too: the adopted objects were there already, so undoing the adoption
    # removes only the Permissions it added (and puts back any it replaced).
    collection = BY_NAME[PERMISSION].collection
    held = {(collection, name): item for name, item in managed_permission_protos(store).items()}
    entries = []
    for owner in (PLATFORM, *split.teams):
        found = [
            registry.get(store, o.kind, o.name)
            for o in split.objects
            if o.owner == owner and o.kind != PROJECT  # the Project is not logged
        ]
        found = [obj for obj in found if obj is not None]
        # What Feast wrote along with them (a view's batch source) is theirs too, as the
        # registry holds it, so the log covers every object a restore compares.
        along = {(kind_of(w), w.name) for obj in found for w in implicit_writes(obj)}
        along -= {(kind_of(obj), obj.name) for obj in found}
        found += [obj for obj in (registry.get(store, *key) for key in sorted(along)) if obj]
        held |= as_stored(found, store.project)
        if owner == PLATFORM:
            found += permissions
        changes = [Change(kind_of(obj), obj.name, ADD) for obj in found]
        entries.append(LogEntry(owner, changes, as_stored(found, store.project)))
    changes = [Change(kind_of(p), p.name, ADD) for p in permissions]
    return Plan(
        owner=PLATFORM, changes=changes, to_apply=list(permissions), held=held,
        action="adopt", log_entries=entries,
    )  # fmt: skip


def adopt_repo(
    source: Path, org: Path, team_options: Sequence[str], *, dry_run: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> tuple[Split, Path | None]:  # fmt: skip
    """Split ``source`` into ``org/platform`` and ``org/teams/<team>``; checked whole first,
    and nothing left in ``org`` when the registry refuses the adoption."""
    from feast_federation.onboarding.bake import check_outside_feature_repos

    source, org = Path(source).resolve(), Path(org).absolute()
    split = split_repo(source, parse_team_options(team_options))
    store = live_store(source)
    if store is not None:
        refuse_registry_only(registry_only(store, split))
    if dry_run:
        return split, None
    if org.exists() and (not org.is_dir() or any(org.iterdir())):
        raise FederationError(f"{org}: exists and is not an empty directory")
    check_outside_feature_repos(org)
    created = not org.exists()
    try:
        platform, team_dirs = write_org(source, org, split)
        if store is not None:
            arrive(platform, split, lock_timeout)
    except BaseException:
        _remove_contents(org, created)
        raise
    _write_contracts(platform, team_dirs, live=store is not None)
    return split, platform


def _remove_contents(org: Path, created: bool) -> None:
    """Leave ``org`` as the adoption found it: absent, or empty."""
    if created:
        shutil.rmtree(org, ignore_errors=True)
        return
    for child in org.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()


def _write_contracts(platform: Path, team_dirs: list[Path], *, live: bool) -> None:
    """The baked repos carry the template's contract (its starter views): replace it with
    the adopted registry's, or, with no registry yet, drop it until the first platform
    sync publishes one (`feast-federation contract refresh` then brings teams theirs)."""
    from feast_federation.registry import open_store
    from feast_federation.rules.contract import contract_path
    from feast_federation.rules.policy import load_policy
    from feast_federation.rules.repo import find_repo
    from feast_federation.sync.contract import publish_platform_contract, refresh_team_contract

    if not live:
        for repo in (platform, *team_dirs):
            contract_path(repo).unlink(missing_ok=True)
        return
    publish_platform_contract(open_store(platform), platform, load_policy(platform))
    for repo in team_dirs:
        refresh_team_contract(find_repo(repo))


def refuse_registry_only(problems: list[str]) -> None:
    if problems:
        raise RefusedError(
            problems, "refused: the registry holds objects the repo lacks; nothing was written:"
        )
