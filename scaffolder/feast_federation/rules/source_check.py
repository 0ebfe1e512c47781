"""The ownership check of a repo read from its source with ``ast``: what the pre-commit hook
runs. It never imports Feast or the repo's modules and never reaches the registry: names and
kinds come from the constructor calls in the modules Feast would collect, the rules from
``ownership``, the team's adopted names and the platform's views from the platform contract
(a team repo) or ``federation.yaml`` (the platform repo). ``check`` and ``plan`` still read
the registry for everything the source cannot show.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field
from pathlib import Path

from feast_federation.errors import FederationError
from feast_federation.rules.contract import (
    contract_path,
    contract_pin_refusal,
    load_contract,
    version_fields,
    version_tags,
)
from feast_federation.rules.layout import monorepo_of
from feast_federation.rules.ownership import (
    DATA_SOURCE,
    ENTITY,
    FEATURE_SERVICE,
    FEATURE_VIEW,
    LABEL_VIEW,
    ON_DEMAND_FEATURE_VIEW,
    PERMISSION,
    PROJECT,
    REQUEST_SOURCE,
    STREAM_FEATURE_VIEW,
    Definition,
    Policy,
    Team,
    violations,
)
from feast_federation.rules.policy import load_policy
from feast_federation.rules.references import Reference, parse_reference, version_tag
from feast_federation.rules.repo import definition_modules, find_repo
from feast_federation.rules.values import shown

# Feast's constructors by class name; any other class named *Source is a platform DataSource.
_KIND_OF_CLASS = {
    "FeatureService": FEATURE_SERVICE, "OnDemandFeatureView": ON_DEMAND_FEATURE_VIEW,
    "on_demand_feature_view": ON_DEMAND_FEATURE_VIEW, "RequestSource": REQUEST_SOURCE,
    "FeatureView": FEATURE_VIEW, "BatchFeatureView": FEATURE_VIEW,
    "StreamFeatureView": STREAM_FEATURE_VIEW, "stream_feature_view": STREAM_FEATURE_VIEW,
    "LabelView": LABEL_VIEW, "Entity": ENTITY, "Permission": PERMISSION, "Project": PROJECT,
}  # fmt: skip


@dataclass(frozen=True)
class ViewRead:
    """A ``platform_view(name, [features])`` call; features None: the whole view."""

    where: str
    view: str
    features: tuple[str, ...] | None


@dataclass(frozen=True)
class StringRead:
    """A string reference in a ``FeatureService(features=[...])`` (``"view@v1:feature"``)."""

    where: str
    service: str
    text: str


@dataclass
class Scan:
    """What a repo's source shows: its definitions, its platform-view calls, its string
    references, and the output fields of each ODFV it defines with the decorator."""

    definitions: list[Definition] = field(default_factory=list)
    reads: list[ViewRead] = field(default_factory=list)
    strings: list[StringRead] = field(default_factory=list)
    odfv_outputs: dict[str, tuple[str, ...]] = field(default_factory=dict)


def source_problems(repo_path: Path | str) -> list[str]:
    """One line per ownership problem the repo's source shows; writes and imports nothing."""
    repo = find_repo(repo_path)
    scan = scan_source(repo.path)
    definitions = scan.definitions
    if repo.is_platform:
        return violations(repo.owner, definitions, load_policy(repo.path))
    if not contract_path(repo.path).is_file():
        return violations(repo.owner, definitions, Policy("", teams={repo.owner: Team(repo.owner)}))
    contract, _ = with_platform_folder(repo.path, load_contract(repo.path))
    policy = _team_policy(contract, repo.owner)
    return (
        violations(repo.owner, definitions, policy)
        + _read_problems(contract, scan.reads)
        + _string_problems(contract, scan)
    )


def _team_policy(contract: dict, team: str) -> Policy:
    adopted = tuple((contract.get("adopted") or {}).get(team) or ())
    return Policy(str(contract.get("project", "")), teams={team: Team(team, names=adopted)})


def _read_problems(contract: dict, reads: list[ViewRead]) -> list[str]:
    problems = []
    for read in reads:
        view = contract["views"].get(read.view)
        if view is None:
            problems.append(f"{read.where}: platform view {read.view} is not in the contract")
            continue
        missing = sorted(set(read.features or ()) - set(view["fields"]))
        if missing:
            problems.append(
                f"{read.where}: platform view {read.view} has no {', '.join(missing)} "
                "in the contract"
            )
    return problems


def _string_problems(contract: dict, scan: Scan) -> list[str]:
    """String references that neither the contract's views (and the pinned versions it
    records) nor the repo's own ODFVs resolve, read as Feast reads them."""
    problems = []
    for read in scan.strings:
        ref = parse_reference(read.text)
        subject = f"{read.where}: FeatureService {read.service}: reference {shown(read.text)}"
        problem = _string_problem(contract, scan, ref)
        if problem:
            problems.append(f"{subject}{problem}")
    return problems


def _string_problem(contract: dict, scan: Scan, ref: Reference) -> str:
    refusal = contract_pin_refusal(contract) if ref.version is not None else None
    if refusal:
        return f" pins a version, which this org cannot serve: {refusal}"
    if ref.view in scan.odfv_outputs:  # the repo's own ODFV (its versions are the registry's)
        fields: tuple[str, ...] | dict | None = scan.odfv_outputs[ref.view] or None
    elif ref.view in contract["views"]:
        fields = contract["views"][ref.view]["fields"]
        if ref.version is not None:
            fields = version_fields(contract, ref.view, version_tag(ref.version))
            if fields is None:
                listed = ", ".join(version_tags(contract, ref.view)) or "none"
                return (
                    f": the contract has no version {version_tag(ref.version)} of {ref.view} "
                    f"(it lists {listed})"
                )
    else:
        return f": no platform view {ref.view} in the contract and no ODFV {ref.view} in the repo"
    if ref.feature is not None and fields is not None and ref.feature not in fields:
        return f": {ref.target} has no feature {shown(ref.feature)} ({', '.join(fields) or 'none'})"
    return ""


def scan_source(repo_dir: Path) -> Scan:
    """What every module Feast would collect shows (``Scan``)."""
    scan = Scan()
    for module in definition_modules(repo_dir):
        where = module.relative_to(repo_dir).as_posix()
        try:
            tree = ast.parse(module.read_text(encoding="utf-8"), filename=where)
        except (SyntaxError, UnicodeDecodeError) as exc:
            raise FederationError(f"{where}: cannot be parsed ({exc})") from None
        for node in _module_level_nodes(tree):
            _scan_node(node, where, scan)
    return scan


def _module_level_nodes(tree: ast.AST):
    """Every node outside function bodies (decorators included): UDF bodies define nothing."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stack.extend(node.decorator_list)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _scan_node(node: ast.AST, where: str, scan: Scan) -> None:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        for decorator in node.decorator_list:
            kind = _kind(decorator.func) if isinstance(decorator, ast.Call) else None
            if kind:
                name = _constant_keyword(decorator, "name") or node.name
                scan.definitions.append(Definition(kind, name))
                if kind == ON_DEMAND_FEATURE_VIEW:
                    scan.odfv_outputs[name] = _field_names(decorator)
        return
    if not isinstance(node, ast.Call):
        return
    callee = _callee_name(node.func)
    if callee == "platform_view":
        scan.reads.append(_view_read(node, where))
        return
    kind = _kind(node.func)
    name = _constant_keyword(node, "name") or _constant_argument(node)
    if kind and kind not in (ON_DEMAND_FEATURE_VIEW, STREAM_FEATURE_VIEW) and name:
        scan.definitions.append(Definition(kind, name))
    if kind == FEATURE_SERVICE and name:
        scan.strings += [
            StringRead(f"{where}:{item.lineno}", name, item.value)
            for item in _keyword_list(node, "features")
            if isinstance(item, ast.Constant) and isinstance(item.value, str)
        ]


def _keyword_list(call: ast.Call, keyword: str) -> list[ast.AST]:
    for item in call.keywords:
        if item.arg == keyword and isinstance(item.value, (ast.List, ast.Tuple)):
            return list(item.value.elts)
    return []


def _field_names(decorator: ast.Call) -> tuple[str, ...]:
    """The ``Field(name=...)`` names of an ODFV decorator's ``schema`` (empty: unknown)."""
    names = []
    for item in _keyword_list(decorator, "schema"):
        name = _constant_keyword(item, "name") if isinstance(item, ast.Call) else None
        if name is None:
            return ()
        names.append(name)
    return tuple(names)


def _callee_name(func: ast.AST) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _kind(func: ast.AST) -> str | None:
    name = _callee_name(func)
    if name in _KIND_OF_CLASS:
        return _KIND_OF_CLASS[name]
    return DATA_SOURCE if name.endswith("Source") and name[:1].isupper() else None


def _constant_keyword(call: ast.Call, keyword: str) -> str | None:
    for item in call.keywords:
        if item.arg == keyword and isinstance(item.value, ast.Constant):
            return item.value.value if isinstance(item.value.value, str) else None
    return None


def _constant_argument(call: ast.Call) -> str | None:
    first = call.args[0] if call.args else None
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None


def _view_read(call: ast.Call, where: str) -> ViewRead:
    view = _constant_argument(call) or ""
    features_node = call.args[1] if len(call.args) > 1 else None
    features_node = features_node or next(
        (k.value for k in call.keywords if k.arg == "features"), None
    )
    features = None
    if isinstance(features_node, (ast.List, ast.Tuple)):
        features = tuple(
            e.value for e in features_node.elts if isinstance(e, ast.Constant)
            and isinstance(e.value, str)
        )  # fmt: skip
    return ViewRead(f"{where}:{call.lineno}", view, features)


# --- a monorepo: the platform folder's definitions, ahead of the registry -----------------------

_VIEW_CLASSES = ("FeatureView", "BatchFeatureView")


def with_platform_folder(repo_dir: Path, contract: dict) -> tuple[dict, list[str]]:
    """The contract a team folder of a monorepo reads platform views from: its own (the
    registry's, as last published) plus the fields the platform folder's definitions add to
    the views it lists, which the platform's sync applies before this folder's apply in the
    same push; and a note naming them. Elsewhere, ``contract`` as it is."""
    declared = platform_folder_fields(repo_dir)
    if not declared:
        return contract, []
    org = monorepo_of(repo_dir)
    merged = copy.deepcopy(contract)
    added = []
    for view, fields in declared.items():
        entry = merged["views"].get(view)
        if entry is None:
            continue
        for feature, dtype in fields.items():
            if feature not in entry["fields"]:
                entry["fields"][feature] = dtype
                added.append(f"{view}:{feature}")
    if not added:
        return contract, []
    return merged, [
        f"{', '.join(added)}: not in the registry yet; read from the platform folder's "
        f"definitions ({org.platform_dir}/), whose sync runs before this folder's apply"
    ]


def platform_folder_fields(repo_dir: Path | str) -> dict[str, dict[str, str]]:
    """In a team folder of a monorepo, the feature views the platform folder's definitions
    declare, with their fields' types (``declared_view_fields``); elsewhere none."""
    org = monorepo_of(repo_dir)
    if org is None or not org.platform.is_dir():
        return {}
    if Path(repo_dir).expanduser().absolute() == org.platform:
        return {}
    return declared_view_fields(org.platform)


def platform_folder_notes(repo_path: Path | str) -> list[str]:
    """What a team folder's offline check takes from the platform folder, as notes."""
    repo = find_repo(repo_path)
    if repo.is_platform or not contract_path(repo.path).is_file():
        return []
    return with_platform_folder(repo.path, load_contract(repo.path))[1]


def declared_view_fields(platform_dir: Path) -> dict[str, dict[str, str]]:
    """The feature views the platform's source defines (``FeatureView(name="...",
    schema=[Field(name="...", dtype=T)])``), each with its fields and their types as the
    contract writes them; what the source cannot show as constants is left out."""
    found: dict[str, dict[str, str]] = {}
    for module in definition_modules(platform_dir):
        try:
            tree = ast.parse(module.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue  # the platform's own check names it
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _callee_name(node.func) not in _VIEW_CLASSES:
                continue
            name = _constant_keyword(node, "name")
            if name:
                found[name] = dict(_typed_fields(node))
    return found


def _typed_fields(call: ast.Call):
    for item in _keyword_list(call, "schema"):
        if not isinstance(item, ast.Call) or _callee_name(item.func) != "Field":
            continue
        name = _constant_keyword(item, "name")
        dtype = next((k.value for k in item.keywords if k.arg == "dtype"), None)
        if name and dtype is not None:
            yield name, ast.unparse(dtype).removeprefix("feast.types.").removeprefix("types.")
